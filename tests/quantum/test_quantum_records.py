"""TaskInfo, TaskStatus and the row conversion, without a database."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import taskdb.quantum as quantum
from taskdb.assembled import can_assemble
from taskdb.errors import InvalidEntry, InvalidType
from taskdb.quantum import TaskInfo, TaskStatus, TaskStore
from taskdb.quantum.records import from_row, to_row

SEED_FIELDS = [
    "task_id",
    "backend",
    "status",
    "result",
    "shots",
    "submit_time",
    "update_time",
    "metadata",
]


def test_status_is_a_str_enum_with_the_seed_values() -> None:
    assert [status.value for status in TaskStatus] == [
        "pending",
        "running",
        "success",
        "failed",
        "cancelled",
    ]
    assert isinstance(TaskStatus.RUNNING, str)
    assert TaskStatus.RUNNING == "running"
    assert {"running": 1}[TaskStatus.RUNNING] == 1


def test_defaults_match_the_seed() -> None:
    info = TaskInfo(task_id="t", backend="sim")
    assert info.status is TaskStatus.PENDING
    assert info.result is None
    assert info.shots == 1000
    assert info.metadata == {}
    assert info.submit_time[:4].isdigit() and "T" in info.submit_time
    assert info.update_time >= info.submit_time


def test_fields_can_be_given_positionally_in_the_seed_order() -> None:
    info = TaskInfo("t", "sim", TaskStatus.RUNNING, {"a": 1}, 7, "s", "u", {"m": 2})
    assert info.to_dict() == {
        "task_id": "t",
        "backend": "sim",
        "status": TaskStatus.RUNNING,
        "result": {"a": 1},
        "shots": 7,
        "submit_time": "s",
        "update_time": "u",
        "metadata": {"m": 2},
    }
    assert list(info.to_dict()) == SEED_FIELDS
    with pytest.raises(TypeError, match="multiple values"):
        TaskInfo("t", task_id="u", backend="sim")


def test_to_dict_copies_and_from_dict_round_trips() -> None:
    info = TaskInfo(task_id="t", backend="sim", result={"c": [1]}, metadata={"k": "ü"})
    data = info.to_dict()
    data["result"]["c"].append(2)
    assert info.result == {"c": [1]}
    again = TaskInfo.from_dict(info.to_dict())
    assert again == info


def test_the_model_is_mutable_like_the_dataclass() -> None:
    info = TaskInfo(task_id="t", backend="sim")
    info.status = TaskStatus.SUCCESS
    info.update_time = "later"
    assert (info.status, info.update_time) == (TaskStatus.SUCCESS, "later")


@pytest.mark.parametrize(
    "data, field",
    [
        ({"shots": "1000"}, "shots"),
        ({"shots": True}, "shots"),
        ({"shots": 1.5}, "shots"),
        ({"task_id": 5.0}, "task_id"),
        ({"task_id": True}, "task_id"),
        ({"task_id": 2**63}, "task_id"),
        ({"metadata": [1, 2]}, "metadata"),
        ({"colour": "blue"}, "colour"),
        ({"backend": b"sim"}, "backend"),  # bytes are not text (lax pydantic decoded them)
        ({"status": b"running"}, "status"),
        ({"status": 3}, "status"),
        ({"metadata": {b"k": 1}}, "metadata"),
        ({"submit_time": None}, "submit_time"),
    ],
)
def test_construction_refuses_wrong_types_with_invalid_type(
    data: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidType, match=field) as raised:
        TaskInfo(**{"task_id": "t", "backend": "sim", **data})
    # Both: the seed's dataclass callers catch TypeError, taskdb 0.1's caught ValueError.
    assert isinstance(raised.value, TypeError) and isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: TaskInfo(), "task_id: Field required; backend: Field required"),
        (lambda: TaskInfo("t"), "backend: Field required"),
        (lambda: TaskInfo(*range(9)), "at most 8 positional arguments, got 9"),
        (lambda: TaskInfo("t", task_id="u"), "multiple values for argument 'task_id'"),
        (lambda: TaskInfo("t", "sim", colour=1), r"unexpected arguments \['colour'\]"),
        (lambda: TaskInfo.from_dict({"\ud800": 1}), "unexpected arguments"),
        (lambda: TaskInfo.from_dict({1: "t"}), "from_dict takes a mapping"),
        (lambda: TaskInfo.from_dict(["t", "sim"]), "from_dict takes a mapping"),
    ],
)
def test_a_call_the_seed_dataclass_refused_with_type_error_is_invalid_type(
    build: Any, message: str
) -> None:
    with pytest.raises(InvalidType, match=message) as raised:
        build()
    assert isinstance(raised.value, TypeError)


def test_metadata_none_means_empty() -> None:
    assert TaskInfo(task_id="t", backend="sim", metadata=None).metadata == {}


def test_row_stores_status_values_and_json_as_the_seed() -> None:
    info = TaskInfo(
        task_id="t",
        backend="sim",
        status=TaskStatus.RUNNING,
        result={"msg": "échec"},
        metadata={"note": "量子"},
    )
    row = to_row(info, "now")
    assert row["status"] == "running" and type(row["status"]) is str
    assert row["result_json"] == '{"msg": "\\u00e9chec"}'
    assert row["metadata_json"] == '{"note": "量子"}'
    assert row["update_time"] == "now"
    assert row["submit_time"] == info.submit_time


def test_unknown_status_strings_are_kept_as_given() -> None:
    info = TaskInfo(task_id="t", backend="sim", status="queued")
    assert to_row(info, "now")["status"] == "queued"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"task_id": "a\x00b"}, "task_id"),
        ({"task_id": "a\ud800"}, "task_id"),
        ({"task_id": None}, "task_id"),
        ({"task_id": 1.5}, "task_id"),
        ({"task_id": True}, "task_id"),
        ({"task_id": 2**63}, "task_id"),
        ({"backend": "a\x00b"}, "backend"),
        ({"backend": "\udc80"}, "backend"),
        ({"backend": 5}, "backend"),
        ({"status": "run\x00"}, "status"),
        ({"status": "\ud800"}, "status"),
        ({"status": None}, "status"),
        ({"status": 3}, "status"),
        ({"shots": "10"}, "shots"),
        ({"shots": False}, "shots"),
        ({"shots": None}, "shots"),
        ({"shots": 2**63}, "shots"),
        ({"shots": -(2**63) - 1}, "shots"),
        ({"result": {"when": object()}}, "result"),
        ({"result": {1, 2}}, "result"),
        ({"metadata": {"bytes": b"x"}}, "metadata"),
        ({"metadata": {"lone": "\ud800"}}, "metadata"),
        ({"submit_time": "\x00"}, "submit_time"),
        ({"submit_time": None}, "submit_time"),
    ],
)
def test_rows_refuse_what_cannot_be_stored(change: dict[str, Any], message: str) -> None:
    info = TaskInfo(task_id="t", backend="sim")
    for name, value in change.items():
        setattr(info, name, value)  # assignment is not validated; save() checks
    with pytest.raises(InvalidEntry, match=message):
        to_row(info, "now")


def test_status_refusal_names_the_allowed_values() -> None:
    info = TaskInfo(task_id="t", backend="sim")
    info.status = None  # type: ignore[assignment]
    with pytest.raises(InvalidEntry, match="pending, running, success, failed, cancelled"):
        to_row(info, "now")


def test_circular_result_is_refused() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(InvalidEntry, match="result"):
        to_row(TaskInfo(task_id="t", backend="sim", result=loop), "now")


def test_nan_round_trips_as_the_seed_json_does() -> None:
    row = to_row(TaskInfo(task_id="t", backend="sim", result={"x": math.nan}), "now")
    assert row["result_json"] == '{"x": NaN}'
    assert math.isnan(from_row(row).result["x"])


def test_from_row_returns_what_the_seed_returns() -> None:
    row = {
        "task_id": "t",
        "backend": "sim",
        "status": "running",
        "shots": 5,
        "submit_time": "s",
        "update_time": "u",
        "result_json": None,
        "metadata_json": "",
    }
    info = from_row(row)
    assert info.to_dict() == {
        "task_id": "t",
        "backend": "sim",
        "status": "running",
        "result": None,
        "shots": 5,
        "submit_time": "s",
        "update_time": "u",
        "metadata": {},
    }
    assert json.loads(to_row(info, "u")["metadata_json"]) == {}


def test_from_row_sets_every_field_of_the_record() -> None:
    # Every field set, in the model's order, as validation leaves a record.
    assert can_assemble(TaskInfo)
    given = TaskInfo(
        task_id="t",
        backend="sim",
        status="success",
        result={"counts": {"00": 3}},
        shots=7,
        submit_time="s",
        update_time="u",
        metadata={"circuit": "c"},
    )
    assert all(value is not None for value in given.model_dump().values())
    info = from_row(to_row(given, "u"))
    assert info == given
    assert info.model_fields_set == set(TaskInfo.model_fields)
    assert list(info.__dict__) == list(TaskInfo.model_fields)
    assert info.model_dump_json() == given.model_dump_json()
    assert info.metadata is not from_row(to_row(given, "u")).metadata  # nothing shared


def test_seed_constants_that_still_mean_something() -> None:
    assert quantum.APPLICATION_ID == 0x554E4943
    assert quantum.CURRENT_SCHEMA_VERSION == 1
    assert quantum.DB_FILENAME == "tasks.sqlite"
    assert quantum.DEFAULT_CACHE_DIR.parts[-2:] == (".uniqc", "cache")
    assert quantum.TERMINAL_STATUSES == ("success", "failed", "cancelled")
    with pytest.raises(AttributeError, match="Alembic"):
        _ = quantum.MIGRATIONS


def test_from_dict_refuses_what_is_not_a_mapping() -> None:
    with pytest.raises(InvalidEntry, match="mapping"):
        TaskInfo.from_dict(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change, kind",
    [
        ({"task_id": 1.5}, InvalidType),
        ({"task_id": "\ud800"}, InvalidEntry),
        ({"task_id": "a\x00"}, InvalidEntry),
        ({"backend": b"sim"}, InvalidType),
        ({"backend": "\udfff"}, InvalidEntry),
        ({"status": None}, InvalidType),
        ({"status": 3}, InvalidType),
        ({"status": "que\ud800ued"}, InvalidEntry),
        ({"shots": "10"}, InvalidType),
        ({"shots": False}, InvalidType),
        ({"shots": 1.0}, InvalidType),
        ({"shots": 2**70}, InvalidEntry),
        ({"result": {1, 2}}, InvalidType),  # json.dumps's TypeError, as the seed raised
        ({"result": {"when": object()}}, InvalidType),
        ({"result": {(1, 2): "key"}}, InvalidType),
        ({"result": 10**5000}, InvalidEntry),  # an int, too long for JSON
        ({"metadata": {"bytes": b"x"}}, InvalidType),
        ({"metadata": {"k": "\ud800"}}, InvalidEntry),  # kept unescaped: not storable
        ({"metadata": {"\ud800": 1}}, InvalidEntry),
        ({"submit_time": 5}, InvalidType),
        ({"submit_time": "\ud800"}, InvalidEntry),
    ],
)
def test_row_refusals_are_type_errors_exactly_for_wrong_types(
    change: dict[str, Any], kind: type[InvalidEntry]
) -> None:
    info = TaskInfo(task_id="t", backend="sim")
    for name, value in change.items():
        setattr(info, name, value)  # assignment is not validated; save() checks
    with pytest.raises(kind, match=next(iter(change))) as raised:
        to_row(info, "now")
    assert isinstance(raised.value, TypeError) is (kind is InvalidType)


def test_a_result_with_a_lone_surrogate_is_stored_escaped() -> None:
    # The result is written with non-ASCII escaped (as the seed): nothing unstorable is left.
    row = to_row(TaskInfo(task_id="t", backend="sim", result={"k": "\ud800"}), "now")
    assert row["result_json"] == '{"k": "\\ud800"}'
    assert from_row(row).result == {"k": "\ud800"}


def test_save_takes_only_a_task_info() -> None:
    with pytest.raises(InvalidType, match="takes a TaskInfo, got dict"):
        to_row({"task_id": "t", "backend": "sim"}, "now")  # type: ignore[arg-type]


def test_metadata_is_the_callers_dict_as_the_seed_kept_it(tmp_path: Path) -> None:
    metadata: dict[str, object] = {}
    info = TaskInfo("t1", "ibm", metadata=metadata)
    metadata["job_url"] = "https://example/job/1"  # known only once the job is submitted
    assert info.metadata is metadata
    with TaskStore(cache_dir=tmp_path) as store:
        store.save(info)
        assert store.get("t1").metadata == {"job_url": "https://example/job/1"}  # type: ignore[union-attr]
    with pytest.raises(InvalidType):
        TaskInfo("t2", "ibm", metadata={1: "a key that is not text"})
