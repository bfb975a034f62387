"""What callers give the crowd store, validated once at the boundary.

Field names are the columns they fill, so a dump is the statement's values; the
repository method that takes an input lists the same names as its parameters
(tested in tests/unit).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from taskdb.crowd.fields import (
    AgentStatusValue,
    Amount,
    Flag,
    Id,
    Int,
    Name,
    ProjectName,
    ProviderType,
    TaskType,
    Text,
    UnitStatusValue,
)


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


class TaskChange(Input):
    task_name: Name | None = None
    project_id: Id | None = None


class TaskRunCompletion(Input):
    task_run_id: Id
    is_completed: Flag


class UnitChange(Input):
    status: UnitStatusValue
    agent_id: Id | None = None


class AgentStatusChange(Input):
    status: AgentStatusValue


class GrantKey(Input):
    qualification_id: Id
    worker_id: Id
