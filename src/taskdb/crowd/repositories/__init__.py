"""One repository per crowd table; each runs on the connection its runner hands out."""

from taskdb.crowd.repositories.agents import AgentRepository, OnboardingAgentRepository
from taskdb.crowd.repositories.base import (
    AutocommitRunner,
    Repository,
    Runner,
    TransactionRunner,
)
from taskdb.crowd.repositories.catalog import (
    ProjectRepository,
    RequesterRepository,
    TaskRepository,
    WorkerRepository,
)
from taskdb.crowd.repositories.qualifications import (
    GrantedQualificationRepository,
    QualificationRepository,
)
from taskdb.crowd.repositories.runs import (
    AssignmentRepository,
    TaskRunRepository,
    UnitRepository,
)

__all__ = [
    "AgentRepository",
    "AssignmentRepository",
    "AutocommitRunner",
    "GrantedQualificationRepository",
    "OnboardingAgentRepository",
    "ProjectRepository",
    "QualificationRepository",
    "Repository",
    "RequesterRepository",
    "Runner",
    "TaskRepository",
    "TaskRunRepository",
    "TransactionRunner",
    "UnitRepository",
    "WorkerRepository",
]
