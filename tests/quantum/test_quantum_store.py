"""TaskStore on every engine: the seed's operations, return values, ordering and refusals."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from taskdb.engine import create_engine
from taskdb.errors import DatabaseBehind, DatabaseError, InvalidEntry, InvalidType
from taskdb.lifecycle import State, head_revision, read_status, upgrade
from taskdb.quantum import TaskInfo, TaskStatus, TaskStore
from taskdb.quantum.records import MAX_LIMIT
from taskdb.spec import QUANTUM


@pytest.fixture
def store(quantum_url: str) -> Iterator[TaskStore]:
    with TaskStore(url=quantum_url) as opened:
        yield opened


def info(task_id: str, submit_time: str = "2024-01-01T00:00:00", **fields: Any) -> TaskInfo:
    return TaskInfo(
        task_id=task_id, backend=fields.pop("backend", "sim"), submit_time=submit_time, **fields
    )


def raw_rows(store: TaskStore) -> list[dict[str, Any]]:
    with store.engine.connect() as connection:
        result = connection.execute(sa.text("SELECT * FROM tasks ORDER BY task_id"))
        return [dict(row) for row in result.mappings()]


def ids(tasks: list[TaskInfo]) -> list[str]:
    return [task.task_id for task in tasks]


def test_save_then_get_round_trips(store: TaskStore) -> None:
    saved = info(
        "t1",
        status=TaskStatus.RUNNING,
        result={"counts": {"00": 3}, "note": "é"},
        shots=64,
        metadata={"circuit": "量子", "depth": 3},
    )
    assert store.save(saved) is None
    got = store.get("t1")
    assert got is not None
    assert got.to_dict() == {**saved.to_dict(), "status": "running"}
    assert store.get("missing") is None


def test_save_stores_status_values_and_seed_json(store: TaskStore) -> None:
    store.save(info("t1", status=TaskStatus.RUNNING, result={"m": "é"}, metadata={"n": "ü"}))
    [row] = raw_rows(store)
    assert row["status"] == "running"
    assert row["result_json"] == '{"m": "\\u00e9"}'
    assert row["metadata_json"] == '{"n": "ü"}'
    assert row["shots"] == 1000


def test_save_stamps_update_time_and_keeps_the_first_submit_time(store: TaskStore) -> None:
    first = info("t1", "2024-01-01T00:00:00")
    first.update_time = "old"
    store.save(first)
    assert first.update_time != "old"
    [row] = raw_rows(store)
    assert row["update_time"] == first.update_time

    second = info("t1", "2030-01-01T00:00:00", status=TaskStatus.SUCCESS, backend="ibm", shots=5)
    second.result = {"done": True}
    store.save(second)
    [row] = raw_rows(store)
    assert row["submit_time"] == "2024-01-01T00:00:00"
    assert (row["status"], row["backend"], row["shots"]) == ("success", "ibm", 5)
    assert row["result_json"] == '{"done": true}'
    assert row["update_time"] == second.update_time >= first.update_time


def test_list_is_newest_first_with_ties_in_insertion_order(store: TaskStore) -> None:
    tie = "2024-05-05T12:00:00"
    store.save(info("old", "2024-01-01T00:00:00"))
    for name in ("b", "c", "a", "z"):
        store.save(info(name, tie))
    store.save(info("new", "2024-12-31T00:00:00"))
    # Updating a tied row keeps its place, as an upsert keeps the seed's rowid.
    store.save(info("c", tie, status=TaskStatus.SUCCESS))
    assert ids(store.list()) == ["new", "z", "a", "c", "b", "old"]
    assert ids(store.list(limit=3)) == ["new", "z", "a"]
    assert store.list(limit=0) == []


def test_ties_after_delete_and_reinsert_go_to_the_front(store: TaskStore) -> None:
    tie = "2024-05-05T12:00:00"
    for name in ("a", "b", "c"):
        store.save(info(name, tie))
    assert store.delete("a") is True
    store.save(info("a", tie))
    assert ids(store.list()) == ["a", "c", "b"]


def test_list_and_count_filter_by_status_and_backend(store: TaskStore) -> None:
    store.save(info("1", "2024-01-01", status=TaskStatus.RUNNING, backend="sim"))
    store.save(info("2", "2024-01-02", status="running", backend="ibm"))
    store.save(info("3", "2024-01-03", status=TaskStatus.SUCCESS, backend="sim"))
    store.save(info("4", "2024-01-04", status="queued", backend="sim"))
    assert ids(store.list(status=TaskStatus.RUNNING)) == ["2", "1"]
    assert ids(store.list(status="running", backend="sim")) == ["1"]
    assert ids(store.list(backend="sim", limit=2)) == ["4", "3"]
    assert store.count() == 4
    assert store.count(status=TaskStatus.RUNNING) == 2
    assert store.count(backend="ibm") == 1
    assert store.count(status="success", backend="ibm") == 0
    assert store.count(status="queued") == 1


def test_unknown_status_is_kept_and_returned_as_a_string(store: TaskStore) -> None:
    store.save(info("t1", status="queued"))
    got = store.get("t1")
    assert got is not None and got.status == "queued" and type(got.status) is str
    assert store.clear_completed() == 0
    assert store.clear_completed(("queued",)) == 1


def test_known_statuses_come_back_equal_to_the_enum(store: TaskStore) -> None:
    for number, status in enumerate(TaskStatus):
        store.save(info(f"t{number}", status=status))
    for number, status in enumerate(TaskStatus):
        got = store.get(f"t{number}")
        assert got is not None and got.status == status and TaskStatus(got.status) is status


def test_delete_reports_whether_the_task_existed(store: TaskStore) -> None:
    store.save(info("t1"))
    assert store.delete("t1") is True
    assert store.delete("t1") is False
    assert store.delete("") is False
    assert store.count() == 0


def test_clear_completed_returns_how_many_went(store: TaskStore) -> None:
    for task_id, status in [
        ("p", TaskStatus.PENDING),
        ("r", TaskStatus.RUNNING),
        ("s", TaskStatus.SUCCESS),
        ("f", TaskStatus.FAILED),
        ("c", TaskStatus.CANCELLED),
    ]:
        store.save(info(task_id, status=status))
    assert store.clear_completed(()) == 0
    assert store.clear_completed((TaskStatus.FAILED,)) == 1
    assert store.clear_completed() == 2
    assert sorted(ids(store.list())) == ["p", "r"]
    with pytest.raises(InvalidEntry, match="must be a collection of statuses"):
        store.clear_completed("running")  # type: ignore[arg-type]


def test_clear_completed_takes_repeated_and_more_statuses_than_known(store: TaskStore) -> None:
    known = [status.value for status in TaskStatus]
    for status in [*known, "archived"]:
        store.save(info(f"t-{status}", status=status))
    assert store.clear_completed(["success", TaskStatus.SUCCESS, "success"]) == 1
    many = [*known, "archived", "never-used"]
    assert len(set(many)) > len(known)
    assert store.clear_completed(many) == len(known)
    assert store.count() == 0


def test_clear_completed_takes_more_statuses_than_one_statement_can_bind(
    store: TaskStore,
) -> None:
    # PostgreSQL binds at most 65,535 parameters a statement; every engine answers alike.
    for task_id, status in [("keep", "running"), ("first", "s-3"), ("last", "s-69999")]:
        store.save(info(task_id, status=status))
    assert store.clear_completed([f"s-{index}" for index in range(70_000)]) == 2
    assert ids(store.list()) == ["keep"]


def test_clear_all_empties_the_store_and_it_stays_usable(store: TaskStore) -> None:
    store.save(info("t1"))
    store.save(info("t2"))
    assert store.clear_all() is None
    assert store.count() == 0
    store.save(info("t3"))
    assert ids(store.list()) == ["t3"]


@pytest.mark.parametrize(
    "change",
    [
        {"task_id": None},
        {"backend": "a\x00b"},  # PostgreSQL cannot store NUL: refused on every engine
        {"status": "\ud800"},  # not UTF-8: no engine can store it
        {"shots": "100"},
        {"shots": 1.0},
        {"shots": 2**63},  # past a signed 64-bit integer: refused on every engine
        {"shots": -(2**63) - 1},
        {"status": None},
        {"metadata": {"x": "\udfff"}},
        {"result": {"x": object()}},
        {"metadata": {"x": {1, 2}}},
    ],
)
def test_bad_input_writes_nothing(store: TaskStore, change: dict[str, Any]) -> None:
    store.save(info("keep", status=TaskStatus.RUNNING))
    before = raw_rows(store)
    bad = info("keep", status=TaskStatus.SUCCESS)
    bad_update_time = bad.update_time
    for name, value in change.items():
        setattr(bad, name, value)
    with pytest.raises(InvalidEntry):
        store.save(bad)
    assert raw_rows(store) == before
    assert bad.update_time == bad_update_time


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.list(limit="three"),
        lambda s: s.list(limit=float("nan")),
        lambda s: s.list(limit=2**70),
        lambda s: s.list(limit=-(2**70)),
        lambda s: s.list(limit=True),
        lambda s: s.clear_completed(None),
        lambda s: s.clear_completed("success"),
        lambda s: s.clear_completed(("a\x00",)),
        lambda s: s.list(status="a\x00"),
        lambda s: s.count(backend="\ud800"),
        lambda s: s.get(5.0),
        lambda s: s.get(True),
        lambda s: s.get("a\x00b"),
        lambda s: s.delete(None),
        lambda s: s.save({"task_id": "t", "backend": "sim"}),
    ],
)
def test_bad_arguments_are_invalid_entry(store: TaskStore, call: Any) -> None:
    with pytest.raises(InvalidEntry):
        call(store)


@pytest.mark.parametrize(
    "call, kind",
    [
        (lambda s: s.get(1.5), InvalidType),
        (lambda s: s.get(b"t1"), InvalidType),
        (lambda s: s.get("t\x00"), InvalidEntry),  # PostgreSQL refuses NUL even in a query
        (lambda s: s.delete(None), InvalidType),
        (lambda s: s.delete("t\x00"), InvalidEntry),
        (lambda s: s.list(limit=[3]), InvalidType),
        (lambda s: s.list(limit=True), InvalidType),
        (lambda s: s.list(limit="three"), InvalidEntry),
        (lambda s: s.list(limit=float("inf")), InvalidEntry),
        (lambda s: s.list(status=5), InvalidType),
        (lambda s: s.count(status=TaskStatus), InvalidType),
        (lambda s: s.count(backend=b"sim"), InvalidType),
        (lambda s: s.clear_completed("success"), InvalidType),
        (lambda s: s.clear_completed(None), InvalidType),
        (lambda s: s.clear_completed([5]), InvalidType),
        (lambda s: s.save({"task_id": "t", "backend": "sim"}), InvalidType),
        (lambda s: s.save(info("t", result={"x": {1, 2}})), InvalidType),
        (lambda s: s.save(info("t", shots=2**70)), InvalidEntry),
        # A call Python itself refuses: still a TypeError, now also a taskdb error.
        (lambda s: s.get(), InvalidType),
        (lambda s: s.list("running"), InvalidType),
        (lambda s: s.count(bogus=1), InvalidType),
        (lambda s: s.clear_all(True), InvalidType),
    ],
)
def test_wrong_types_are_type_errors_and_bad_values_are_not(
    store: TaskStore, call: Any, kind: type[InvalidEntry]
) -> None:
    store.save(info("t1", status=TaskStatus.SUCCESS))
    before = raw_rows(store)
    with pytest.raises(kind) as raised:
        call(store)
    assert isinstance(raised.value, TypeError) is (kind is InvalidType)
    assert raw_rows(store) == before


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.save(info("\ud800")),
        lambda s: s.save(info("t1", backend="\ud800")),
        lambda s: s.save(info("t1", status="run\ud800")),
        lambda s: s.save(info("t1", submit_time="\udfff")),
        lambda s: s.save(info("t1", metadata={"k": "\ud800"})),
        lambda s: s.save(info("t1", metadata={"\ud800": 1})),
        lambda s: s.get("\ud800"),
        lambda s: s.delete("a\udfffb"),
        lambda s: s.list(status="\ud800"),
        lambda s: s.list(backend="\ud800"),
        lambda s: s.count(backend="\ud800"),
        lambda s: s.clear_completed(("success", "\ud800")),
    ],
)
def test_a_lone_surrogate_is_invalid_entry_and_writes_nothing(store: TaskStore, call: Any) -> None:
    # It used to escape as the driver's UnicodeEncodeError (the crowd store refused it).
    store.save(info("t1", status=TaskStatus.SUCCESS))
    before = raw_rows(store)
    with pytest.raises(InvalidEntry, match="surrogate") as raised:
        call(store)
    assert not isinstance(raised.value, TypeError)
    assert raw_rows(store) == before


def test_a_limit_past_32_bits_is_a_limit_on_every_engine(store: TaskStore) -> None:
    # PostgreSQL read the limit as a 32-bit int: 2**31 failed there with DatabaseError.
    for number in (1, 2):
        store.save(info(f"t{number}"))
    assert len(store.list(limit=2**31)) == 2
    assert len(store.list(limit=MAX_LIMIT)) == 2
    assert len(store.list(limit=float(2**31))) == 2  # int() of it, as the seed


def test_the_store_reuses_its_connections(store: TaskStore) -> None:
    connects: list[object] = []
    sa.event.listen(store.engine, "connect", lambda *_: connects.append(1))
    store.engine.dispose()
    for number in range(50):
        store.save(info(f"t{number}"))
        store.get(f"t{number}")
        store.count()
        store.list(limit=1)
    assert store.count() == 50
    assert 1 <= len(connects) <= 2


def test_a_fresh_database_is_built_by_the_migrations(target: Any) -> None:
    url = target.fresh_url("quantum")
    if target.is_server:
        # Servers are upgraded explicitly; the refusal names the command.
        with pytest.raises(DatabaseBehind, match="upgrade") as refused:
            TaskStore(url=url)
        assert isinstance(refused.value, RuntimeError)
        return
    with TaskStore(url=url) as store:
        store.save(info("t1"))
        status = read_status(store.engine, QUANTUM)
        assert status.state is State.CURRENT and status.revision == head_revision(QUANTUM)


def test_a_server_database_behind_head_is_refused(server_target: Any) -> None:
    url = server_target.fresh_url("quantum")
    engine = create_engine(url, QUANTUM)
    try:
        upgrade(engine, QUANTUM, "quantum_0001")
    finally:
        engine.dispose()
    with pytest.raises(DatabaseBehind, match="quantum_0001"):
        TaskStore(url=url)


def test_url_and_cache_dir_together_are_refused(quantum_url: str, tmp_path: Any) -> None:
    with pytest.raises(InvalidEntry, match="not both"):
        TaskStore(tmp_path, url=quantum_url)


def test_threads_share_one_store(store: TaskStore) -> None:
    def work(worker: int) -> int:
        for number in range(50):
            store.save(info(f"w{worker}-{number}", backend=f"b{worker}"))
        return store.count(backend=f"b{worker}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(work, range(4))) == [50, 50, 50, 50]
    assert store.count() == 200


def test_empty_strings_are_stored_filtered_and_cleared(store: TaskStore) -> None:
    store.save(TaskInfo("", "", status="", submit_time=""))
    store.save(info("blank-status", status="", backend="ibm"))
    store.save(info("blank-backend", status=TaskStatus.SUCCESS, backend=""))
    store.save(info("spaces", status=" ", backend=" "))
    got = store.get("")
    assert got is not None
    assert (got.backend, got.status, got.submit_time) == ("", "", "")
    assert sorted(ids(store.list(status=""))) == ["", "blank-status"]
    assert sorted(ids(store.list(backend=""))) == ["", "blank-backend"]
    assert ids(store.list(status="", backend="")) == [""]
    assert store.count(status="") == 2
    assert store.count(backend="") == 2
    assert store.count(status=" ", backend=" ") == 1
    assert store.clear_completed(("",)) == 2
    assert sorted(ids(store.list())) == ["blank-backend", "spaces"]
    assert store.delete("") is False


@pytest.mark.parametrize("shots", [2**40, -5, 0, 2**31, -(2**31) - 1, 2**63 - 1, -(2**63)])
def test_shots_are_64_bit_integers_on_every_engine(store: TaskStore, shots: int) -> None:
    store.save(info("t1", shots=shots))
    [row] = raw_rows(store)
    assert row["shots"] == shots
    got = store.get("t1")
    assert got is not None and got.shots == shots


def test_integer_task_ids_are_their_text(store: TaskStore) -> None:
    saved = TaskInfo(123, "sim")
    assert saved.task_id == "123"
    store.save(saved)
    late = info("t")
    late.task_id = -7  # type: ignore[assignment]  # assignment is not validated; save() is
    store.save(late)
    assert sorted(row["task_id"] for row in raw_rows(store)) == ["-7", "123"]
    for wanted in (123, "123"):
        got = store.get(wanted)
        assert got is not None and got.task_id == "123"
    assert store.get(-7) is not None
    assert store.get(12) is None
    assert store.delete(123) is True
    assert store.delete("123") is False
    assert store.delete(-7) is True


def test_a_negative_limit_means_no_limit(store: TaskStore) -> None:
    for n in range(4):
        store.save(info(f"t{n}", submit_time=f"2024-01-0{n + 1}T00:00:00"))
    everything = ["t3", "t2", "t1", "t0"]
    assert ids(store.list()) == everything
    assert ids(store.list(limit=-1)) == everything
    assert ids(store.list(limit=-(2**63))) == everything
    assert ids(store.list(limit="-5")) == everything  # type: ignore[arg-type]
    assert ids(store.list(limit=-1, backend="sim")) == everything


def test_limit_accepts_what_the_seeds_int_accepted(store: TaskStore) -> None:
    for n in range(4):
        store.save(info(f"t{n}", submit_time=f"2024-01-0{n + 1}T00:00:00"))
    assert ids(store.list(limit="2")) == ["t3", "t2"]  # type: ignore[arg-type]
    assert ids(store.list(limit=3.0)) == ["t3", "t2", "t1"]  # type: ignore[arg-type]
    assert store.list(limit=0) == []


def test_a_stored_value_of_the_wrong_type_is_a_database_error(tmp_path: Path) -> None:
    store = TaskStore(cache_dir=tmp_path)
    try:
        store.save(info("t1"))
        raw = sqlite3.connect(tmp_path / "tasks.sqlite")
        raw.execute("UPDATE tasks SET shots = 'many'")  # SQLite keeps text in an INTEGER column
        raw.commit()
        raw.close()
        for call in (lambda: store.get("t1"), store.list):
            with pytest.raises(DatabaseError, match=r"task 't1' holds values .* shots='many'"):
                call()
        raw = sqlite3.connect(tmp_path / "tasks.sqlite")
        raw.execute("UPDATE tasks SET shots = 2000.0")  # a float the seed stored as given
        raw.commit()
        raw.close()
        assert store.get("t1").shots == 2000  # type: ignore[union-attr]
        raw = sqlite3.connect(tmp_path / "tasks.sqlite")
        raw.execute("UPDATE tasks SET shots = 2.5")
        raw.commit()
        raw.close()
        with pytest.raises(DatabaseError, match=r"shots=2\.5"):
            store.get("t1")
    finally:
        store.close()


def test_limit_and_offset_page_through_the_list_in_its_order(store: TaskStore) -> None:
    for n in range(7):
        backend = "sim" if n % 2 else "ibm"
        store.save(info(f"t{n}", backend=backend, submit_time=f"2024-01-0{n + 1}T00:00:00"))
    everything = ids(store.list())
    pages = [ids(store.list(limit=3, offset=start)) for start in range(0, 9, 3)]
    assert pages == [everything[0:3], everything[3:6], everything[6:]]
    assert ids(store.list(offset=5)) == everything[5:]  # an offset alone: the rest
    assert ids(store.list(offset=0)) == everything
    assert ids(store.list(backend="sim", limit=2, offset=1)) == ["t3", "t1"]
    assert store.count(backend="sim") == 3
    assert store.list(offset=7) == []


@pytest.mark.parametrize(
    ("offset", "kind"),
    [
        (-1, InvalidEntry),
        (2**63, InvalidEntry),
        ("2", InvalidType),
        (True, InvalidType),
        (1.0, InvalidType),
    ],
)
def test_a_bad_offset_is_refused(store: TaskStore, offset: Any, kind: type[InvalidEntry]) -> None:
    with pytest.raises(kind, match="offset"):
        store.list(offset=offset)


@pytest.mark.parametrize(
    "cache_dir, kind",
    [(object(), InvalidType), (5, InvalidType), (b"dir", InvalidType), ("a\x00b", InvalidEntry)],
)
def test_a_cache_dir_that_is_no_folder_name_is_refused(
    cache_dir: Any, kind: type[InvalidEntry]
) -> None:
    with pytest.raises(kind, match="cache_dir") as raised:
        TaskStore(cache_dir)
    assert isinstance(raised.value, TypeError) is (kind is InvalidType)


def test_a_cache_dir_that_cannot_be_made_is_database_error(tmp_path: Any) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(DatabaseError, match="cannot create the cache directory") as raised:
        TaskStore(tmp_path / "file" / "cache")
    assert isinstance(raised.value.__cause__, OSError)


def test_a_value_over_mariadb_s_packet_limit_says_so_and_the_store_goes_on(
    mysql_target: Any,
) -> None:
    with TaskStore(url=mysql_target.migrated_url(QUANTUM)) as store:
        with pytest.raises(DatabaseError, match="max_allowed_packet"):
            store.save(info("big", result="x" * (17 * 2**20)))  # over the 16 MiB default
        store.save(info("small"))
        assert ids(store.list()) == ["small"]
