"""Crowd records made straight from rows whose values already have the record's types.

pydantic's validation of a unit's 14 columns costs more than the driver takes to fetch
the row. Most rows hold exactly what the record keeps (an ``int`` for an ``int``
field, a ``str`` for a status, 0 or 1 for a flag): for a result made only of those,
:func:`records_builder`'s function makes the records directly, with the values the
validation would give. It answers ``None`` at the first row holding anything else
(a stored ``'5'`` in an integer column, a 2 in a flag, a ``str`` subclass), and the
caller validates the whole result with pydantic, which converts or refuses it.

The function is generated per record class, one comparison per field, as the
standard library's ``dataclasses`` generates ``__init__``: a loop over the fields
instead costs about as much as the validation it replaces. It makes each record as
:func:`taskdb.assembled.assembled` does, written out in the loop, and gives the records
of one call one set of field names: pydantic never changes that set on a frozen model
(``model_copy`` copies it first), and sharing it spares a copy per record.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BeforeValidator, ValidationError
from pydantic.fields import FieldInfo

from taskdb.assembled import SLOT_SETTERS, can_assemble, new
from taskdb.crowd.fields import as_flag, creation_text
from taskdb.crowd.records import Record

RowsBuilder = Callable[[Sequence[Sequence[Any]]], "list[Any] | None"]


def _kind(field: FieldInfo) -> tuple[str, str] | None:
    """The check of a value and the expression of the field's value, or None if unknown.

    ``{v}`` stands for the row's value. The records' field types are few
    (crowd.fields); any other, or any constraint or validator besides these, is
    unknown, and its table's rows are always validated.
    """
    annotation, metadata = field.annotation, field.metadata
    if len(metadata) == 1 and isinstance(metadata[0], BeforeValidator):
        if metadata[0].func is creation_text and annotation == (str | None):
            return (
                "type({v}) is str or {v} is None or type({v}) is datetime",
                # A server's naive datetime formatted here, not through a call per row (167 units
                # on PostgreSQL 286 -> 267 µs: benchmarks/notes.py).
                "{v} if type({v}) is str or {v} is None"
                " else {v}.isoformat(' ', 'seconds') if {v}.tzinfo is None"
                " else _creation_text({v})",
            )
        if metadata[0].func is as_flag and annotation is bool:
            return "type({v}) is bool or (type({v}) is int and 0 <= {v} <= 1)", "{v} == 1"
        return None
    if metadata == [] and annotation in (int, float, str):
        return f"type({{v}}) is {annotation.__name__}", "{v}"
    for kind in (int, float, str):
        if metadata == [] and annotation == (kind | None):  # a nullable column of its own
            return f"{{v}} is None or type({{v}}) is {kind.__name__}", "{v}"
    enum = _status_enum(field)
    if enum is not None:
        # A stored status outside the enum reads back as the plain text stored.
        return "type({v}) is str", "_members{v}.get({v}, {v})"
    return None


def _status_enum(field: FieldInfo) -> type[Enum] | None:
    """``E`` of a field typed ``E | str`` tried left to right, as the stored statuses are."""
    arguments = typing.get_args(field.annotation)
    if (
        typing.get_origin(field.annotation) in (typing.Union, types.UnionType)
        and len(arguments) == 2
        and isinstance(arguments[0], type)
        and issubclass(arguments[0], Enum)
        and arguments[1] is str
        and [getattr(m, "union_mode", None) for m in field.metadata] == ["left_to_right"]
    ):
        return arguments[0]
    return None


def records_builder(record: type[Record]) -> RowsBuilder | None:
    """The function making ``record`` instances from rows in field order, if one can.

    None for a record that is not frozen, has a field type it does not know,
    validators of its own or configuration beyond ``frozen`` and ``extra`` (its rows
    are then always validated), or where a sample row does not come out as pydantic
    makes it.
    """
    decorators = record.__pydantic_decorators__
    if (
        not record.model_fields
        or record.model_config.get("frozen") is not True
        or not can_assemble(record)
        or record.model_config.keys() - {"frozen", "extra"}
        or decorators.validators
        or decorators.field_validators
        or decorators.root_validators
        or decorators.model_validators
    ):
        return None
    assert SLOT_SETTERS is not None  # can_assemble(record) said so
    set_values, set_fields, set_extra, set_private = SLOT_SETTERS
    namespace: dict[str, Any] = {
        "_new": new,
        "_set_values": set_values,
        "_set_fields": set_fields,
        "_set_extra": set_extra,
        "_set_private": set_private,
        "_record": record,
        "_field_names": tuple(record.model_fields),
        "_creation_text": creation_text,
        "datetime": datetime,
    }
    checks: list[str] = []
    values: list[str] = []
    for position, (name, field) in enumerate(record.model_fields.items()):
        kind = _kind(field)
        if kind is None:
            return None
        check, value = (part.format(v=f"v{position}") for part in kind)
        checks.append(f"({check})")
        values.append(f"{name!r}: {value}")
        enum = _status_enum(field)
        if enum is not None:
            namespace[f"_membersv{position}"] = {member.value: member for member in enum}
    unpacked = ", ".join(f"v{position}" for position in range(len(values)))
    source = "\n".join(
        [
            "def build(rows):",
            "    made = []",
            "    append = made.append",
            "    fields = set(_field_names)",
            f"    for {unpacked}, in rows:",
            f"        if not ({' and '.join(checks)}):",
            "            return None",
            "        made_record = _new(_record)",
            f"        _set_values(made_record, {{{', '.join(values)}}})",
            "        _set_fields(made_record, fields)",
            "        _set_extra(made_record, None)",
            "        _set_private(made_record, None)",
            "        append(made_record)",
            "    return made",
        ]
    )
    exec(compile(source, f"<records of {record.__name__}>", "exec"), namespace)
    build: RowsBuilder = namespace["build"]
    return build if _agrees(build, record) else None


def _agrees(build: RowsBuilder, record: type[Record]) -> bool:
    """Whether ``build`` makes a sample row into the record pydantic makes of it."""
    sample = tuple(_sample(field.annotation) for field in record.model_fields.values())
    made = build([sample])
    try:
        validated = record.model_validate(dict(zip(record.model_fields, sample, strict=True)))
    except ValidationError:
        return False
    return (
        made is not None
        and _typed(made[0]) == _typed(validated)
        and made[0].model_fields_set == validated.model_fields_set
        and made[0].model_dump() == validated.model_dump()
    )


def _typed(record: Record) -> list[tuple[str, type, object]]:
    # == alone cannot tell True from 1, or an enum member from its text.
    return [(name, type(value), value) for name, value in record.__dict__.items()]


def _sample(annotation: object) -> object:
    """A value of the field's own type: ``completed`` is a member of each status enum."""
    if annotation is bool:
        return 1
    if annotation is int or annotation == (int | None):
        return 7
    if annotation is float or annotation == (float | None):
        return 1.5
    return "2024-01-01 00:00:00" if annotation == (str | None) else "completed"
