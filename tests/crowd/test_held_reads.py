"""SQLite reads on a connection each thread holds: commits seen at once, all released on close."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from taskdb.connections import AutocommitRunner
from taskdb.crowd import CrowdStore
from taskdb.errors import DatabaseError, EntryDoesNotExist
from taskdb.quantum import TaskInfo, TaskStore


def _runner(store: CrowdStore) -> AutocommitRunner:
    runner = store._autocommit
    assert isinstance(runner, AutocommitRunner)
    assert runner._held is not None and runner._writers is not None
    return runner


def _held(store: CrowdStore) -> int:
    """Read connections the store's threads hold."""
    return len(_runner(store)._held or ())


def _writers(store: CrowdStore) -> int:
    """Write connections the store's threads hold."""
    return len(_runner(store)._writers or ())


@pytest.fixture
def store(tmp_path: Path) -> CrowdStore:
    opened = CrowdStore(f"sqlite:///{tmp_path / 'crowd.sqlite'}")
    yield opened
    opened.close()


def test_a_held_reader_sees_a_commit_of_another_thread_at_once(store: CrowdStore) -> None:
    first = store.workers.new("first", "mock")
    assert store.workers.get(first).worker_name == "first"  # this thread now holds a reader
    written: list[int] = []
    writer = threading.Thread(target=lambda: written.append(store.workers.new("second", "mock")))
    writer.start()
    writer.join()

    assert store.workers.get(written[0]).worker_name == "second"
    assert [w.worker_name for w in store.workers.find()] == ["first", "second"]


def test_a_held_reader_sees_a_commit_of_another_process_at_once(
    store: CrowdStore, tmp_path: Path
) -> None:
    assert store.workers.find() == []
    script = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute(\"INSERT INTO workers (worker_name, provider_type) VALUES ('other', 'mock')\")\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "crowd.sqlite")], check=True, timeout=60
    )

    assert [w.worker_name for w in store.workers.find()] == ["other"]


def test_a_held_reader_sees_a_unit_of_work_committed_in_its_own_thread(store: CrowdStore) -> None:
    assert store.projects.find() == []
    with store.unit_of_work() as work:
        project = work.projects.new("inside")
        with pytest.raises(EntryDoesNotExist):
            store.projects.get(project)  # not committed yet: the held reader does not see it

    assert store.projects.get(project).project_name == "inside"


def test_an_idle_held_reader_keeps_no_snapshot_open(store: CrowdStore, tmp_path: Path) -> None:
    for n in range(50):
        store.workers.new(f"w{n}", "mock")
    assert len(store.workers.find()) == 50
    checker = sqlite3.connect(tmp_path / "crowd.sqlite", isolation_level=None)
    try:
        busy, _, _ = checker.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        checker.close()

    assert busy == 0  # an open read transaction would keep the log from being truncated


def test_close_releases_the_reader_of_every_thread(store: CrowdStore) -> None:
    worker = store.workers.new("w", "mock")
    have_read = threading.Barrier(21)
    closed = threading.Event()

    def read() -> None:
        assert store.workers.get(worker).worker_name == "w"
        have_read.wait(timeout=30)
        closed.wait(timeout=30)  # alive while the store closes, holding its reader

    threads = [threading.Thread(target=read) for _ in range(20)]
    for thread in threads:
        thread.start()
    have_read.wait(timeout=30)
    pool = store.engine.pool
    # 20 live threads hold a reader each (more than a default pool of 5 + 10 would give),
    # and this thread holds the writer of its create.
    assert (_held(store), _writers(store)) == (20, 1)
    assert pool.checkedout() == 21

    store.close()
    closed.set()
    for thread in threads:
        thread.join(timeout=60)

    assert pool.checkedout() == 0
    assert _held(store) == _writers(store) == 0


def test_the_readers_of_finished_threads_are_returned_when_another_is_held(
    store: CrowdStore,
) -> None:
    worker = store.workers.new("w", "mock")
    for _ in range(5):
        thread = threading.Thread(target=lambda: store.workers.get(worker))
        thread.start()
        thread.join()

    store.workers.get(worker)

    assert (_held(store), _writers(store)) == (1, 1)  # this thread's, and its create's
    assert store.engine.pool.checkedout() == 2


def test_a_failed_statement_gives_up_its_connection(store: CrowdStore, tmp_path: Path) -> None:
    worker = store.workers.new("w", "mock")
    store.workers.get(worker)
    raw = sqlite3.connect(tmp_path / "crowd.sqlite", isolation_level=None)
    raw.execute("ALTER TABLE workers RENAME TO workers_away")

    with pytest.raises(DatabaseError, match="no such table: workers") as raised:
        store.workers.get(worker)
    assert isinstance(raised.value.__cause__, sa.exc.OperationalError)  # as Core raises it
    assert _held(store) == 0

    raw.execute("ALTER TABLE workers_away RENAME TO workers")
    raw.close()
    assert store.workers.get(worker).worker_name == "w"
    assert _held(store) == 1


def test_a_row_that_does_not_fit_keeps_the_connection(store: CrowdStore, tmp_path: Path) -> None:
    worker = store.workers.new("w", "mock")
    raw = sqlite3.connect(tmp_path / "crowd.sqlite", isolation_level=None)
    raw.execute("UPDATE workers SET provider_type = x'00ff' WHERE worker_id = ?", (worker,))
    raw.close()

    with pytest.raises(DatabaseError, match=f"workers row worker_id={worker} holds values"):
        store.workers.get(worker)
    # The statement ran; only the record failed, which says nothing about the connection.
    assert _held(store) == 1
    other = store.workers.new("v", "mock")
    assert store.workers.get(other).worker_name == "v"


def test_the_quantum_store_reads_every_commit_and_releases_on_close(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tasks.sqlite'}"
    reader, writer = TaskStore(url=url), TaskStore(url=url)
    try:
        assert reader.get("t1") is None
        writer.save(TaskInfo("t1", "ibm", "running"))
        assert reader.get("t1") is not None
        assert reader.count(status="running") == 1
        pool = reader.engine.pool
        assert pool.checkedout() == 1
    finally:
        reader.close()
        writer.close()
    assert pool.checkedout() == 0


def test_a_missing_entry_keeps_the_held_connection(store: CrowdStore) -> None:
    worker = store.workers.new("w", "mock")
    store.workers.get(worker)
    runner = store._autocommit
    with runner.reading() as before:
        pass
    with pytest.raises(EntryDoesNotExist):
        store.workers.get(worker + 1000)
    with runner.reading() as after:
        assert after is before  # an answer about the rows is no reason to reconnect
    assert _held(store) == 1


def test_close_waits_for_a_read_in_progress_to_end(store: CrowdStore) -> None:
    worker = store.workers.new("w", "mock")
    reading, closed = threading.Event(), threading.Event()
    seen: list[object] = []

    def slow_read() -> None:
        with store._autocommit.reading() as connection:
            reading.set()
            closed.wait(timeout=30)  # the store closes while this read holds the connection
            seen.append(connection.exec_driver_sql("SELECT worker_name FROM workers").scalar())
        seen.append(connection.closed)

    thread = threading.Thread(target=slow_read)
    thread.start()
    assert reading.wait(timeout=30)
    store.close()
    closed.set()
    thread.join(timeout=30)

    # The read in progress finished on its connection, which was closed as it ended.
    assert seen == ["w", True]
    assert _held(store) == 0
    assert store.workers.get(worker).worker_name == "w"  # a later read holds a new one


def test_a_pool_the_caller_bounds_is_checked_out_per_read(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crowd.sqlite'}"
    options = {"pool_size": 2, "max_overflow": 0, "pool_timeout": 5}
    with CrowdStore(url, engine_options=options) as store:
        assert store._autocommit._held is None
        worker = store.workers.new("w", "mock")
        names: list[str] = []
        threads = [
            threading.Thread(target=lambda: names.append(store.workers.get(worker).worker_name))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert names == ["w"] * 8
        assert store.engine.pool.checkedout() == 0


def test_an_in_memory_database_opens_and_reads(tmp_path: Path) -> None:
    with CrowdStore("sqlite://") as store:
        assert store._autocommit._held is None
        worker = store.workers.new("w", "mock")
        assert store.workers.get(worker).worker_name == "w"
        assert store.workers.count() == 1
    tasks = TaskStore(url="sqlite://")
    try:
        tasks.save(TaskInfo("t1", "sim"))
        assert tasks.get("t1") is not None
    finally:
        tasks.close()
