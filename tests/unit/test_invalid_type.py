"""InvalidType: wrong types are TypeErrors (as in the seed code), bad values are not."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

import taskdb
from taskdb import errors
from taskdb.crowd import CrowdStore, ProviderRegistry
from taskdb.crowd.fields import Amount, Flag, Id, Int, Text, UnitStatusValue
from taskdb.errors import EntryError, InvalidEntry, InvalidType, TaskdbError, refusal


def test_invalid_type_is_an_invalid_entry_and_a_type_error() -> None:
    assert taskdb.InvalidType is errors.InvalidType
    assert "InvalidType" in taskdb.__all__
    error = InvalidType("x", columns=("a",), values={"a": 1})
    for kind in (InvalidEntry, EntryError, TaskdbError, ValueError, TypeError):
        assert isinstance(error, kind), kind
    assert (error.columns, error.values) == (("a",), {"a": 1})
    assert not issubclass(InvalidEntry, TypeError)


@pytest.mark.parametrize(
    "field, value, wrong_type",
    [
        (Id, 1.5, True),
        (Id, True, True),
        (Id, b"1", True),
        (Id, None, True),
        (Id, "abc", False),  # a string is an id's type: digits are a value rule
        (Id, -1, False),
        (Id, 2**40, False),
        (Int, "x", False),
        (Int, [1], True),
        (Amount, "1.0", True),
        (Amount, float("nan"), False),
        (Flag, "yes", True),
        (Flag, 2, False),
        (Text, 5, True),
        (Text, b"text", True),
        (Text, "nul\x00", False),
        (Text, "\ud800", False),
        (UnitStatusValue, None, True),
        (UnitStatusValue, "bogus", False),
    ],
)
def test_crowd_fields_say_whether_the_type_or_the_value_is_wrong(
    field: Any, value: object, wrong_type: bool
) -> None:
    with pytest.raises(ValidationError) as raised:
        TypeAdapter(field).validate_python(value)
    refused = refusal("test", raised.value)
    assert isinstance(refused, InvalidType) is wrong_type
    assert isinstance(refused, InvalidEntry)


def test_pydantic_type_errors_count_as_type_problems() -> None:
    with pytest.raises(ValidationError) as raised:
        TypeAdapter(list[int]).validate_python(5)
    assert isinstance(refusal("list", raised.value), InvalidType)
    with pytest.raises(ValidationError) as raised:
        TypeAdapter(Text).validate_python("a\x00")
    assert type(refusal("text", raised.value)) is InvalidEntry


@pytest.mark.parametrize(
    "build, kind",
    [
        (lambda: CrowdStore(5), InvalidType),
        (lambda: CrowdStore(b"sqlite://"), InvalidType),
        (lambda: CrowdStore("sqlite://", providers=["mock"]), InvalidType),
        (lambda: CrowdStore("sqlite://", engine_options=[1]), InvalidType),
        (lambda: CrowdStore(engine="sqlite://"), InvalidType),
        (lambda: ProviderRegistry("mock"), InvalidType),
        (lambda: ProviderRegistry(5), InvalidType),
        (lambda: ProviderRegistry([5]), InvalidType),
        (lambda: ProviderRegistry([""]), InvalidEntry),
        (lambda: ProviderRegistry(["a\x00"]), InvalidEntry),
        (lambda: ProviderRegistry(["\ud800"]), InvalidEntry),
    ],
)
def test_constructors_refuse_wrong_types_with_invalid_type(
    build: Any, kind: type[InvalidEntry]
) -> None:
    with pytest.raises(kind) as raised:
        build()
    assert isinstance(raised.value, TypeError) is (kind is InvalidType)


class _Repository:
    entity = "thing"

    @errors.operation("doing a {entity}")
    def call(self, value: object) -> object:
        if value == "encode":
            return "\ud800".encode()
        if value == "bug":
            return len(5)  # type: ignore[arg-type]
        return value


def test_the_boundary_turns_a_refused_call_into_invalid_type() -> None:
    repository = _Repository()
    with pytest.raises(InvalidType, match=r"doing a thing: .*missing 1 required") as raised:
        repository.call()  # type: ignore[call-arg]
    assert isinstance(raised.value.__cause__, TypeError)
    with pytest.raises(InvalidType, match="unexpected keyword argument 'bogus'"):
        repository.call(1, bogus=2)  # type: ignore[call-arg]


def test_the_boundary_lets_a_type_error_from_inside_through() -> None:
    # Raised by taskdb's own code, not by the call: a bug to see, not input to refuse.
    with pytest.raises(TypeError) as raised:
        _Repository().call("bug")
    assert not isinstance(raised.value, TaskdbError)


def test_text_a_driver_cannot_encode_is_invalid_entry() -> None:
    with pytest.raises(InvalidEntry, match=r"doing a thing: .*lone surrogates") as raised:
        _Repository().call("encode")
    assert not isinstance(raised.value, TypeError)
    with (
        pytest.raises(InvalidEntry, match=r"opening: .*lone surrogates"),
        errors.translated("opening"),
    ):
        "\udfff".encode()
