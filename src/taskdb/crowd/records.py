"""The records the crowd store returns: frozen, typed, one per table.

A record's fields are its table's columns, by name and in order (tested in
tests/unit); values are what the store reads back, ``creation_date`` as the
seed's UTC text, flags as booleans (from True/False or 0/1 only: a stored 2 or
'no' does not fit). ``status`` is a ``UnitStatus`` / ``AgentStatus`` member; a
status written by other code that is not one reads back as the plain string stored.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from taskdb.crowd.fields import CreationDate, Flag, StoredAgentStatus, StoredUnitStatus


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
    is_completed: Flag
    provider_type: str
    task_type: str
    sandbox: Flag
    creation_date: CreationDate


class AssignmentRecord(Record):
    assignment_id: int
    task_id: int
    task_run_id: int
    requester_id: int
    task_type: str
    provider_type: str
    sandbox: Flag
    creation_date: CreationDate


class UnitRecord(Record):
    unit_id: int
    assignment_id: int
    unit_index: int
    pay_amount: float
    provider_type: str
    status: StoredUnitStatus
    agent_id: int | None
    worker_id: int | None
    task_type: str
    task_id: int
    task_run_id: int
    sandbox: Flag
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
    status: StoredAgentStatus
    creation_date: CreationDate


class OnboardingAgentRecord(Record):
    onboarding_agent_id: int
    worker_id: int
    task_id: int
    task_run_id: int
    task_type: str
    status: StoredAgentStatus
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
