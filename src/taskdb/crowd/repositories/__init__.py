"""One repository per crowd table, in a module named after the table."""

from taskdb.crowd.repositories.agents import AgentRepository
from taskdb.crowd.repositories.assignments import AssignmentRepository
from taskdb.crowd.repositories.base import Repository
from taskdb.crowd.repositories.granted_qualifications import GrantedQualificationRepository
from taskdb.crowd.repositories.onboarding_agents import OnboardingAgentRepository
from taskdb.crowd.repositories.projects import ProjectRepository
from taskdb.crowd.repositories.qualifications import QualificationRepository
from taskdb.crowd.repositories.requesters import RequesterRepository
from taskdb.crowd.repositories.task_runs import TaskRunRepository
from taskdb.crowd.repositories.tasks import TaskRepository
from taskdb.crowd.repositories.units import UnitRepository
from taskdb.crowd.repositories.workers import WorkerRepository

__all__ = [
    "AgentRepository",
    "AssignmentRepository",
    "GrantedQualificationRepository",
    "OnboardingAgentRepository",
    "ProjectRepository",
    "QualificationRepository",
    "Repository",
    "RequesterRepository",
    "TaskRepository",
    "TaskRunRepository",
    "UnitRepository",
    "WorkerRepository",
]
