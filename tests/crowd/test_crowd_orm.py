"""The models as an ORM: relationships both ways, store.session() and work.session()."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import selectinload

from taskdb.crowd import CrowdStore
from taskdb.crowd.models import (
    Agent,
    Assignment,
    CrowdBase,
    GrantedQualification,
    Project,
    Qualification,
    Requester,
    Task,
    TaskRun,
    Unit,
    Worker,
)
from taskdb.errors import EntryAlreadyExists, EntryDoesNotExist, InvalidEntry
from taskdb.spec import CROWD


def _graph(session: sa.orm.Session, tag: str) -> Unit:
    """A task graph down to a unit whose agent points back at it: the units <-> agents cycle."""
    project = Project(project_name=f"{tag}-project")
    task = Task(task_name=f"{tag}-task", task_type="mock", project=project)
    requester = Requester(requester_name=f"{tag}-me", provider_type="mock")
    run = TaskRun(
        task=task,
        requester=requester,
        init_params="{}",
        is_completed=False,
        provider_type="mock",
        task_type="mock",
        sandbox=True,
    )
    assignment = Assignment(
        task=task, task_run=run, requester=requester, task_type="mock", provider_type="mock",
        sandbox=True,
    )  # fmt: skip
    worker = Worker(worker_name=f"{tag}-worker", provider_type="mock")
    unit = Unit(
        assignment=assignment, unit_index=0, pay_amount=0.5, provider_type="mock",
        status="assigned", worker=worker, task_type="mock", task=task, task_run=run,
        sandbox=True, requester=requester,
    )  # fmt: skip
    agent = Agent(
        worker=worker, unit=unit, task_id=0, task_run_id=0, assignment_id=0,
        task_type="mock", provider_type="mock", status="in task",
    )  # fmt: skip
    unit.agent = agent
    qualification = Qualification(qualification_name=f"{tag}-qualified")
    session.add_all(
        [unit, GrantedQualification(worker=worker, qualification=qualification, value=3)]
    )
    return unit


def test_a_whole_graph_goes_in_through_one_flush(crowd_url: str) -> None:
    with CrowdStore(crowd_url) as store:
        with store.session() as session:
            unit = _graph(session, "g")
            session.flush()
            unit_id, agent_id = unit.unit_id, unit.agent_id
        assert agent_id is not None

        record = store.units.get(unit_id)
        assert (record.agent_id, record.status) == (agent_id, "assigned")
        assert store.agents.get(agent_id).unit_id == unit_id
        assert [
            g.value for g in store.granted_qualifications.check(worker_id=record.worker_id)
        ] == [3]


def test_relationships_load_when_asked_and_raise_otherwise(crowd_url: str) -> None:
    with CrowdStore(crowd_url) as store:
        with store.session() as session:
            _graph(session, "lazy")
        with store.session() as session:
            worker = session.scalars(
                sa.select(Worker).options(
                    selectinload(Worker.units).selectinload(Unit.agent),
                    selectinload(Worker.granted_qualifications).selectinload(
                        GrantedQualification.qualification
                    ),
                )
            ).one()
            assert [unit.agent.status for unit in worker.units if unit.agent] == ["in task"]
            assert [g.qualification.qualification_name for g in worker.granted_qualifications] == [
                "lazy-qualified"
            ]
            with pytest.raises(InvalidRequestError, match="lazy='raise'"):
                _ = worker.agents


def test_a_session_commits_at_the_end_and_rolls_back_on_error(crowd_url: str) -> None:
    with CrowdStore(crowd_url) as store:
        with store.session() as session:
            session.add(Project(project_name="kept"))
        with pytest.raises(RuntimeError), store.session() as session:
            session.add(Project(project_name="dropped"))
            session.flush()
            raise RuntimeError("the caller's own failure")
        assert [p.project_name for p in store.projects.find()] == ["kept"]


def test_integrity_errors_at_flush_are_taskdb_errors(crowd_url: str) -> None:
    with CrowdStore(crowd_url) as store:
        store.projects.new("taken")
        with pytest.raises(EntryAlreadyExists), store.session() as session:
            session.add(Project(project_name="taken"))
        with pytest.raises(EntryDoesNotExist), store.session() as session:
            session.add(Task(task_name="orphan", task_type="mock", project_id=999_999))
        assert [t.task_name for t in store.tasks.find()] == []


def test_work_session_shares_the_unit_of_works_transaction(crowd_url: str) -> None:
    with CrowdStore(crowd_url) as store:
        with pytest.raises(RuntimeError), store.unit_of_work() as work:
            project_id = work.projects.new("in-work")
            with work.session() as session:
                found = session.get(Project, project_id)  # the same transaction sees it
                assert found is not None
                session.add(Project(project_name="by-session"))
            assert {p.project_name for p in work.projects.find()} == {"in-work", "by-session"}
            raise RuntimeError("roll the whole unit of work back")
        assert store.projects.find() == []

        with store.unit_of_work() as work, work.session() as session:
            session.add(Project(project_name="committed"))
        assert [p.project_name for p in store.projects.find()] == ["committed"]


def test_a_connection_kept_from_work_session_cannot_write_after_the_unit_of_work(
    crowd_url: str,
) -> None:
    with CrowdStore(crowd_url) as store:
        with store.unit_of_work() as work, work.session() as session:
            kept = session.connection()
            session.add(Project(project_name="inside"))
        with pytest.raises(sa.exc.ResourceClosedError):
            kept.execute(sa.insert(Project), {"project_name": "late"})
        store.projects.new("after")
        assert [p.project_name for p in store.projects.find()] == ["inside", "after"]


def test_a_store_session_inside_a_unit_of_work_is_refused(crowd_url: str) -> None:
    with (
        CrowdStore(crowd_url) as store,
        store.unit_of_work(),
        pytest.raises(InvalidEntry, match="unit_of_work"),
        store.session(),
    ):
        pass


def test_every_foreign_key_has_a_relationship() -> None:
    for mapper in CrowdBase.registry.mappers:
        table = mapper.local_table
        assert isinstance(table, sa.Table)
        covered = {
            column.name
            for relationship in mapper.relationships
            if relationship.direction.name == "MANYTOONE"
            for column in relationship.local_columns
        }
        keys = {fk.parent.name for fk in table.foreign_keys}
        assert keys <= covered, f"{table.name}: {sorted(keys - covered)} have no relationship"


# (what the repository call does, what the session does, words both messages must share)
SAME_RULES = [
    (
        lambda store: store.projects.new("NO_PROJECT"),
        lambda session: session.add(Project(project_name="NO_PROJECT")),
        "is reserved for tasks without a project",
    ),
    (
        lambda store: store.workers.new("", "mock"),
        lambda session: session.add(Worker(worker_name="", provider_type="mock")),
        "a name may not be empty",
    ),
    (
        lambda store: store.requesters.new("r", "prolific"),
        lambda session: session.add(Requester(requester_name="r", provider_type="prolific")),
        "unknown provider type 'prolific'",
    ),
    (
        lambda store: store.tasks.new("t", "mock", 2**40),
        lambda session: session.add(Task(task_name="t", task_type="mock", project_id=2**40)),
        "an id lies between 0 and",
    ),
    (
        lambda store: store.workers.new("nul\x00", "mock"),
        lambda session: session.add(Worker(worker_name="nul\x00", provider_type="mock")),
        "NUL",
    ),
    (
        lambda store: store.projects.new(5),
        lambda session: session.add(Project(project_name=5)),
        "valid string",
    ),
]


@pytest.mark.parametrize(
    ("repository_call", "session_write", "shared"),
    SAME_RULES,
    ids=["reserved", "empty", "provider", "id-range", "nul", "type"],
)
def test_the_same_bad_input_fails_the_same_way_through_both_paths(
    crowd_url: str, repository_call: Any, session_write: Any, shared: str
) -> None:
    with CrowdStore(crowd_url) as store:
        with pytest.raises(InvalidEntry) as through_repository:
            repository_call(store)
        with pytest.raises(InvalidEntry) as through_session, store.session() as session:
            session_write(session)
        assert shared in str(through_repository.value)
        assert shared in str(through_session.value)
        # A wrong type is InvalidType (also a TypeError) both ways, a bad value neither way.
        assert type(through_session.value) is type(through_repository.value)
        assert store.projects.find() == [] and store.workers.find() == []


def test_a_status_change_through_a_session_obeys_the_status_rules(crowd_url: str) -> None:
    with CrowdStore(crowd_url) as store:
        with store.session() as session:
            unit = _graph(session, "st")
            session.flush()
            unit_id = unit.unit_id
        with pytest.raises(InvalidEntry, match="not a unit status"), store.session() as session:
            unit = session.get_one(Unit, unit_id)
            unit.status = "craeted"
        assert store.units.get(unit_id).status == "assigned"
        with store.session() as session:
            session.get_one(Unit, unit_id).status = "completed"
        assert store.units.get(unit_id).status == "completed"


def test_every_crowd_table_is_checked_on_the_session_path() -> None:
    from taskdb.crowd.session_rules import checked_tables

    assert set(checked_tables()) == set(CrowdBase.metadata.tables)


def test_values_are_stored_as_the_repositories_store_them(crowd_url: str) -> None:
    with CrowdStore(crowd_url) as store:
        with store.session() as session:
            session.add(Task(task_name="typed", task_type=7))  # the seed's callers pass ints
        (task,) = store.tasks.find(task_name="typed")
        assert task.task_type == "7"


def test_a_session_on_sqlite_writes_under_begin_immediate(sqlite_target: Any) -> None:
    import sqlite3

    url = sqlite_target.migrated_url(CROWD)
    with CrowdStore(url) as store, store.session() as session:
        session.execute(sa.select(Project)).all()  # the session's transaction has begun
        other = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
