"""SQLite one-row writes run on the driver (taskdb.prepared) write what Core writes."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from taskdb.crowd import CrowdStore
from taskdb.crowd.models import CrowdBase
from taskdb.errors import EntryAlreadyExists, EntryDoesNotExist, InvalidEntry, TaskdbError
from taskdb.prepared import Prepared, prepare
from taskdb.quantum import TaskInfo, TaskStore
from tests.support.crowd_world import build_world, snapshot


@pytest.fixture
def driver_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of every write that ran on the driver itself."""
    ran: list[str] = []
    original = Prepared.run

    def counted(self: Prepared, *args: Any) -> Any:
        ran.append(self.sql)
        return original(self, *args)

    monkeypatch.setattr(Prepared, "run", counted)
    return ran


def _url(tmp_path: Path, name: str) -> str:
    return f"sqlite:///{tmp_path / name}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CrowdStore]:
    with CrowdStore(_url(tmp_path, "crowd.sqlite")) as opened:
        yield opened


def _work(store: CrowdStore) -> list[object]:
    """Every kind of one-row write, in and out of a unit of work, and what each returned."""
    world = build_world(store)
    ids = (world.task, world.task_run, world.requester)
    done: list[object] = [world]
    with store.unit_of_work() as work:
        assignment = work.assignments.new(*ids, "mock-task", "mock")
        done += [work.units.new(*ids, assignment, n, 0.25, "mock", "mock-task") for n in range(3)]
        done.append(work.agents.new(world.worker, done[-1], *ids[:2], assignment, "x", "mock"))
    with store.unit_of_work(savepoints=False) as work:
        done.append(work.workers.new("worker-b", "mock"))
    store.units.update_status(world.unit, "launched")
    store.task_runs.update(world.task_run, is_completed=True)
    lonely = store.tasks.new("lonely", "mock-task", world.project)
    store.tasks.update(lonely, task_name="renamed")  # a statement with its values inside
    store.granted_qualifications.grant(world.qualification, world.worker, 7)  # a regrant
    store.agents.update_status(world.agent, "in task")
    return done


def _refusals(store: CrowdStore) -> list[tuple[type[BaseException], str]]:
    """What bad writes raise, after :func:`_work`."""
    calls: list[Callable[[], object]] = [
        lambda: store.projects.new("project"),
        lambda: store.workers.new("worker", "mock"),
        lambda: store.units.new(1, 1, 1, 99, 0, 0.5, "mock", "mock-task"),
        lambda: store.agents.new(99, 1, 1, 1, 1, "mock-task", "mock"),
        lambda: store.granted_qualifications.grant(1, 99, 1),
        lambda: store.units.update_status(999, "launched"),
    ]
    refused: list[tuple[type[BaseException], str]] = []
    for call in calls:
        with pytest.raises(TaskdbError) as raised:
            call()
        refused.append((type(raised.value), str(raised.value)))
    with store.unit_of_work() as work:  # refused inside: the unit of work goes on
        with pytest.raises(EntryAlreadyExists) as raised:
            work.projects.new("project")
        refused.append((type(raised.value), str(raised.value)))
        work.projects.new("after the refusal")
    return refused


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows without ``creation_date``, which differs from run to run."""
    rows = snapshot(url)
    tables = CrowdBase.metadata.tables
    kept: dict[str, list[tuple[Any, ...]]] = {}
    for name, found in rows.items():
        columns = [column.name for column in tables[name].columns]
        keep = [i for i, column in enumerate(columns) if column != "creation_date"]
        kept[name] = [tuple(row[i] for i in keep) for row in found]
    return kept


def test_driver_writes_write_what_core_writes(tmp_path: Path, driver_writes: list[str]) -> None:
    with CrowdStore(_url(tmp_path, "driver.sqlite")) as store:
        on_the_driver = _work(store), _refusals(store)
    kinds = {sql.split(" (")[0].split(" SET")[0] for sql in driver_writes}
    assert {"INSERT INTO units", "UPDATE units", "INSERT INTO granted_qualifications"} <= kinds
    assert len(driver_writes) >= 20

    driver_writes.clear()
    through_core: list[str] = []
    with CrowdStore(_url(tmp_path, "core.sqlite")) as store:
        sa.event.listen(store.engine, "before_cursor_execute", lambda *a: through_core.append(a[2]))
        assert (_work(store), _refusals(store)) == on_the_driver
    assert driver_writes == []
    assert any(sql.startswith("INSERT INTO units") for sql in through_core)

    assert _rows(_url(tmp_path, "driver.sqlite")) == _rows(_url(tmp_path, "core.sqlite"))


def test_a_refused_driver_write_names_the_missing_entry_and_changes_nothing(
    store: CrowdStore, driver_writes: list[str], tmp_path: Path
) -> None:
    world = build_world(store)
    before = snapshot(_url(tmp_path, "crowd.sqlite"))
    driver_writes.clear()
    with pytest.raises(EntryDoesNotExist, match="no assignment has assignment_id 99"):
        store.units.new(world.task, world.task_run, world.requester, 99, 0, 0.5, "mock", "x")
    with pytest.raises(EntryAlreadyExists, match="project_name"):
        store.projects.new("project")
    assert snapshot(_url(tmp_path, "crowd.sqlite")) == before
    assert len(driver_writes) == 2


def test_repeated_writes_prepare_their_statements_once(
    store: CrowdStore, driver_writes: list[str]
) -> None:
    # The prepared statements are kept by statement: one built per call would pile up.
    world = build_world(store)
    other = store.projects.new("other")
    task = store.tasks.new("not run yet", "mock", world.project)
    prepared = store._autocommit.writes._prepared  # type: ignore[union-attr]

    def rounds(count: int) -> None:
        for index in range(count):
            store.tasks.update(task, f"task-{index}")
            store.tasks.update(task, project_id=(world.project, other)[index % 2])
            store.units.update_status(world.unit, ("launched", "assigned")[index % 2])

    rounds(2)
    kept = len(prepared)
    driver_writes.clear()
    rounds(20)
    assert len(driver_writes) == 60  # every write ran on the driver
    assert len(prepared) == kept
    assert store.tasks.get(task).task_name == "task-19"
    assert store.tasks.get(task).project_id == other


def test_sql_logged_or_translated_writes_go_through_core(
    tmp_path: Path, driver_writes: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    url = _url(tmp_path, "crowd.sqlite")
    with (
        CrowdStore(url, engine_options={"echo": True}) as echoed,
        caplog.at_level(logging.INFO, logger="sqlalchemy.engine"),
    ):
        echoed.projects.new("logged")
        with echoed.unit_of_work() as work:
            work.projects.new("logged in a unit of work")
    translated = {"execution_options": {"schema_translate_map": {None: "main"}}}
    with CrowdStore(url, engine_options=translated) as store:
        store.projects.new("translated")
    assert driver_writes == []
    assert sum("INSERT INTO projects" in record.getMessage() for record in caplog.records) == 2


def test_an_interrupt_after_a_driver_write_commits_nothing(
    store: CrowdStore, driver_writes: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store.projects.new("before")
    before = snapshot(_url(tmp_path, "crowd.sqlite"))
    original = Prepared.run

    def cut(self: Prepared, driver: sqlite3.Connection, parameters: Any) -> Any:
        cursor = original(self, driver, parameters)
        if parameters.get("project_name", "").startswith("cut"):
            raise KeyboardInterrupt
        return cursor

    monkeypatch.setattr(Prepared, "run", cut)
    with pytest.raises(KeyboardInterrupt):
        store.projects.new("cut alone")
    with (
        pytest.raises(InvalidEntry, match="failed after its write had run"),
        store.unit_of_work() as work,
    ):
        work.projects.new("kept until the end")
        with pytest.raises(KeyboardInterrupt):
            work.projects.new("cut in a unit of work")
    assert snapshot(_url(tmp_path, "crowd.sqlite")) == before
    store.projects.new("after")
    assert [p.project_name for p in store.projects.find()] == ["before", "after"]


def test_a_closed_driver_connection_is_invalidated_not_reused(
    store: CrowdStore, driver_writes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Prepared.run

    def closing(self: Prepared, driver: sqlite3.Connection, parameters: Any) -> Any:
        if parameters.get("project_name") == "lost":
            driver.close()  # what a crashed extension could leave
        return original(self, driver, parameters)

    monkeypatch.setattr(Prepared, "run", closing)
    with pytest.raises(TaskdbError, match="closed database") as raised:
        store.projects.new("lost")
    cause = raised.value.__cause__
    assert isinstance(cause, sa.exc.DBAPIError) and cause.connection_invalidated
    store.projects.new("next")  # on a new connection
    assert [p.project_name for p in store.projects.find()] == ["next"]


def test_prepare_leaves_writes_to_core_where_core_does_more() -> None:
    engine = sa.create_engine("sqlite://")
    metadata = sa.MetaData()
    table = sa.Table(
        "t",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("a", sa.Integer),
        sa.Column("b", sa.Integer, default=lambda: 7),
        sa.Column("c", sa.Boolean, server_default=sa.text("0")),
    )
    assert prepare(table.insert(), engine, ["a"]) is None  # b's default is Python's
    assert prepare(table.insert().returning(table.c.id), engine, ["a", "b"]) is None
    insert = prepare(table.insert(), engine, ["a", "b", "c"])
    update = prepare(table.update().values(c=sa.bindparam("set_c")), engine, ["set_c"])
    assert insert is not None and update is not None
    with engine.begin() as connection:
        metadata.create_all(connection)
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        assert insert.run(driver, {"a": 1, "b": 2, "c": True}).lastrowid == 1
        assert update.run(driver, {"set_c": False}).rowcount == 1
        assert connection.execute(sa.select(table)).all() == [(1, 1, 2, False)]


def _quantum_work(tasks: TaskStore) -> list[object]:
    times = {"submit_time": "2026-12-01T10:00:00", "update_time": "2026-12-01T11:00:00"}
    tasks.save(TaskInfo("t1", "ibm", "running", shots=100, metadata={"k": [1]}, **times))
    tasks.save(TaskInfo("t2", "ibm", "running", **times))
    # An update of every column but the key and the first submit_time.
    tasks.save(TaskInfo("t1", "ibm", "done", shots=200, submit_time="x", update_time="y"))
    deleted = [tasks.delete("t2"), tasks.delete("t2")]
    # update_time is the store's clock at each save.
    return [*deleted, [task.model_dump(exclude={"update_time"}) for task in tasks.list()]]


def test_quantum_writes_on_the_driver_write_what_core_writes(
    tmp_path: Path, driver_writes: list[str]
) -> None:
    with TaskStore(url=_url(tmp_path, "driver.sqlite")) as tasks:
        on_the_driver = _quantum_work(tasks)
    assert len(driver_writes) == 5
    driver_writes.clear()
    with TaskStore(url=_url(tmp_path, "core.sqlite")) as tasks:
        sa.event.listen(tasks.engine, "before_cursor_execute", lambda *a: None)
        assert _quantum_work(tasks) == on_the_driver
    assert driver_writes == []
    assert on_the_driver[:2] == [True, False]
