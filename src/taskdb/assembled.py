"""pydantic models made from values already checked, without a second validation.

What ``model_construct`` does when every field is given, for less: the stores' reads
make their records this way from rows whose values they have checked to be of each
field's own type (quantum ``from_stored`` 3.8 -> 2.35 µs a row, benchmarks/notes.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)
SlotSetter = Callable[[Any, Any], None]

# What pydantic keeps per instance: __dict__ (the fields' values) and three slots.
_SLOTS = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")


def _slot_setters() -> tuple[SlotSetter, ...] | None:
    """The setters of BaseModel's slots, or None where this pydantic lays them out otherwise.

    Called directly, they spare ``object.__setattr__`` its lookup of each name (with
    one set of names per call, building 167 units 202 -> 160 µs: benchmarks/notes.py).
    """
    found: list[SlotSetter] = []
    for name in _SLOTS:
        setter = getattr(vars(BaseModel).get(name), "__set__", None)
        if setter is None:
            return None
        found.append(setter)
    return tuple(found)


SLOT_SETTERS = _slot_setters()
new = object.__new__


def can_assemble(model: type[BaseModel]) -> bool:
    """Whether :func:`assembled` makes ``model`` as validation would: no private
    attributes or ``model_post_init`` to run, and no extra fields."""
    return (
        SLOT_SETTERS is not None
        and model.__pydantic_post_init__ is None
        and not model.__private_attributes__
        and model.model_config.get("extra") != "allow"
    )


def assembled(model: type[M], values: dict[str, Any], fields: frozenset[str]) -> M:
    """A ``model`` holding ``values``, one for each name in ``fields`` (all of its fields)."""
    assert SLOT_SETTERS is not None  # can_assemble(model) said so
    set_values, set_fields, set_extra, set_private = SLOT_SETTERS
    made: M = new(model)
    set_values(made, values)
    set_fields(made, set(fields))
    set_extra(made, None)
    set_private(made, None)
    return made
