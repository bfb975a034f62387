"""The ORM cookbook: questions about crowd and quantum data, as SQLAlchemy ORM queries.

docs/orm.md shows each function below verbatim (tests/crowd/test_cookbook.py checks
that it does), the tests run each one on SQLite, PostgreSQL and MariaDB, and
benchmarks/orm.py times each beside the repository calls that answer the same
question. Each takes a ``Session``: ``store.session()`` for the crowd store,
``Session(task_store.engine)`` for the quantum store. Results are ORM objects
(use them inside the session's block) or plain tuples.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from taskdb.crowd.models import (
    Agent,
    GrantedQualification,
    Qualification,
    Task,
    TaskRun,
    Unit,
    Worker,
)
from taskdb.quantum.models import QuantumTask


def qualified_units(
    session: Session, task_run_id: int, qualification: str, min_value: int = 3
) -> Sequence[Unit]:
    return session.scalars(
        select(Unit)
        .join(GrantedQualification, GrantedQualification.worker_id == Unit.worker_id)
        .join(GrantedQualification.qualification)
        .where(
            Unit.task_run_id == task_run_id,
            Qualification.qualification_name == qualification,
            GrantedQualification.value >= min_value,
        )
        .order_by(Unit.unit_id)
    ).all()


def average_accepted_pay(session: Session) -> Sequence[Row[str, float]]:
    return session.execute(
        select(Task.task_name, func.avg(Unit.pay_amount))
        .select_from(Unit)
        .join(Unit.task)
        .where(Unit.status == "accepted")
        .group_by(Task.task_id, Task.task_name)
        .order_by(Task.task_name)
    ).all()


def agents_per_worker_and_status(session: Session) -> Sequence[Row[str, str, int]]:
    return session.execute(
        select(Worker.worker_name, Agent.status, func.count())
        .select_from(Agent)
        .join(Agent.worker)
        .group_by(Worker.worker_name, Agent.status)
        .order_by(Worker.worker_name, Agent.status)
    ).all()


def runs_with_nothing_to_assign(session: Session) -> Sequence[TaskRun]:
    return session.scalars(
        select(TaskRun)
        .where(~TaskRun.units.any(Unit.status.in_(("created", "launched"))))
        .order_by(TaskRun.task_run_id)
    ).all()


def unit_counts_by_status(session: Session) -> Sequence[Row[int, str, int]]:
    return session.execute(
        select(Unit.task_run_id, Unit.status, func.count())
        .group_by(Unit.task_run_id, Unit.status)
        .order_by(Unit.task_run_id, Unit.status)
    ).all()


def workers_with_qualifications(session: Session) -> Sequence[Worker]:
    return session.scalars(
        select(Worker)
        .options(
            selectinload(Worker.granted_qualifications).joinedload(
                GrantedQualification.qualification
            )
        )
        .order_by(Worker.worker_id)
    ).all()


def units_with_agent_and_worker(session: Session, task_run_id: int, status: str) -> Sequence[Unit]:
    return session.scalars(
        select(Unit)
        .where(Unit.task_run_id == task_run_id, Unit.status == status)
        .options(joinedload(Unit.agent), joinedload(Unit.worker))
        .order_by(Unit.unit_id)
    ).all()


def onboarded_without_units(session: Session, task_run_id: int) -> Sequence[Worker]:
    return session.scalars(
        select(Worker)
        .where(
            Worker.onboarding_agents.any(task_run_id=task_run_id, status="approved"),
            ~Worker.units.any(task_run_id=task_run_id),
        )
        .order_by(Worker.worker_id)
    ).all()


def unit_page(
    session: Session, task_run_id: int, after: int = 0, size: int = 100
) -> Sequence[Unit]:
    return session.scalars(
        select(Unit)
        .where(Unit.task_run_id == task_run_id, Unit.unit_id > after)
        .order_by(Unit.unit_id)
        .limit(size)
    ).all()


def tasks_per_backend_and_status(session: Session) -> Sequence[Row[str, str, int]]:
    return session.execute(
        select(QuantumTask.backend, QuantumTask.status, func.count())
        .group_by(QuantumTask.backend, QuantumTask.status)
        .order_by(QuantumTask.backend, QuantumTask.status)
    ).all()


def newest_failed_per_backend(session: Session, newest: int = 3) -> Sequence[QuantumTask]:
    place = (
        func.row_number()
        .over(
            partition_by=QuantumTask.backend,
            order_by=(QuantumTask.submit_time.desc(), QuantumTask.task_id.desc()),
        )
        .label("place")
    )
    ranked = select(QuantumTask, place).where(QuantumTask.status == "failed").subquery()
    task = aliased(QuantumTask, ranked)
    return session.scalars(
        select(task).where(ranked.c.place <= newest).order_by(task.backend, ranked.c.place)
    ).all()
