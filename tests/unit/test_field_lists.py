"""Each crowd field list is written once and checked here: signatures, inputs, records, tables."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from taskdb.crowd import inputs
from taskdb.crowd.models import CrowdBase
from taskdb.crowd.records import RECORDS
from taskdb.crowd.repositories import (
    AgentRepository,
    AssignmentRepository,
    GrantedQualificationRepository,
    OnboardingAgentRepository,
    ProjectRepository,
    QualificationRepository,
    RequesterRepository,
    TaskRepository,
    TaskRunRepository,
    UnitRepository,
    WorkerRepository,
)
from taskdb.crowd.store import CrowdRepositories

TABLES = CrowdBase.metadata.tables

# (method, the input model it validates, the parameters that name the row instead)
VALIDATED: list[tuple[Callable[..., Any], type[BaseModel], set[str]]] = [
    (ProjectRepository.new, inputs.NewProject, set()),
    (TaskRepository.new, inputs.NewTask, set()),
    (TaskRepository.update, inputs.TaskChange, {"task_id"}),
    (RequesterRepository.new, inputs.NewRequester, set()),
    (WorkerRepository.new, inputs.NewWorker, set()),
    (TaskRunRepository.new, inputs.NewTaskRun, set()),
    (TaskRunRepository.update, inputs.TaskRunCompletion, set()),
    (AssignmentRepository.new, inputs.NewAssignment, set()),
    (UnitRepository.new, inputs.NewUnit, set()),
    (UnitRepository.update, inputs.UnitChange, {"unit_id"}),
    (AgentRepository.new, inputs.NewAgent, set()),
    (AgentRepository.update_status, inputs.AgentStatusChange, {"agent_id"}),
    (OnboardingAgentRepository.new, inputs.NewOnboardingAgent, set()),
    (
        OnboardingAgentRepository.update_status,
        inputs.AgentStatusChange,
        {"onboarding_agent_id"},
    ),
    (QualificationRepository.make, inputs.NewQualification, set()),
    (GrantedQualificationRepository.grant, inputs.Grant, set()),
    (GrantedQualificationRepository.get, inputs.GrantKey, set()),
    (GrantedQualificationRepository.revoke, inputs.GrantKey, set()),
]


def _parameters(method: Callable[..., Any]) -> list[str]:
    return [name for name in inspect.signature(method).parameters if name != "self"]


def _table_of(method: Callable[..., Any]) -> str:
    owner = method.__qualname__.split(".")[0]
    repository = next(cls for cls in _repositories() if cls.__name__ == owner)
    return str(repository.table.name)


def _repositories() -> list[Any]:
    return [
        ProjectRepository,
        TaskRepository,
        RequesterRepository,
        WorkerRepository,
        TaskRunRepository,
        AssignmentRepository,
        UnitRepository,
        AgentRepository,
        OnboardingAgentRepository,
        QualificationRepository,
        GrantedQualificationRepository,
    ]


@pytest.mark.parametrize(
    ("method", "model", "row"), VALIDATED, ids=[m.__qualname__ for m, _, _ in VALIDATED]
)
def test_parameters_are_the_input_fields_in_order(
    method: Callable[..., Any], model: type[BaseModel], row: set[str]
) -> None:
    parameters = [name for name in _parameters(method) if name not in row]
    assert parameters == list(model.model_fields)


@pytest.mark.parametrize(
    ("method", "model", "row"), VALIDATED, ids=[m.__qualname__ for m, _, _ in VALIDATED]
)
def test_input_fields_and_row_parameters_are_columns(
    method: Callable[..., Any], model: type[BaseModel], row: set[str]
) -> None:
    columns = set(TABLES[_table_of(method)].columns.keys())
    assert set(model.model_fields) | row <= columns


def test_every_input_model_is_taken_by_a_method() -> None:
    declared = {
        value
        for value in vars(inputs).values()
        if isinstance(value, type) and issubclass(value, inputs.Input) and value is not inputs.Input
    }
    assert declared == {model for _, model, _ in VALIDATED}


@pytest.mark.parametrize("repository", _repositories(), ids=lambda cls: cls.__name__)
def test_finder_filters_are_columns(repository: Any) -> None:
    finder = repository.check if repository is GrantedQualificationRepository else repository.find
    assert getattr(repository, repository.finder) == finder
    filters = set(_parameters(finder)) - {"limit", "after"}  # the page, not filters
    assert filters
    assert filters <= set(repository.table.columns.keys())


def test_record_fields_are_the_columns_in_order() -> None:
    assert set(RECORDS) == set(TABLES)
    for name, record in RECORDS.items():
        assert list(record.model_fields) == list(TABLES[name].columns.keys()), name
        assert next(cls for cls in _repositories() if cls.table.name == name).record is record


def test_every_table_has_a_repository_of_its_name() -> None:
    attributes = set(inspect.signature(CrowdRepositories.__init__).parameters) - {"self"}
    assert attributes == {"runner", "providers"}
    assert {cls.table.name for cls in _repositories()} == set(TABLES)
