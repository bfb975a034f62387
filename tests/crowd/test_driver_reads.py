"""SQLite reads run on the driver (taskdb.prepared) answer as Core does; watched, they use Core."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from taskdb.connections import AutocommitRunner
from taskdb.crowd import CrowdStore
from taskdb.crowd.repositories.base import Repository
from taskdb.errors import DatabaseError
from taskdb.prepared import Prepared, prepare
from taskdb.quantum import TaskInfo, TaskStore
from taskdb.spec import CROWD
from tests.support.crowd_world import World, build_world


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CrowdStore]:
    with CrowdStore(f"sqlite:///{tmp_path / 'crowd.sqlite'}") as opened:
        yield opened


@pytest.fixture
def worlds(store: CrowdStore) -> list[World]:
    worlds = [build_world(store, f"-{n}") for n in range(3)]
    store.task_runs.update(worlds[1].task_run, is_completed=True)
    store.units.update_status(worlds[2].unit, "launched")
    return worlds


@pytest.fixture
def driver_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of every read that ran on the driver itself."""
    ran: list[str] = []
    original = Prepared.rows

    def counted(self: Prepared, *args: Any) -> Any:
        ran.append(self.sql)
        return original(self, *args)

    monkeypatch.setattr(Prepared, "rows", counted)
    return ran


def _answers(repository: Repository[Any], filters: dict[str, object]) -> list[object]:
    """What a repository's reads return: every record, each by id, a count, a page."""
    finder = getattr(repository, repository.finder)
    everything = finder()
    keys = [getattr(record, repository.key().name) for record in everything]
    return [
        everything,
        [_get(repository, record) for record in everything],
        finder(**filters),
        repository.count(**filters),
        finder(limit=2, after=keys[0]),
        list(repository.iterate(batch=2)),
    ]


def _get(repository: Repository[Any], record: Any) -> object:
    if repository.table.name == "granted_qualifications":  # read by its key
        return repository.get(record.qualification_id, record.worker_id)
    return repository.get(getattr(record, repository.key().name))


# A filter per table that splits its rows, booleans and statuses included.
FILTERS: dict[str, dict[str, object]] = {
    "projects": {"project_name": "project-1"},
    "tasks": {"task_name": "task-2"},
    "requesters": {"provider_type": "mock"},
    "task_runs": {"is_completed": True},
    "assignments": {"sandbox": True},
    "units": {"status": "launched"},
    "workers": {"worker_name": "worker-0"},
    "agents": {"status": "none"},
    "onboarding_agents": {"task_type": "mock-task"},
    "qualifications": {"qualification_name": "qualification-2"},
    "granted_qualifications": {"value": 3},
}


@pytest.mark.parametrize("name", CROWD.tables)
def test_driver_reads_answer_as_core_does(
    store: CrowdStore, worlds: list[World], driver_reads: list[str], name: str
) -> None:
    repository: Repository[Any] = getattr(store, name)
    on_the_driver = _answers(repository, FILTERS[name])
    assert len(driver_reads) >= 6
    assert on_the_driver[0] and on_the_driver[2]

    through_core: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *a: through_core.append(a[2]))
    driver_reads.clear()

    assert _answers(repository, FILTERS[name]) == on_the_driver
    assert driver_reads == []
    assert any(f"FROM {name}" in statement for statement in through_core)


def test_a_grant_read_by_key_on_the_driver(
    store: CrowdStore, worlds: list[World], driver_reads: list[str]
) -> None:
    grant = store.granted_qualifications.get(worlds[1].qualification, worlds[1].worker)
    assert (grant.qualification_id, grant.worker_id, grant.value) == (
        worlds[1].qualification,
        worlds[1].worker,
        3,
    )
    assert len(driver_reads) == 1


def test_booleans_read_as_core_reads_them(
    store: CrowdStore, worlds: list[World], driver_reads: list[str]
) -> None:
    completed = store.task_runs.find(is_completed=True)
    assert [run.task_run_id for run in completed] == [worlds[1].task_run]
    assert completed[0].is_completed is True and completed[0].sandbox is True
    assert store.task_runs.get(worlds[0].task_run).is_completed is False
    assert driver_reads


def _opened(tmp_path: Path, **options: Any) -> CrowdStore:
    """A second store on the test's file, with ``engine_options``."""
    return CrowdStore(f"sqlite:///{tmp_path / 'crowd.sqlite'}", engine_options=options)


def test_sql_echoed_from_the_start_is_not_skipped(
    worlds: list[World],
    driver_reads: list[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    with _opened(tmp_path, echo=True) as echoed:
        assert echoed.units.get(worlds[0].unit).unit_id == worlds[0].unit
    assert driver_reads == []
    assert any("FROM units" in message for message in caplog.messages)


def test_sql_logged_when_a_thread_first_reads_is_not_skipped(
    store: CrowdStore,
    worlds: list[World],
    driver_reads: list[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    with _opened(tmp_path) as logged:
        caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
        assert logged.units.get(worlds[0].unit).unit_id == worlds[0].unit
    assert driver_reads == []
    assert any("FROM units" in message for message in caplog.messages)


def test_a_listener_on_every_connection_sees_reads(
    store: CrowdStore, worlds: list[World], driver_reads: list[str]
) -> None:
    store.units.get(worlds[0].unit)  # this thread holds its connection already
    seen: list[object] = []

    def listener(connection: object, statement: object, *_: object) -> None:
        seen.append(statement)

    sa.event.listen(Connection, "after_execute", listener)
    try:
        driver_reads.clear()
        assert store.units.get(worlds[1].unit).unit_id == worlds[1].unit
    finally:
        sa.event.remove(Connection, "after_execute", listener)
    assert driver_reads == []
    assert len(seen) == 1


def test_execution_options_of_the_caller_read_through_core(
    worlds: list[World], driver_reads: list[str], tmp_path: Path
) -> None:
    translated = {"execution_options": {"schema_translate_map": {None: "main"}}}
    with _opened(tmp_path, **translated) as store:
        assert [unit.unit_id for unit in store.units.find()] == [w.unit for w in worlds]
    assert driver_reads == []


def test_hidden_parameters_stay_hidden_in_a_failed_read(
    worlds: list[World], driver_reads: list[str], tmp_path: Path
) -> None:
    with _opened(tmp_path, hide_parameters=True) as store:
        store.workers.find(worker_name="worker-0")
        with store.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE workers RENAME TO workers_away")
        with pytest.raises(DatabaseError, match="no such table") as raised:
            store.workers.find(worker_name="a secret")
    assert driver_reads
    assert "a secret" not in str(raised.value.__cause__)
    assert "hidden" in str(raised.value.__cause__)


def test_a_connection_closed_under_a_read_is_replaced_quietly(
    store: CrowdStore,
    worlds: list[World],
    driver_reads: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    store.units.get(worlds[0].unit)
    runner = store._autocommit
    assert isinstance(runner, AutocommitRunner) and runner._held is not None
    runner._held.connection()._held.driver.close()  # what a crashed extension could leave

    with pytest.raises(DatabaseError, match="closed database") as raised:
        store.units.get(worlds[0].unit)
    cause = raised.value.__cause__
    assert isinstance(cause, sa.exc.DBAPIError) and cause.connection_invalidated
    assert store.units.get(worlds[1].unit).unit_id == worlds[1].unit
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_an_error_listener_sees_a_failed_read(
    store: CrowdStore, worlds: list[World], tmp_path: Path
) -> None:
    seen: list[BaseException] = []
    sa.event.listen(
        store.engine, "handle_error", lambda context: seen.append(context.original_exception)
    )
    store.units.get(worlds[0].unit)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE units RENAME TO units_away")

    with pytest.raises(Exception, match="no such table: units"):
        store.units.get(worlds[0].unit)
    assert len(seen) == 1


def test_the_quantum_store_reads_on_the_driver_as_core_does(
    tmp_path: Path, driver_reads: list[str]
) -> None:
    with TaskStore(url=f"sqlite:///{tmp_path / 'tasks.sqlite'}") as tasks:
        tasks.save(TaskInfo("t1", "ibm", "running", shots=100, metadata={"k": [1]}))
        tasks.save(TaskInfo("t2", "ibm", "done"))
        on_the_driver = [tasks.get("t1"), tasks.list(), tasks.list(status="done"), tasks.count()]
        assert len(driver_reads) == 4
        assert on_the_driver[0] is not None and on_the_driver[0].metadata == {"k": [1]}

        sa.event.listen(tasks.engine, "before_cursor_execute", lambda *a: None)
        driver_reads.clear()
        through_core = [tasks.get("t1"), tasks.list(), tasks.list(status="done"), tasks.count()]
    assert through_core == on_the_driver
    assert driver_reads == []


def test_prepare_leaves_to_core_what_it_cannot_run_the_same() -> None:
    table = sa.table("t", sa.column("a", sa.Integer))
    by_a = sa.select(table.c.a).where(table.c.a == sa.bindparam("a"))
    sqlite_engine = sa.create_engine("sqlite://")
    assert prepare(by_a, sa.create_engine("postgresql+psycopg://")) is None
    expanding = sa.select(table.c.a).where(table.c.a.in_(sa.bindparam("many", expanding=True)))
    assert prepare(expanding, sqlite_engine) is None
    rendered = sa.select(table.c.a).where(table.c.a == sa.bindparam("a", literal_execute=True))
    assert prepare(rendered, sqlite_engine) is None
    assert prepare(by_a, sqlite_engine) is not None


def test_a_prepared_statement_binds_values_as_core_does_and_processes_rows() -> None:
    engine = sa.create_engine("sqlite://")
    metadata = sa.MetaData()
    table = sa.Table("t", metadata, sa.Column("a", sa.Integer), sa.Column("b", sa.Boolean))
    with engine.begin() as connection:
        metadata.create_all(connection)
        connection.execute(table.insert(), [{"a": 1, "b": True}, {"a": 2, "b": False}])
    floor = iter([1, 0, 0])
    statement = (
        sa.select(table.c.a, table.c.b)
        .where(
            table.c.a > sa.bindparam("floor", callable_=lambda: next(floor)),
            table.c.b == sa.bindparam("b"),
        )
        .limit(sa.bindparam("n"))
    )
    prepared = prepare(statement, engine)
    assert prepared is not None
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        rows = prepared.rows(driver, {"b": False, "n": 5})  # a > 1
        assert [tuple(row) for row in rows] == [(2, False)]
        assert type(rows[0][1]) is bool
        assert [tuple(row) for row in prepared.rows(driver, {"b": True, "n": 5})] == [(1, True)]
        # Every value given: the given one wins over the statement's own, as in Core.
        given = {"floor": 1, "b": False, "n": 5}
        assert [tuple(row) for row in prepared.rows(driver, given)] == [(2, False)]
        with pytest.raises(sa.exc.SQLAlchemyError, match="A value is required"):
            prepared.rows(driver, {"b": True})
        gone = prepare(sa.select(sa.table("gone", sa.column("x"))), engine)
        assert gone is not None
        with pytest.raises(sa.exc.OperationalError, match="no such table"):
            gone.rows(driver, {})
