"""Declarative models of the crowd store: the eleven tables of Mephisto's LocalMephistoDB.

Column order, types, NOT NULL, defaults, keys and index names follow the seed
DDL exactly, so the baseline revision makes files that match the seed's. Revision
crowd_0002 adds four indexes for finders the seed served with full scans (marked).

Every foreign key has its relationship, both ways where both mean something. They
load with ``lazy="raise"``: touching one that was not loaded raises at once instead
of sending a query per object (N+1). Ask for what a query needs with
``selectinload`` / ``joinedload`` (see docs/orm.md). Relationships change no schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from taskdb.schema import SEED_DDL, Double, KeyText, LongText, new_metadata

NOW = text("CURRENT_TIMESTAMP")
# Every crowd table keeps SQLite's AUTOINCREMENT (ids are never reused after a delete)
# and the seed's SQLite DDL.
AUTOINCREMENT = {"sqlite_autoincrement": True, "info": {SEED_DDL: True}}


class CrowdBase(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = {str: KeyText, datetime: DateTime(), bool: Boolean(), float: Double}


def _pk() -> Mapped[int]:
    return mapped_column(Integer, primary_key=True, autoincrement=True)


def _created() -> Mapped[datetime | None]:
    return mapped_column(server_default=NOW)


# No relationship loads by itself: a loop over objects cannot turn into N+1 queries.
LAZY: Final = "raise"


class Project(CrowdBase):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("project_name"), AUTOINCREMENT)

    project_id: Mapped[int] = _pk()
    project_name: Mapped[str]
    creation_date: Mapped[datetime | None] = _created()

    tasks: Mapped[list[Task]] = relationship(back_populates="project", lazy=LAZY)


class Task(CrowdBase):
    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("task_name"), AUTOINCREMENT)

    task_id: Mapped[int] = _pk()
    task_name: Mapped[str]
    task_type: Mapped[str]
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.project_id"))
    parent_task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.task_id"))
    creation_date: Mapped[datetime | None] = _created()

    project: Mapped[Project | None] = relationship(back_populates="tasks", lazy=LAZY)
    parent: Mapped[Task | None] = relationship(
        back_populates="children", remote_side=[task_id], lazy=LAZY
    )
    children: Mapped[list[Task]] = relationship(back_populates="parent", lazy=LAZY)
    task_runs: Mapped[list[TaskRun]] = relationship(back_populates="task", lazy=LAZY)
    assignments: Mapped[list[Assignment]] = relationship(back_populates="task", lazy=LAZY)
    units: Mapped[list[Unit]] = relationship(back_populates="task", lazy=LAZY)


class Requester(CrowdBase):
    __tablename__ = "requesters"
    __table_args__ = (
        UniqueConstraint("requester_name"),
        Index("requesters_by_provider_index", "provider_type"),
        AUTOINCREMENT,
    )

    requester_id: Mapped[int] = _pk()
    requester_name: Mapped[str]
    provider_type: Mapped[str]
    creation_date: Mapped[datetime | None] = _created()

    task_runs: Mapped[list[TaskRun]] = relationship(back_populates="requester", lazy=LAZY)
    assignments: Mapped[list[Assignment]] = relationship(back_populates="requester", lazy=LAZY)
    units: Mapped[list[Unit]] = relationship(back_populates="requester", lazy=LAZY)


class TaskRun(CrowdBase):
    __tablename__ = "task_runs"
    __table_args__ = (
        Index("task_run_by_requester_index", "requester_id"),
        Index("task_run_by_task_index", "task_id"),
        AUTOINCREMENT,
    )

    task_run_id: Mapped[int] = _pk()
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.task_id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("requesters.requester_id"))
    init_params: Mapped[str] = mapped_column(LongText)
    is_completed: Mapped[bool]
    provider_type: Mapped[str]
    task_type: Mapped[str]
    sandbox: Mapped[bool]
    creation_date: Mapped[datetime | None] = _created()

    task: Mapped[Task] = relationship(back_populates="task_runs", lazy=LAZY)
    requester: Mapped[Requester] = relationship(back_populates="task_runs", lazy=LAZY)
    assignments: Mapped[list[Assignment]] = relationship(back_populates="task_run", lazy=LAZY)
    units: Mapped[list[Unit]] = relationship(back_populates="task_run", lazy=LAZY)
    onboarding_agents: Mapped[list[OnboardingAgent]] = relationship(
        back_populates="task_run", lazy=LAZY
    )


class Assignment(CrowdBase):
    __tablename__ = "assignments"
    __table_args__ = (Index("assignment_by_task_run_index", "task_run_id"), AUTOINCREMENT)

    assignment_id: Mapped[int] = _pk()
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.task_id"))
    task_run_id: Mapped[int] = mapped_column(ForeignKey("task_runs.task_run_id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("requesters.requester_id"))
    task_type: Mapped[str]
    provider_type: Mapped[str]
    sandbox: Mapped[bool]
    creation_date: Mapped[datetime | None] = _created()

    task: Mapped[Task] = relationship(back_populates="assignments", lazy=LAZY)
    task_run: Mapped[TaskRun] = relationship(back_populates="assignments", lazy=LAZY)
    requester: Mapped[Requester] = relationship(back_populates="assignments", lazy=LAZY)
    units: Mapped[list[Unit]] = relationship(back_populates="assignment", lazy=LAZY)


class Unit(CrowdBase):
    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("assignment_id", "unit_index"),
        Index("unit_by_status_index", "status"),
        Index("unit_by_assignment_id_index", "assignment_id"),
        Index("unit_by_task_run_index", "task_run_id"),
        Index("unit_by_task_run_by_worker_by_status_index", "task_run_id", "worker_id", "status"),
        Index("unit_by_task_by_worker_index", "task_id", "worker_id"),
        Index("unit_by_worker_index", "worker_id"),  # crowd_0002
        AUTOINCREMENT,
    )

    unit_id: Mapped[int] = _pk()
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.assignment_id"))
    unit_index: Mapped[int]
    pay_amount: Mapped[float]
    provider_type: Mapped[str]
    status: Mapped[str]
    # units and agents point at each other; servers add this key after both tables exist.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.agent_id", use_alter=True))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.worker_id"))
    task_type: Mapped[str]
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.task_id"))
    task_run_id: Mapped[int] = mapped_column(ForeignKey("task_runs.task_run_id"))
    sandbox: Mapped[bool]
    requester_id: Mapped[int] = mapped_column(ForeignKey("requesters.requester_id"))
    creation_date: Mapped[datetime | None] = _created()

    assignment: Mapped[Assignment] = relationship(back_populates="units", lazy=LAZY)
    # units.agent_id and agents.unit_id point at each other: the unit's side is set by a
    # second UPDATE after both rows exist (post_update), so one flush can insert both.
    agent: Mapped[Agent | None] = relationship(foreign_keys=[agent_id], post_update=True, lazy=LAZY)
    agents: Mapped[list[Agent]] = relationship(
        back_populates="unit", foreign_keys="Agent.unit_id", lazy=LAZY
    )
    worker: Mapped[Worker | None] = relationship(back_populates="units", lazy=LAZY)
    task: Mapped[Task] = relationship(back_populates="units", lazy=LAZY)
    task_run: Mapped[TaskRun] = relationship(back_populates="units", lazy=LAZY)
    requester: Mapped[Requester] = relationship(back_populates="units", lazy=LAZY)


class Worker(CrowdBase):
    __tablename__ = "workers"
    __table_args__ = (UniqueConstraint("worker_name"), AUTOINCREMENT)

    worker_id: Mapped[int] = _pk()
    worker_name: Mapped[str]
    provider_type: Mapped[str]
    creation_date: Mapped[datetime | None] = _created()

    units: Mapped[list[Unit]] = relationship(back_populates="worker", lazy=LAZY)
    agents: Mapped[list[Agent]] = relationship(back_populates="worker", lazy=LAZY)
    onboarding_agents: Mapped[list[OnboardingAgent]] = relationship(
        back_populates="worker", lazy=LAZY
    )
    granted_qualifications: Mapped[list[GrantedQualification]] = relationship(
        back_populates="worker", lazy=LAZY
    )


class Agent(CrowdBase):
    __tablename__ = "agents"
    __table_args__ = (
        Index("agent_by_worker_by_status_index", "worker_id", "status"),
        Index("agent_by_task_run_index", "task_run_id"),
        Index("agent_by_unit_index", "unit_id"),  # crowd_0002
        AUTOINCREMENT,
    )

    agent_id: Mapped[int] = _pk()
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.worker_id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.unit_id"))
    task_id: Mapped[int]
    task_run_id: Mapped[int]
    assignment_id: Mapped[int]
    task_type: Mapped[str]
    provider_type: Mapped[str]
    status: Mapped[str]
    creation_date: Mapped[datetime | None] = _created()

    worker: Mapped[Worker] = relationship(back_populates="agents", lazy=LAZY)
    unit: Mapped[Unit] = relationship(back_populates="agents", foreign_keys=[unit_id], lazy=LAZY)


class OnboardingAgent(CrowdBase):
    __tablename__ = "onboarding_agents"
    __table_args__ = (
        Index("onboarding_agent_by_worker_index", "worker_id"),  # crowd_0002
        AUTOINCREMENT,
    )

    onboarding_agent_id: Mapped[int] = _pk()
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.worker_id"))
    task_id: Mapped[int]
    task_run_id: Mapped[int] = mapped_column(ForeignKey("task_runs.task_run_id"))
    task_type: Mapped[str]
    status: Mapped[str]
    creation_date: Mapped[datetime | None] = _created()

    worker: Mapped[Worker] = relationship(back_populates="onboarding_agents", lazy=LAZY)
    task_run: Mapped[TaskRun] = relationship(back_populates="onboarding_agents", lazy=LAZY)


class Qualification(CrowdBase):
    __tablename__ = "qualifications"
    __table_args__ = (UniqueConstraint("qualification_name"), AUTOINCREMENT)

    qualification_id: Mapped[int] = _pk()
    qualification_name: Mapped[str]
    creation_date: Mapped[datetime | None] = _created()

    grants: Mapped[list[GrantedQualification]] = relationship(
        back_populates="qualification", lazy=LAZY
    )


class GrantedQualification(CrowdBase):
    __tablename__ = "granted_qualifications"
    __table_args__ = (
        UniqueConstraint("worker_id", "qualification_id"),
        Index("granted_qualification_by_qualification_index", "qualification_id"),  # crowd_0002
        AUTOINCREMENT,
    )

    granted_qualification_id: Mapped[int] = _pk()
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.worker_id"))
    qualification_id: Mapped[int] = mapped_column(ForeignKey("qualifications.qualification_id"))
    value: Mapped[int]
    creation_date: Mapped[datetime | None] = _created()

    worker: Mapped[Worker] = relationship(back_populates="granted_qualifications", lazy=LAZY)
    qualification: Mapped[Qualification] = relationship(back_populates="grants", lazy=LAZY)
