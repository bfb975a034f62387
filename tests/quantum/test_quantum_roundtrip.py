"""Every row of an adopted seed file can be read, filtered by its own values and saved back.

The file is filled the way the seed's ``TaskStore.save`` fills it, with the odd values the
seed accepted (empty strings, 64-bit and negative shots, integer task ids its TEXT column
turned into text, non-dict metadata, ...). Each row is then read, found by each of its own
values, and saved back through taskdb; the stored rows must not change except for the
``update_time`` that every save stamps. The same rows are copied to PostgreSQL and MariaDB
(``taskdb.tools.copy``) and round-tripped there too.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from taskdb.errors import InvalidEntry
from taskdb.quantum import TaskStatus, TaskStore
from taskdb.spec import QUANTUM
from taskdb.tools.copy import copy_database
from tests.support.engines import Target
from tests.support.quantum_seed import COLUMNS, dump, make_seed_file, seed_params, seed_save

TIE = "2024-03-01T12:00:00"

# Keyword arguments of the seed's TaskInfo, saved by the seed's save(): all accepted by it.
ODD_TASKS: tuple[dict[str, Any], ...] = (
    {"task_id": "", "backend": "sim", "status": "success"},
    {"task_id": "status-empty", "backend": "sim", "status": ""},
    {"task_id": "backend-empty", "backend": "", "status": "running"},
    {"task_id": "all-empty", "backend": "", "status": "", "submit_time": ""},
    {"task_id": "shots-2^40", "backend": "ibm", "shots": 2**40},
    {"task_id": "shots-negative", "backend": "ibm", "shots": -5},
    {"task_id": "shots-max", "backend": "ibm", "shots": 2**63 - 1},
    {"task_id": "shots-min", "backend": "ibm", "shots": -(2**63)},
    {"task_id": "shots-zero", "backend": "ibm", "shots": 0},
    {"task_id": "shots-text", "backend": "ibm", "shots": "10"},  # the seed's int("10")
    {"task_id": "shots-float", "backend": "ibm", "shots": 2.9},  # int(2.9) == 2
    {"task_id": "shots-bool", "backend": "ibm", "shots": True},
    {"task_id": 123, "backend": "sim"},  # the TEXT column stores '123'
    {"task_id": -7, "backend": "sim"},
    {"task_id": 2**63 - 1, "backend": "sim"},
    {"task_id": "007", "backend": "sim"},  # numeric-looking text stays as it is
    {"task_id": "   ", "backend": " sim ", "status": " running"},
    {"task_id": "case", "backend": "SIM", "status": "RUNNING"},
    {"task_id": "status-none", "backend": "sim", "status": None},  # str(None): 'None'
    {"task_id": "status-enum", "backend": "sim", "status": TaskStatus.CANCELLED},
    {"task_id": "queued", "backend": "sim", "status": "queued"},
    {
        "task_id": "unicode-量子",
        "backend": "ünïcode",
        "status": "løbende",
        "metadata": {"note": "量子 ü"},
        "result": {"msg": "échec"},
    },
    {"task_id": "emoji-🧪", "backend": "🧪", "status": "✓"},
    {"task_id": "backend-int", "backend": 5},  # the TEXT column stores '5'
    {"task_id": "submit-odd", "backend": "sim", "submit_time": "not a timestamp"},
    {"task_id": "tie-a", "backend": "sim", "submit_time": TIE},
    {"task_id": "tie-b", "backend": "sim", "submit_time": TIE},
    {"task_id": "metadata-list", "backend": "sim", "metadata": [1, 2]},
    {"task_id": "metadata-text", "backend": "sim", "metadata": "text"},
    {"task_id": "metadata-number", "backend": "sim", "metadata": 7},
    {"task_id": "metadata-empty-list", "backend": "sim", "metadata": []},
    {"task_id": "metadata-nested", "backend": "sim", "metadata": {"a": {"b": [None, 1.5]}}},
    {"task_id": "result-empty-text", "backend": "sim", "result": ""},
    {"task_id": "result-zero", "backend": "sim", "result": 0},
    {"task_id": "result-false", "backend": "sim", "result": False},
    {"task_id": "result-empty-dict", "backend": "sim", "result": {}},
    {"task_id": "result-nan", "backend": "sim", "result": {"x": float("nan"), "y": -0.0}},
    {"task_id": "result-int-keys", "backend": "sim", "result": {1: "one"}},
    {"task_id": "result-surrogate", "backend": "sim", "result": {"s": "\ud800"}},  # escaped
    {"task_id": "result-big-int", "backend": "sim", "result": {"n": 2**100}},
    {"task_id": "long-" + "x" * 250, "backend": "b" * 255, "status": "s" * 255},
    {"task_id": "control", "backend": "tab\there", "status": "new\nline"},
)
# Saved twice by the seed: the second save keeps the first submit_time.
RESAVED = {"task_id": "shots-2^40", "backend": "ibm", "shots": 2**40 + 1, "submit_time": "x"}

SEED_TIME_COLUMN = COLUMNS.index("update_time")


@pytest.fixture
def seed_path(tmp_path: Path) -> Path:
    """A seed-made cache: the support module's rows, then the odd ones, by the seed's save."""
    path = tmp_path / "cache" / "tasks.sqlite"
    make_seed_file(path)
    seed_save(path, [*ODD_TASKS, RESAVED])
    return path


Row = dict[str, Any]


def rows_of(store: TaskStore) -> list[Row]:
    """The stored rows in insertion order (rowid, or insert_seq on servers), every column."""
    order = "rowid" if store.db_path is not None else "insert_seq"
    extra = "rowid AS rowid_" if order == "rowid" else "insert_seq"
    with store.engine.connect() as connection:
        result = connection.exec_driver_sql(
            f"SELECT {', '.join(COLUMNS)}, {extra} FROM tasks ORDER BY {order}"
        )
        return [dict(row) for row in result.mappings()]


def without_update_time(rows: list[Row]) -> list[Row]:
    return [{k: v for k, v in row.items() if k != "update_time"} for row in rows]


def ids(tasks: list[Any]) -> list[str]:
    return [task.task_id for task in tasks]


def round_trip(store: TaskStore) -> None:
    """Read, filter by its own values and save back every row; only update_time moves."""
    before = rows_of(store)
    newest_first = ids(store.list())
    assert ids(store.list(limit=-1)) == newest_first
    assert len(newest_first) == store.count() == len(before)
    statuses = Counter(row["status"] for row in before)
    backends = Counter(row["backend"] for row in before)
    pairs = Counter((row["status"], row["backend"]) for row in before)
    stamped: dict[str, str] = {}

    for row in before:
        task_id = row["task_id"]
        got = store.get(task_id)
        assert got is not None, task_id
        assert (got.task_id, got.backend, got.status, got.shots, got.submit_time) == (
            task_id,
            row["backend"],
            row["status"],
            row["shots"],
            row["submit_time"],
        )
        if re.fullmatch(r"-?[1-9][0-9]*", task_id):
            # The seed's get(123) found '123' through the column's affinity.
            by_number = store.get(int(task_id))
            assert by_number is not None and by_number.task_id == task_id
        status, backend = row["status"], row["backend"]
        assert task_id in ids(store.list(status=status)), (task_id, status)
        assert task_id in ids(store.list(backend=backend)), (task_id, backend)
        assert task_id in ids(store.list(status=status, backend=backend, limit=-1))
        assert store.count(status=status) == statuses[status]
        assert store.count(backend=backend) == backends[backend]
        assert store.count(status=status, backend=backend) == pairs[(status, backend)]
        store.save(got)
        stamped[task_id] = got.update_time

    after = rows_of(store)
    assert without_update_time(after) == without_update_time(before)
    assert {row["task_id"]: row["update_time"] for row in after} == stamped
    assert ids(store.list()) == newest_first
    # Numeric-looking text is not a number: the seed's get(7) did not find '007' either.
    assert store.get(7) is None and store.get("007") is not None

    # The rows with an empty status can be cleared, and only they.
    assert store.clear_completed(("",)) == statuses[""] > 0
    assert store.count() == len(before) - statuses[""]


def test_the_seed_file_holds_the_odd_values_as_the_seed_stored_them(seed_path: Path) -> None:
    stored = {row[1]: row for row in dump(seed_path)}
    kinds = {name: index for index, name in enumerate(("rowid", *COLUMNS))}

    def value(task_id: str, column: str) -> Any:
        return stored[task_id][kinds[column]]

    def kind(task_id: str, column: str) -> str:
        return str(stored[task_id][len(kinds) + kinds[column] - 1])

    assert (value("123", "task_id"), kind("123", "task_id")) == ("123", "text")
    assert value(str(2**63 - 1), "task_id") == str(2**63 - 1)
    assert (value("backend-int", "backend"), kind("backend-int", "backend")) == ("5", "text")
    assert (value("shots-2^40", "shots"), kind("shots-2^40", "shots")) == (2**40 + 1, "integer")
    assert value("shots-2^40", "submit_time") != "x"
    assert value("shots-min", "shots") == -(2**63)
    assert value("shots-text", "shots") == 10 and value("shots-float", "shots") == 2
    assert value("status-none", "status") == "None"
    assert value("status-enum", "status") == "cancelled"
    assert value("metadata-list", "metadata_json") == "[1, 2]"
    assert value("metadata-empty-list", "metadata_json") == "{}"
    assert value("result-nan", "result_json") == '{"x": NaN, "y": -0.0}'
    assert value("result-surrogate", "result_json") == '{"s": "\\ud800"}'


def test_every_row_of_an_adopted_seed_file_round_trips(seed_path: Path) -> None:
    before = dump(seed_path)
    with TaskStore(seed_path.parent) as store:
        assert dump(seed_path) == before  # adoption touches no row
        round_trip(store)

    # Byte for byte, storage classes included, but for the stamped update_time.
    after = dump(seed_path)
    rows_after = {row[1]: row for row in after}
    for row in before:
        if row[COLUMNS.index("status") + 1] == "":
            assert row[1] not in rows_after  # cleared by the round trip's last step
            continue
        saved = rows_after[row[1]]
        time_at = SEED_TIME_COLUMN + 1
        kind_at = 1 + len(COLUMNS) + SEED_TIME_COLUMN
        assert saved[kind_at] == "text"
        assert saved[:time_at] + saved[time_at + 1 :] == row[:time_at] + row[time_at + 1 :]


def test_the_same_rows_round_trip_on_the_servers(seed_path: Path, server_target: Target) -> None:
    with TaskStore(seed_path.parent) as adopted:
        expected_order = ids(adopted.list())
        source_rows = rows_of(adopted)
    target_url = server_target.migrated_url(QUANTUM)
    copied = copy_database(QUANTUM, f"sqlite:///{seed_path}", target_url)
    assert copied == {"tasks": len(source_rows)}

    with TaskStore(url=target_url) as store:
        server_rows = rows_of(store)
        strip = ("rowid_", "insert_seq")

        def values(rows: list[Row]) -> list[Row]:
            return [{k: v for k, v in row.items() if k not in strip} for row in rows]

        # 2**63 - 1 shots and the rest arrive exactly (BIGINT since quantum_0003).
        assert values(server_rows) == values(source_rows)
        assert ids(store.list()) == expected_order
        round_trip(store)


def _raw_nul_rows(path: Path) -> None:
    # The seed's sqlite3 bound text with its length: SQLite kept the NUL characters.
    seed_save(
        path,
        [
            {"task_id": "nul-status", "backend": "sim", "status": "run\x00ning"},
            {"task_id": "nul\x00id", "backend": "sim"},
        ],
    )


def test_rows_with_nul_stay_readable_but_cannot_be_saved_or_looked_up(tmp_path: Path) -> None:
    """The documented exception: PostgreSQL cannot hold NUL, so no engine takes it."""
    path = tmp_path / "tasks.sqlite"
    make_seed_file(path, rows=())
    _raw_nul_rows(path)
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute(
            "SELECT status FROM tasks WHERE task_id = 'nul-status'"
        ).fetchone() == ("run\x00ning",)
    before = dump(path)
    with TaskStore(tmp_path) as store:
        assert sorted(ids(store.list())) == ["nul\x00id", "nul-status"]
        got = store.get("nul-status")
        assert got is not None and got.status == "run\x00ning"
        with pytest.raises(InvalidEntry, match="NUL"):
            store.save(got)
        with pytest.raises(InvalidEntry, match="NUL"):
            store.list(status="run\x00ning")
        with pytest.raises(InvalidEntry, match="NUL"):
            store.get("nul\x00id")
        assert store.count(backend="sim") == 2
    assert dump(path) == before


def test_json_of_seed_rows_is_written_back_as_it_was() -> None:
    # What the round trip relies on: loads then dumps gives the seed's text back.
    for task in ODD_TASKS:
        params = seed_params(**task)
        for column, ascii_only in (("result_json", True), ("metadata_json", False)):
            text = params[column]
            if text:
                assert json.dumps(json.loads(text), ensure_ascii=ascii_only) == text
