"""The crowd store: Mephisto's LocalMephistoDB tables behind one repository per table."""

from taskdb.crowd.inputs import NewAssignment, NewUnit
from taskdb.crowd.records import (
    AgentRecord,
    AssignmentRecord,
    GrantedQualificationRecord,
    OnboardingAgentRecord,
    ProjectRecord,
    QualificationRecord,
    Record,
    RequesterRecord,
    TaskRecord,
    TaskRunRecord,
    UnitRecord,
    WorkerRecord,
)
from taskdb.crowd.store import CrowdRepositories, CrowdStore
from taskdb.crowd.vocab import (
    AGENT_STATUSES,
    NO_PROJECT,
    PROVIDERS,
    UNIT_STATUSES,
    AgentStatus,
    ProviderRegistry,
    UnitStatus,
)

__all__ = [
    "AGENT_STATUSES",
    "NO_PROJECT",
    "PROVIDERS",
    "UNIT_STATUSES",
    "AgentRecord",
    "AgentStatus",
    "AssignmentRecord",
    "CrowdRepositories",
    "CrowdStore",
    "GrantedQualificationRecord",
    "NewAssignment",
    "NewUnit",
    "OnboardingAgentRecord",
    "ProjectRecord",
    "ProviderRegistry",
    "QualificationRecord",
    "Record",
    "RequesterRecord",
    "TaskRecord",
    "TaskRunRecord",
    "UnitRecord",
    "UnitStatus",
    "WorkerRecord",
]
