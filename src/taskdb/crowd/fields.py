"""The field types of crowd records and inputs: each refuses a bad value saying what is allowed.

Annotated pydantic types, shared by the records the store returns (crowd.records),
the inputs it validates (crowd.inputs) and the filters of its finders.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, Strict, ValidationInfo
from pydantic_core import PydanticCustomError

from taskdb.crowd.vocab import (
    AGENT_STATUSES,
    NO_PROJECT,
    UNIT_STATUSES,
    AgentStatus,
    ProviderRegistry,
    UnitStatus,
)
from taskdb.errors import WRONG_TYPE

# Every key is a plain INTEGER on PostgreSQL and MariaDB: a larger id cannot exist anywhere.
MAX_ID = 2**31 - 1
MIN_INT = -(2**31)
_DIGITS = re.compile(r"[0-9]+")
PROVIDERS_CONTEXT = "providers"


def wrong_type(message: str) -> PydanticCustomError:
    """A refusal of the value's type, which the error boundary raises as ``InvalidType``.

    A ``TypeError`` raised in a validator would escape pydantic unwrapped; this is a
    validation error of its own type (``taskdb.errors.WRONG_TYPE``). A bad value of an
    accepted type stays a ``ValueError`` (``InvalidEntry``).
    """
    return PydanticCustomError(WRONG_TYPE, message)


def _as_id(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        message = f"an id is a whole number or a string of digits such as '42', got {value!r}"
        raise ValueError(message) if isinstance(value, str) else wrong_type(message)
    if not 0 <= number <= MAX_ID:
        raise ValueError(f"an id lies between 0 and {MAX_ID}, got {number}")
    return number


def _as_int(value: object) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        value = int(value)
    if isinstance(value, str):
        raise ValueError(f"expected a whole number or a string of its digits, got {value!r}")
    if not isinstance(value, int) or isinstance(value, bool):
        raise wrong_type(f"expected a whole number, got {value!r}")
    if not MIN_INT <= value <= MAX_ID:
        raise ValueError(f"a whole number here lies between {MIN_INT} and {MAX_ID}, got {value}")
    return value


def _as_amount(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise wrong_type(f"an amount is a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"an amount is a finite number, got {value!r}")
    return float(value)


def as_flag(value: object) -> bool:
    # SQLite stores what it is given; callers pass 0/1 as often as True/False.
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    message = f"expected True, False, 0 or 1, got {value!r}"
    raise ValueError(message) if isinstance(value, int) else wrong_type(message)


def _checked_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters (PostgreSQL refuses them)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"text must be valid Unicode ({error.reason})") from None
    return value


def _as_task_type(value: object) -> object:
    # The seed's callers pass ints here, and bools too (Mephisto's own tests pass a sandbox
    # flag): SQLite binds True as 1 and its TEXT column stores '1', so True is '1', False '0'.
    if isinstance(value, int):
        return str(int(value))
    return value


def _non_empty(value: str) -> str:
    if value == "":
        raise ValueError("a name may not be empty")
    return value


def _project_name(value: str) -> str:
    if value == NO_PROJECT:
        raise ValueError(f"{NO_PROJECT!r} is reserved for tasks without a project")
    return value


def _status_in(allowed: tuple[str, ...], kind: str) -> Any:
    def check(value: object) -> str:
        if not isinstance(value, str) or value not in allowed:
            message = f"{value!r} is not {kind} status; allowed: {', '.join(allowed)}"
            raise ValueError(message) if isinstance(value, str) else wrong_type(message)
        return str(value)

    return check


def _registered_provider(value: str, info: ValidationInfo) -> str:
    registry = (info.context or {}).get(PROVIDERS_CONTEXT)
    # Built by hand, an input checks its shape only; the store checks it against its registry.
    if isinstance(registry, ProviderRegistry) and value not in registry:
        raise ValueError(
            f"unknown provider type {value!r}; registered: {', '.join(registry.names())} "
            "(add one with ProviderRegistry.register)"
        )
    return value


Id = Annotated[int, BeforeValidator(_as_id)]
Int = Annotated[int, BeforeValidator(_as_int)]
Amount = Annotated[float, BeforeValidator(_as_amount)]
Flag = Annotated[bool, BeforeValidator(as_flag)]
Text = Annotated[str, Strict(), AfterValidator(_checked_text)]
Name = Annotated[Text, AfterValidator(_non_empty)]
ProjectName = Annotated[Name, AfterValidator(_project_name)]
TaskType = Annotated[Text, BeforeValidator(_as_task_type)]
ProviderType = Annotated[Text, AfterValidator(_registered_provider)]
UnitStatusValue = Annotated[str, BeforeValidator(_status_in(UNIT_STATUSES, "a unit"))]
AgentStatusValue = Annotated[str, BeforeValidator(_status_in(AGENT_STATUSES, "an agent"))]
# Finders take any member, "mixed" included: an adopted seed file may hold it.
UnitStatusFilter = Annotated[
    str, BeforeValidator(_status_in(tuple(s.value for s in UnitStatus), "a unit"))
]
AgentStatusFilter = Annotated[str, BeforeValidator(_status_in(AGENT_STATUSES, "an agent"))]
# Records: the enum member; a row written by other code with a status outside the enum
# stays readable, its status the plain text stored (left to right: the member wins).
StoredUnitStatus = Annotated[UnitStatus | str, Field(union_mode="left_to_right")]
StoredAgentStatus = Annotated[AgentStatus | str, Field(union_mode="left_to_right")]


def creation_text(value: object) -> object:
    """``creation_date`` as the seed stores it: SQLite's UTC ``YYYY-MM-DD HH:MM:SS`` text."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.replace(tzinfo=None)  # the fields as the server sent them
        # Not strftime: it was 4 µs of every server row (PostgreSQL finder 3.5x -> 1.8x raw).
        return value.isoformat(" ", "seconds")
    return value


CreationDate = Annotated[str | None, BeforeValidator(creation_text)]
