"""TaskStore on SQLite files: the seed's location, its files, its header and its readers."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

import taskdb.quantum.store as store_module
from taskdb.errors import ForeignDatabase, InvalidEntry, TaskdbError
from taskdb.lifecycle import State, head_revision, read_status
from taskdb.lifecycle.adopt import expected_sqlite_shape
from taskdb.quantum import TaskInfo, TaskStatus, TaskStore
from taskdb.schema.shape import describe
from taskdb.spec import QUANTUM
from tests.support.quantum_seed import SEED_ROWS, UNIC, SeedReader, dump, header, make_seed_file


def tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_default_location_is_the_seed_cache(isolated_home: Path) -> None:
    with TaskStore() as store:
        store.save(TaskInfo(task_id="t1", backend="sim"))
        expected = isolated_home / ".uniqc" / "cache" / "tasks.sqlite"
        assert store.cache_dir == expected.parent
        assert store.db_path == expected
        assert expected.is_file()
        # TASKDB_HOME (set by the autouse fixture) does not move the seed's cache.
        assert not (isolated_home / "taskdb").exists()
    with SeedReader(expected) as seed:
        assert seed.list() == ["t1"]


def test_a_reassigned_default_cache_dir_is_honoured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "DEFAULT_CACHE_DIR", tmp_path / "patched")
    with TaskStore() as store:
        assert store.db_path == tmp_path / "patched" / "tasks.sqlite"
        assert store.db_path.is_file()


def test_cache_dir_is_created_and_many_stores_share_it(tmp_path: Path) -> None:
    directory = tmp_path / "deep" / "cache"
    stores = [TaskStore(directory) for _ in range(3)]
    stores[0].save(TaskInfo(task_id="t1", backend="sim"))
    stores[1].save(TaskInfo(task_id="t2", backend="sim"))
    assert [store.count() for store in stores] == [2, 2, 2]
    assert TaskStore(str(directory)).count() == 2
    for store in stores:
        store.close()


def test_a_url_given_as_cache_dir_is_refused_without_creating_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for url in (f"sqlite:///{tmp_path}/q.sqlite", "postgresql+psycopg://user:secret@db/tasks"):
        with pytest.raises(InvalidEntry, match=re.escape("TaskStore(url=...)")) as refused:
            TaskStore(url)
        assert "secret" not in str(refused.value)
    assert list(tmp_path.iterdir()) == []
    with TaskStore(url=f"sqlite:///{tmp_path}/q.sqlite") as store:  # where it belongs
        assert store.db_path == tmp_path / "q.sqlite"


def test_the_url_variable_is_used_without_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = tmp_path / "env" / "q.sqlite"
    monkeypatch.setenv(QUANTUM.url_env, f"sqlite:///{from_env}")
    with TaskStore() as store:
        assert store.db_path == from_env
        store.save(TaskInfo(task_id="t1", backend="sim"))
    # An explicit cache_dir beats the variable.
    with TaskStore(tmp_path / "explicit") as store:
        assert store.db_path == tmp_path / "explicit" / "tasks.sqlite"
        assert store.count() == 0


def test_taskdb_files_pass_the_seed_checks_and_answer_its_queries(tmp_path: Path) -> None:
    with TaskStore(tmp_path) as store:
        store.save(TaskInfo(task_id="a", backend="sim", submit_time="2024-01-01"))
        store.save(TaskInfo(task_id="b", backend="sim", submit_time="2024-01-02"))
        store.save(TaskInfo(task_id="c", backend="sim", submit_time="2024-01-02"))
        store.save(
            TaskInfo(
                task_id="d",
                backend="ibm",
                status=TaskStatus.RUNNING,
                submit_time="2024-01-01",
                result={"x": "é"},
                metadata={"n": "ü"},
            )
        )
        ours = [task.task_id for task in store.list()]
        db_path = store.db_path
    assert db_path is not None
    assert header(db_path) == (UNIC, 1)
    with SeedReader(db_path) as seed:
        assert seed.list() == ours == ["c", "b", "d", "a"]
        assert seed.list(status="running") == ["d"]
        assert seed.count() == 4
        row = seed.get("d")
        assert row is not None
        assert row["status"] == "running"
        assert row["metadata_json"] == '{"n": "ü"}'
        assert row["result_json"] == '{"x": "\\u00e9"}'


def test_the_sqlite_head_schema_is_the_seed_schema(tmp_path: Path) -> None:
    seed_path = tmp_path / "seed" / "tasks.sqlite"
    make_seed_file(seed_path, rows=())
    with TaskStore(tmp_path / "ours") as store:
        assert store.db_path is not None
        with store.engine.connect() as connection:
            ours = describe(connection, ["tasks"])
    with TaskStore(seed_path.parent) as adopted, adopted.engine.connect() as connection:
        theirs = describe(connection, ["tasks"])
    assert ours == theirs == expected_sqlite_shape(QUANTUM)
    assert tables(tmp_path / "ours" / "tasks.sqlite") == tables(seed_path)


def test_a_seed_file_is_adopted_in_place_row_for_row(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite"
    make_seed_file(path)
    before = dump(path)
    assert len(before) == len(SEED_ROWS)
    store = TaskStore(tmp_path)
    assert dump(path) == before
    assert header(path) == (UNIC, 1)
    status = read_status(store.engine, QUANTUM)
    assert (status.state, status.revision) == (State.CURRENT, head_revision(QUANTUM))
    assert "taskdb_quantum_version" in tables(path)

    # Every operation works on the adopted rows, with the seed's answers.
    assert [task.task_id for task in store.list()] == ["t-4", "t-3", "t-2", "t-1", "t-5"]
    got = store.get("t-2")
    assert got is not None
    assert (got.status, got.result, got.metadata) == ("running", None, {"note": "量子 ünïcode"})
    three = store.get("t-3")
    assert three is not None and three.result == {"error": "échec"}
    four = store.get("t-4")
    assert four is not None and four.status == "queued" and four.result == [1, 2.5, None]
    assert store.count(backend="sim") == 3
    assert store.count(status=TaskStatus.RUNNING) == 1
    assert store.clear_completed() == 2
    assert store.delete("t-5") is True
    assert store.delete("t-5") is False
    store.save(TaskInfo(task_id="t-6", backend="sim", submit_time="2024-01-02T09:00:00"))
    assert [task.task_id for task in store.list()] == ["t-6", "t-4", "t-2"]
    store.close()
    with SeedReader(path) as seed:
        assert seed.list() == ["t-6", "t-4", "t-2"]
    # A second open finds it current and changes nothing.
    again = dump(path)
    TaskStore(tmp_path).close()
    assert dump(path) == again


def test_a_foreign_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA application_id = 0x12345678")
        with connection:
            connection.execute("CREATE TABLE tasks (task_id TEXT PRIMARY KEY, other TEXT)")
            connection.execute("INSERT INTO tasks VALUES ('x', 'y')")
    before = digest(path)
    with pytest.raises(RuntimeError, match="0x12345678") as refused:
        TaskStore(tmp_path)
    assert isinstance(refused.value, ForeignDatabase)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("tasks.sqlite")) == [
        "tasks.sqlite"
    ]


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite"
    path.write_bytes(b"not a database, just some text\n" * 100)
    before = digest(path)
    with pytest.raises(ForeignDatabase):
        TaskStore(tmp_path)
    assert digest(path) == before


def test_clear_all_removes_the_files_and_starts_afresh(tmp_path: Path) -> None:
    store = TaskStore(tmp_path)
    store.save(TaskInfo(task_id="t1", backend="sim"))
    siblings = ["tasks.sqlite", "tasks.sqlite-wal", "tasks.sqlite-shm"]
    assert all((tmp_path / name).exists() for name in siblings)
    store.clear_all()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    # The next call opens a new database through the migrations.
    assert store.count() == 0
    assert header(tmp_path / "tasks.sqlite") == (UNIC, 1)
    store.save(TaskInfo(task_id="t2", backend="sim"))
    assert [task.task_id for task in store.list()] == ["t2"]
    status = read_status(store.engine, QUANTUM)
    assert status.state is State.CURRENT
    store.close()


def dump_of_seed_rows(tmp_path: Path) -> list[tuple[object, ...]]:
    make_seed_file(tmp_path / "reference" / "tasks.sqlite")
    return dump(tmp_path / "reference" / "tasks.sqlite")


def test_clear_all_of_an_adopted_seed_file_starts_a_taskdb_file(tmp_path: Path) -> None:
    make_seed_file(tmp_path / "tasks.sqlite")
    store = TaskStore(tmp_path)
    store.clear_all()
    assert not (tmp_path / "tasks.sqlite").exists()
    # The pre-adoption copy is the user's only copy of the seed's file: it stays.
    assert dump(tmp_path / "tasks.sqlite.legacy.bak") == dump_of_seed_rows(tmp_path)
    assert store.list() == []
    assert header(tmp_path / "tasks.sqlite") == (UNIC, 1)
    store.close()


def test_another_stores_clear_all_is_noticed_not_written_past(tmp_path: Path) -> None:
    first = TaskStore(tmp_path)
    second = TaskStore(tmp_path)
    first.save(TaskInfo("kept-before", "sim"))

    second.clear_all()
    first.save(TaskInfo("after-clear", "sim"))

    fresh = TaskStore(tmp_path)
    assert [task.task_id for task in fresh.list()] == ["after-clear"]
    assert [task.task_id for task in first.list()] == ["after-clear"]
    for store in (first, second, fresh):
        store.close()


def test_saves_racing_clear_all_raise_only_taskdb_errors(tmp_path: Path) -> None:
    store = TaskStore(tmp_path)
    stop = threading.Event()
    unexpected: list[BaseException] = []
    saved: list[str] = []

    def keep_saving() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                store.save(TaskInfo(f"t{n}", "sim"))
                saved.append(f"t{n}")
            except TaskdbError:
                pass  # a save that lands between a delete and the reopen may fail cleanly
            except BaseException as error:  # pragma: no cover - the failure being tested
                unexpected.append(error)

    worker = threading.Thread(target=keep_saving)
    worker.start()
    for _ in range(20):
        store.clear_all()
        time.sleep(0.005)
    stop.set()
    worker.join(timeout=30)

    assert unexpected == []
    assert saved, "no save succeeded while clear_all ran"
    store.clear_all()
    store.save(TaskInfo("last", "sim"))
    assert [task.task_id for task in store.list()] == ["last"]
    store.close()
