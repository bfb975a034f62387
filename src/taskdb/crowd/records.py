"""Records the crowd store returns and the input models it validates, once, at the boundary.

Records are frozen pydantic models whose field names are the table's column
names (checked at import against the mapped tables). Inputs are validated with
the same handful of field types, each refusing bad values with a message that
names what is allowed.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Strict,
    ValidationInfo,
)
from sqlalchemy import Table

from taskdb.crowd import models
from taskdb.crowd.vocab import AGENT_STATUSES, NO_PROJECT, UNIT_STATUSES, ProviderRegistry

# Every key is a plain INTEGER on PostgreSQL and MariaDB: a larger id cannot exist anywhere.
MAX_ID = 2**31 - 1
MIN_INT = -(2**31)
_DIGITS = re.compile(r"[0-9]+")
PROVIDERS_CONTEXT = "providers"


def _as_id(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        raise ValueError(
            f"an id is a whole number or a string of digits such as '42', got {value!r}"
        )
    if not 0 <= number <= MAX_ID:
        raise ValueError(f"an id lies between 0 and {MAX_ID}, got {number}")
    return number


def _as_int(value: object) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    if not MIN_INT <= value <= MAX_ID:
        raise ValueError(f"a whole number here lies between {MIN_INT} and {MAX_ID}, got {value}")
    return value


def _as_amount(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"an amount is a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"an amount is a finite number, got {value!r}")
    return float(value)


def _as_flag(value: object) -> bool:
    # SQLite stores what it is given; callers pass 0/1 as often as True/False.
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"expected True, False, 0 or 1, got {value!r}")


def _checked_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters (PostgreSQL refuses them)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"text must be valid Unicode ({error.reason})") from None
    return value


def _as_task_type(value: object) -> object:
    # The seed's callers pass ints here and SQLite stores them as text.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _non_empty(value: str) -> str:
    if value == "":
        raise ValueError("a name may not be empty")
    return value


def _project_name(value: str) -> str:
    if value == NO_PROJECT:
        raise ValueError(f"{NO_PROJECT!r} is reserved for tasks without a project")
    return value


def _status_in(allowed: tuple[str, ...], kind: str) -> Any:
    def check(value: object) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise ValueError(f"{value!r} is not a {kind} status; allowed: {', '.join(allowed)}")
        return str(value)

    return check


def _registered_provider(value: str, info: ValidationInfo) -> str:
    registry = (info.context or {}).get(PROVIDERS_CONTEXT)
    # Built by hand, an input checks its shape only; the store checks it against its registry.
    if isinstance(registry, ProviderRegistry) and value not in registry:
        raise ValueError(
            f"unknown provider type {value!r}; registered: {', '.join(registry.names())} "
            "(add one with ProviderRegistry.register)"
        )
    return value


Id = Annotated[int, BeforeValidator(_as_id)]
Int = Annotated[int, BeforeValidator(_as_int)]
Amount = Annotated[float, BeforeValidator(_as_amount)]
Flag = Annotated[bool, BeforeValidator(_as_flag)]
Text = Annotated[str, Strict(), AfterValidator(_checked_text)]
Name = Annotated[Text, AfterValidator(_non_empty)]
ProjectName = Annotated[Name, AfterValidator(_project_name)]
TaskType = Annotated[Text, BeforeValidator(_as_task_type)]
ProviderType = Annotated[Text, AfterValidator(_registered_provider)]
UnitStatusValue = Annotated[str, BeforeValidator(_status_in(UNIT_STATUSES, "unit"))]
AgentStatusValue = Annotated[str, BeforeValidator(_status_in(AGENT_STATUSES, "agent"))]


def creation_text(value: object) -> object:
    """``creation_date`` as the seed stores it: SQLite's UTC ``YYYY-MM-DD HH:MM:SS`` text."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


CreationDate = Annotated[str | None, BeforeValidator(creation_text)]


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProjectRecord(Record):
    project_id: int
    project_name: str
    creation_date: CreationDate


class TaskRecord(Record):
    task_id: int
    task_name: str
    task_type: str
    project_id: int | None
    parent_task_id: int | None
    creation_date: CreationDate


class RequesterRecord(Record):
    requester_id: int
    requester_name: str
    provider_type: str
    creation_date: CreationDate


class TaskRunRecord(Record):
    task_run_id: int
    task_id: int
    requester_id: int
    init_params: str
    is_completed: bool
    provider_type: str
    task_type: str
    sandbox: bool
    creation_date: CreationDate


class AssignmentRecord(Record):
    assignment_id: int
    task_id: int
    task_run_id: int
    requester_id: int
    task_type: str
    provider_type: str
    sandbox: bool
    creation_date: CreationDate


class UnitRecord(Record):
    unit_id: int
    assignment_id: int
    unit_index: int
    pay_amount: float
    provider_type: str
    status: str
    agent_id: int | None
    worker_id: int | None
    task_type: str
    task_id: int
    task_run_id: int
    sandbox: bool
    requester_id: int
    creation_date: CreationDate


class WorkerRecord(Record):
    worker_id: int
    worker_name: str
    provider_type: str
    creation_date: CreationDate


class AgentRecord(Record):
    agent_id: int
    worker_id: int
    unit_id: int
    task_id: int
    task_run_id: int
    assignment_id: int
    task_type: str
    provider_type: str
    status: str
    creation_date: CreationDate


class OnboardingAgentRecord(Record):
    onboarding_agent_id: int
    worker_id: int
    task_id: int
    task_run_id: int
    task_type: str
    status: str
    creation_date: CreationDate


class QualificationRecord(Record):
    qualification_id: int
    qualification_name: str
    creation_date: CreationDate


class GrantedQualificationRecord(Record):
    granted_qualification_id: int
    worker_id: int
    qualification_id: int
    value: int
    creation_date: CreationDate


# Input models: field names are the columns they fill, so a dump is the INSERT's values.


class Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NewProject(Input):
    project_name: ProjectName


class NewTask(Input):
    task_name: Name
    task_type: TaskType
    project_id: Id | None = None


class NewRequester(Input):
    requester_name: Name
    provider_type: ProviderType


class NewTaskRun(Input):
    task_id: Id
    requester_id: Id
    init_params: Text
    provider_type: ProviderType
    task_type: TaskType
    sandbox: Flag = True


class NewAssignment(Input):
    task_id: Id
    task_run_id: Id
    requester_id: Id
    task_type: TaskType
    provider_type: ProviderType
    sandbox: Flag = True


class NewUnit(Input):
    task_id: Id
    task_run_id: Id
    requester_id: Id
    assignment_id: Id
    unit_index: Int
    pay_amount: Amount
    provider_type: ProviderType
    task_type: TaskType
    sandbox: Flag = True


class NewWorker(Input):
    worker_name: Name
    provider_type: ProviderType


class NewAgent(Input):
    worker_id: Id
    unit_id: Id
    task_id: Id
    task_run_id: Id
    assignment_id: Id
    task_type: TaskType
    provider_type: ProviderType


class NewOnboardingAgent(Input):
    worker_id: Id
    task_id: Id
    task_run_id: Id
    task_type: TaskType


class NewQualification(Input):
    qualification_name: Name


class Grant(Input):
    qualification_id: Id
    worker_id: Id
    value: Int = 1


RECORDS: dict[str, type[Record]] = {
    "projects": ProjectRecord,
    "tasks": TaskRecord,
    "requesters": RequesterRecord,
    "task_runs": TaskRunRecord,
    "assignments": AssignmentRecord,
    "units": UnitRecord,
    "workers": WorkerRecord,
    "agents": AgentRecord,
    "onboarding_agents": OnboardingAgentRecord,
    "qualifications": QualificationRecord,
    "granted_qualifications": GrantedQualificationRecord,
}


def _check_fields_match_columns() -> None:
    """Fail at import if a record drifts from its table: its fields are the table's columns."""
    for name, record in RECORDS.items():
        table = models.CrowdBase.metadata.tables[name]
        assert isinstance(table, Table)
        columns = [column.name for column in table.columns]
        if list(record.model_fields) != columns:
            raise AssertionError(f"{record.__name__} fields differ from {name}: {columns}")


_check_fields_match_columns()
