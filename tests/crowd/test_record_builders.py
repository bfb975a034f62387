"""Records built straight from rows are exactly those pydantic's validation makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from enum import IntEnum
from typing import Annotated, Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskdb.crowd.fields import StoredUnitStatus
from taskdb.crowd.record_builders import records_builder
from taskdb.crowd.records import RECORDS, Record, WorkerRecord
from taskdb.crowd.repositories.workers import WorkerRepository
from taskdb.crowd.vocab import AgentStatus, UnitStatus


# What a driver, or other code writing the file, may hand back for any column.
class _Text(str):
    """A ``str`` subclass: pydantic makes it a plain ``str``, so it is validated."""


class _Number(float):
    """A ``float`` subclass, as numpy's ``float64`` is."""


class _Small(IntEnum):
    ONE = 1


_VALUE = st.one_of(
    st.integers(min_value=-1, max_value=2),
    st.integers(min_value=-(2**100), max_value=2**100),
    st.booleans(),
    st.floats() | st.sampled_from([2.0, -0.0, _Number(1.5)]),
    st.sampled_from([_Small.ONE, _Text("completed")]),
    st.sampled_from([*UnitStatus, *AgentStatus]).map(str),
    st.sampled_from(["", "5", "mock", "completed", "2024-01-01 00:00:00", "no"]),
    st.none(),
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=-5))]),
    ),
    st.binary(max_size=3),
)


def _typed(record: Record) -> list[tuple[str, type, str]]:
    # By repr: NaN is not equal to itself, and == cannot tell True from 1.
    return [(name, type(value), repr(value)) for name, value in record.__dict__.items()]


def _validated(record: type[Record], rows: list[tuple[Any, ...]]) -> list[Record] | None:
    try:
        return [
            record.model_validate(dict(zip(record.model_fields, row, strict=True))) for row in rows
        ]
    except pydantic.ValidationError:
        return None


@pytest.mark.parametrize("table", sorted(RECORDS))
def test_every_table_has_a_builder(table: str) -> None:
    assert records_builder(RECORDS[table]) is not None


@pytest.mark.parametrize("table", sorted(RECORDS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_built_record_is_the_validated_one_value_for_value(table: str, data: Any) -> None:
    record = RECORDS[table]
    build = records_builder(record)
    assert build is not None
    # A row of the field's own types is always built, as pydantic makes it.
    good = [tuple(_good_row(record, data))]
    built_good, validated_good = build(good), _validated(record, good)
    assert built_good is not None and validated_good is not None
    assert [_typed(r) for r in built_good] == [_typed(r) for r in validated_good]
    # Rows of the field's own types mostly, with any other value now and then.
    rows = [
        tuple(
            data.draw(_VALUE) if data.draw(st.integers(0, 9)) == 0 else value
            for value in _good_row(record, data)
        )
        for _ in range(data.draw(st.integers(1, 4)))
    ]

    built = build(rows)
    validated = _validated(record, rows)
    if built is None:
        return  # left to pydantic, which the finder then calls
    assert validated is not None, f"built rows pydantic refuses: {rows}"
    assert [_typed(r) for r in built] == [_typed(r) for r in validated]
    assert [r.model_fields_set for r in built] == [r.model_fields_set for r in validated]
    if not any(value != value for row in rows for value in row):  # no NaN
        assert built == validated
        assert [hash(r) for r in built] == [hash(r) for r in validated]


# One value of another kind for each field in turn, next to a good row's others.
_NEAR_MISSES: list[object] = [
    -1, 0, 1, 2, 2**31, 2**63, True, False, 0.0, 1.0, 1.5, "1", "", "2", "completed",
    _Text("x"), None, b"1", datetime(2024, 1, 1, 12, 0, 0, 5), -(2**100), float("nan"),
    float("inf"), -0.0, _Number(1.5), _Small.ONE, datetime(2024, 1, 1, tzinfo=UTC),
]  # fmt: skip


@pytest.mark.parametrize("table", sorted(RECORDS))
def test_one_value_of_another_kind_is_built_as_validated_or_left_to_pydantic(table: str) -> None:
    record = RECORDS[table]
    build = records_builder(record)
    assert build is not None
    good = _GOOD_ROWS[table]
    assert build([good]) is not None
    for position in range(len(good)):
        for value in _NEAR_MISSES:
            row = (*good[:position], value, *good[position + 1 :])
            built, validated = build([row]), _validated(record, [row])
            if built is not None:
                assert validated is not None, f"built a row pydantic refuses: {row}"
                assert [_typed(r) for r in built] == [_typed(r) for r in validated], row


_GOOD_ROWS = {
    table: tuple(
        1
        if field.annotation is bool
        else 1.5
        if field.annotation is float
        else 7
        if field.annotation in (int, int | None)
        else "2024-01-01 00:00:00"
        if name == "creation_date"
        else "completed"
        for name, field in record.model_fields.items()
    )
    for table, record in RECORDS.items()
}


def _good_row(record: type[Record], data: Any) -> list[object]:
    values: list[object] = []
    for name, field in record.model_fields.items():
        annotation = field.annotation
        if annotation is bool:
            values.append(data.draw(st.sampled_from([0, 1, True, False])))
        elif annotation is float:
            values.append(data.draw(st.floats()))
        elif annotation is int or annotation == (int | None):
            none = st.none() if annotation is not int else st.nothing()
            values.append(data.draw(st.integers(0, 2**31) | none))
        elif name == "status":
            statuses = [*map(str, [*UnitStatus, *AgentStatus]), "odd"]
            values.append(data.draw(st.sampled_from(statuses)))
        elif name == "creation_date":
            values.append(data.draw(st.sampled_from(["2024-01-01 00:00:00", None])))
        else:
            values.append(data.draw(st.text(max_size=5)))
    return values


def test_rows_of_other_types_go_through_pydantic() -> None:
    # Stored values pydantic converts or refuses: tests/crowd/test_crowd_legacy.py.
    build = records_builder(RECORDS["workers"])
    assert build is not None
    good = (1, "w", "mock", "2024-01-01 00:00:00")
    assert build([good, ("1", "w", "mock", None)]) is None  # a digit string
    assert build([good, (1, _Text("w"), "mock", None)]) is None
    assert build([(True, "w", "mock", None)]) is None
    assert build([good]) == [
        WorkerRecord(
            worker_id=1, worker_name="w", provider_type="mock", creation_date="2024-01-01 00:00:00"
        )
    ]


class _Nullable(Record):
    nickname: str | None
    score: float | None
    rank: int | None


def test_nullable_columns_of_the_plain_types_are_built_as_validated() -> None:
    # What a new nullable column gets (docs: "Changing the schema"): no detour through pydantic.
    build = records_builder(_Nullable)
    assert build is not None
    rows = [("ann", 1.5, 3), (None, None, None)]
    assert build(rows) == [
        _Nullable(nickname="ann", score=1.5, rank=3),
        _Nullable(nickname=None, score=None, rank=None),
    ]
    assert build([("ann", 1, 3)]) is None  # an int in a float column: pydantic converts it
    assert build([(b"ann", 1.5, 3)]) is None


class _Constrained(Record):
    unit_id: Annotated[int, pydantic.Field(ge=0)]


class _SmartStatus(Record):
    status: UnitStatus | str  # smart mode keeps a member's text as the plain str


class _Checked(Record):
    name: Annotated[str, pydantic.AfterValidator(str.strip)]


class _FieldValidated(Record):
    name: str

    @pydantic.field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class _ModelValidated(Record):
    low: int
    high: int

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> _ModelValidated:
        if self.low > self.high:
            raise ValueError("low > high")
        return self


class _EnumValues(Record):
    model_config = pydantic.ConfigDict(use_enum_values=True)
    status: StoredUnitStatus


class _Finite(Record):
    model_config = pydantic.ConfigDict(allow_inf_nan=False)
    pay_amount: float


@pytest.mark.parametrize(
    "record",
    [_Constrained, _SmartStatus, _Checked, _FieldValidated, _ModelValidated, _EnumValues, _Finite],
)
def test_a_record_with_a_field_the_builder_does_not_know_is_always_validated(
    record: type[Record],
) -> None:
    assert records_builder(record) is None


class _Mutable(pydantic.BaseModel):
    name: str


def test_a_record_that_is_not_frozen_is_always_validated() -> None:
    # Its records could change their set of fields, which one call's records share.
    assert records_builder(_Mutable) is None


def test_records_of_one_call_stay_apart_when_one_is_copied() -> None:
    build = records_builder(RECORDS["workers"])
    assert build is not None
    first, second = build([(1, "a", "mock", None), (2, "b", "mock", None)]) or []
    # model_copy adds the names it is given to the copy's set: only to the copy's.
    changed = first.model_copy(update={"worker_name": "c", "nickname": "n"})
    assert changed.worker_name == "c"
    assert changed.model_fields_set == {*WorkerRecord.model_fields, "nickname"}
    assert (first.worker_name, second.worker_name) == ("a", "b")
    assert first.model_fields_set == second.model_fields_set == set(WorkerRecord.model_fields)
    with pytest.raises(pydantic.ValidationError):
        first.worker_name = "d"  # type: ignore[misc]
    assert first == WorkerRecord(
        worker_id=1, worker_name="a", provider_type="mock", creation_date=None
    )


def test_a_pydantic_without_the_slots_known_gets_no_builder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import taskdb.assembled

    monkeypatch.setattr(taskdb.assembled, "SLOT_SETTERS", None)
    assert not taskdb.assembled.can_assemble(WorkerRecord)
    assert records_builder(WorkerRecord) is None


def test_a_repository_whose_record_lost_step_with_its_table_is_refused_when_defined() -> None:
    # A model given a column its record lacks: refused at once, never a raw error per read.
    class Shorter(Record):
        worker_id: int
        worker_name: str

    with pytest.raises(TypeError, match=r"Shorter has the fields .* but workers has the columns"):

        class Drifted(WorkerRepository):
            record = Shorter  # type: ignore[assignment]
