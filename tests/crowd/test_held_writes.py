"""SQLite writes on a connection each thread holds: no lock or snapshot kept between calls."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from taskdb.connections import AutocommitRunner, HeldWriters
from taskdb.crowd import CrowdStore
from taskdb.errors import EntryAlreadyExists, EntryDoesNotExist, InvalidEntry
from taskdb.quantum import TaskInfo, TaskStore


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "crowd.sqlite"


@pytest.fixture
def store(path: Path) -> Iterator[CrowdStore]:
    with CrowdStore(f"sqlite:///{path}") as opened:
        yield opened


def _writers(store: CrowdStore) -> HeldWriters:
    runner = store._autocommit
    assert isinstance(runner, AutocommitRunner) and runner._writers is not None
    return runner._writers


def _writer_connection(store: CrowdStore) -> sa.Connection:
    with _writers(store).connected() as connection:
        return connection


def test_after_a_write_another_process_writes_and_checkpoints_at_once(
    store: CrowdStore, path: Path
) -> None:
    store.workers.new("mine", "mock")
    script = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)\n"
        "c.execute('BEGIN IMMEDIATE')\n"  # fails at once if a lock were still held
        "c.execute(\"INSERT INTO workers (worker_name, provider_type) VALUES ('other', 'mock')\")\n"
        "c.execute('COMMIT')\n"
        "print(*c.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchone())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )

    busy, _, _ = done.stdout.split()
    assert busy == "0"  # no snapshot of the held writer stood in the way
    assert [w.worker_name for w in store.workers.find()] == ["mine", "other"]
    assert _writers(store).__len__() == 1


def test_a_write_of_another_thread_is_seen_and_each_thread_holds_its_own(
    store: CrowdStore,
) -> None:
    first = store.workers.new("first", "mock")
    written: list[int] = []
    other = threading.Thread(target=lambda: written.append(store.workers.new("second", "mock")))
    other.start()
    other.join(timeout=60)

    assert store.workers.get(written[0]).worker_name == "second"
    assert store.workers.get(first).worker_name == "first"
    assert len(_writers(store)) == 2


def test_close_releases_the_writer_of_every_thread(store: CrowdStore) -> None:
    have_written = threading.Barrier(9)
    closed = threading.Event()

    def write(n: int) -> None:
        store.workers.new(f"w{n}", "mock")
        have_written.wait(timeout=30)
        closed.wait(timeout=30)  # alive while the store closes, holding its writer

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    have_written.wait(timeout=30)
    pool = store.engine.pool
    assert len(_writers(store)) == 8

    store.close()
    closed.set()
    for thread in threads:
        thread.join(timeout=60)

    assert len(_writers(store)) == 0
    assert pool.checkedout() == 0


def test_writes_and_units_of_work_share_the_thread_s_connection(store: CrowdStore) -> None:
    held = _writer_connection(store)
    project = store.projects.new("p")
    with store.unit_of_work() as work:
        work.tasks.new("t", "mock-task", project)
    store.projects.new("q")

    assert _writer_connection(store) is held
    assert not held.in_transaction()
    assert store.engine.pool.checkedout() == 1  # this thread's writer; no reader yet
    assert [p.project_name for p in store.projects.find()] == ["p", "q"]


def test_a_refused_write_keeps_the_connection_and_changes_nothing(
    store: CrowdStore, path: Path
) -> None:
    held = _writer_connection(store)
    store.projects.new("p")
    with pytest.raises(EntryAlreadyExists):
        store.projects.new("p")
    with pytest.raises(EntryDoesNotExist):
        store.tasks.new("t", "mock-task", 999)

    assert _writer_connection(store) is held
    assert not held.in_transaction()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("SELECT project_name FROM projects").fetchall() == [("p",)]
        assert raw.execute("SELECT count(*) FROM tasks").fetchone() == (0,)
    finally:
        raw.close()


def test_an_interrupted_write_gives_up_its_connection(store: CrowdStore) -> None:
    held = _writer_connection(store)

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    sa.event.listen(store.engine, "before_cursor_execute", interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            store.projects.new("cut")
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", interrupt)

    assert held.closed
    assert _writer_connection(store) is not held
    assert store.projects.find() == []
    assert store.projects.get(store.projects.new("after")).project_name == "after"


def test_a_failed_unit_of_work_keeps_the_connection_clean(store: CrowdStore) -> None:
    held = _writer_connection(store)
    with pytest.raises(ValueError, match="caller"), store.unit_of_work() as work:
        work.projects.new("undone")
        raise ValueError("the caller's own error")

    assert not held.in_transaction()
    assert _writer_connection(store) is held
    assert store.projects.find() == []


def test_a_write_while_the_thread_s_writer_is_busy_checks_one_out(store: CrowdStore) -> None:
    writers = _writers(store)
    with writers.connected() as busy, writers.transaction() as other:
        assert other is not busy
        other.execute(sa.text("INSERT INTO projects (project_name) VALUES ('beside')"))
    assert [p.project_name for p in store.projects.find()] == ["beside"]


def test_a_unit_of_work_refuses_store_writes_on_its_thread(store: CrowdStore) -> None:
    with store.unit_of_work() as work:
        work.projects.new("inside")
        with pytest.raises(InvalidEntry, match="write through the repositories it yields"):
            store.projects.new("outside")
    assert [p.project_name for p in store.projects.find()] == ["inside"]


def test_the_quantum_store_releases_its_writer_on_close(tmp_path: Path) -> None:
    store = TaskStore(url=f"sqlite:///{tmp_path / 'tasks.sqlite'}")
    try:
        store.save(TaskInfo("t1", "ibm", "running"))
        store.save(TaskInfo("t1", "ibm", "done"))
        store.delete("t1")
        pool = store.engine.pool
        assert pool.checkedout() == 1  # the writer; no read ran
    finally:
        store.close()
    assert pool.checkedout() == 0


def _statements(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("sqlalchemy.engine")]


def test_logging_turned_on_after_a_thread_s_first_calls_logs_its_next_ones(
    store: CrowdStore, caplog: pytest.LogCaptureFixture
) -> None:
    first = store.projects.new("before")
    store.projects.get(first)
    held = _writer_connection(store)

    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
        second = store.projects.new("logged")
        store.projects.get(second)
    logged = _statements(caplog)

    assert any(s.startswith("INSERT INTO projects") for s in logged)
    assert any(s.startswith("SELECT") and "FROM projects" in s for s in logged)
    assert _writer_connection(store) is not held  # made anew, as it logs now
    caplog.clear()
    store.projects.new("quiet again")
    assert _statements(caplog) == []
    assert [p.project_name for p in store.projects.find()] == ["before", "logged", "quiet again"]


def test_a_session_kept_past_its_unit_of_work_cannot_write_later(store: CrowdStore) -> None:
    with store.unit_of_work() as work, work.session() as session:
        session.execute(sa.text("INSERT INTO projects (project_name) VALUES ('inside')"))
        kept = session

    with pytest.raises(sa.exc.InvalidRequestError, match="closed"):
        kept.execute(sa.text("INSERT INTO projects (project_name) VALUES ('late')"))
    assert not _writer_connection(store).in_transaction()
    store.projects.new("after")
    assert [p.project_name for p in store.projects.find()] == ["inside", "after"]


def test_a_connection_left_in_a_transaction_is_refused_and_dropped(store: CrowdStore) -> None:
    held = _writer_connection(store)
    held.begin()
    held.execute(sa.text("INSERT INTO projects (project_name) VALUES ('left open')"))

    with pytest.raises(InvalidEntry, match="left inside a transaction"):
        store.projects.new("refused")

    assert held.closed
    store.projects.new("after")
    assert [p.project_name for p in store.projects.find()] == ["after"]


def test_a_write_from_a_listener_inside_a_write_is_refused_at_once(store: CrowdStore) -> None:
    def write_again(*_: object) -> None:
        store.workers.new("nested", "mock")

    sa.event.listen(store.engine, "after_cursor_execute", write_again, once=True)
    with pytest.raises(InvalidEntry, match="inside another write of this thread"):
        store.projects.new("outer")

    assert store.projects.find() == []
    assert store.workers.find() == []
    store.projects.new("after")
    assert [p.project_name for p in store.projects.find()] == ["after"]


def test_calls_after_close_hold_nothing_and_still_refuse_a_nested_write(
    store: CrowdStore,
) -> None:
    runner = store._autocommit
    assert runner._held is not None and runner._writers is not None
    store.close()

    late = store.projects.new("late")
    assert [p.project_name for p in store.projects.find()] == ["late"]
    assert store.projects.get(late).project_name == "late"

    def write_again(*_: object) -> None:
        store.workers.new("nested", "mock")

    sa.event.listen(store.engine, "after_cursor_execute", write_again, once=True)
    with pytest.raises(InvalidEntry, match="inside another write of this thread"):
        store.projects.new("outer")

    assert len(runner._held) == len(runner._writers) == 0
    assert store.engine.pool.checkedout() == 0
    assert [p.project_name for p in store.projects.find()] == ["late"]


def test_a_connection_kept_from_a_unit_of_work_s_session_is_closed_with_it(
    store: CrowdStore,
) -> None:
    with store.unit_of_work() as work:
        with work.session() as session:
            kept = session.connection()
            kept.execute(sa.text("INSERT INTO projects (project_name) VALUES ('inside')"))
        work.projects.new("also inside")

    assert kept.closed
    with pytest.raises(sa.exc.ResourceClosedError):
        kept.execute(sa.text("INSERT INTO projects (project_name) VALUES ('late')"))
    store.projects.new("after")
    assert _writer_connection(store) is not kept
    assert [p.project_name for p in store.projects.find()] == ["inside", "also inside", "after"]


def test_a_unit_of_work_without_a_session_keeps_its_thread_s_connection(
    store: CrowdStore,
) -> None:
    with store.unit_of_work() as work:
        work.projects.new("first")
    held = _writer_connection(store)
    with store.unit_of_work() as work:
        work.projects.new("second")
    assert _writer_connection(store) is held and not held.closed
