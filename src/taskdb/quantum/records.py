"""Task records of the quantum store: ``TaskStatus``, ``TaskInfo`` and their rows.

``TaskInfo`` is the seed's dataclass rebuilt as a pydantic model: same fields, same
defaults, same positional order, still mutable (``save`` stamps ``update_time`` on it),
with ``to_dict`` / ``from_dict``. Everything a row needs is checked in :func:`to_row`,
once, before any statement is built.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, SupportsInt, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)

from taskdb.assembled import assembled
from taskdb.errors import DatabaseError, InvalidEntry, InvalidType, refusal


# Not StrEnum: str() and format() of a member stay "TaskStatus.RUNNING", as in the seed.
class TaskStatus(str, Enum):  # noqa: UP042
    """Status of a task. A ``str`` enum, so members compare equal to their values."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES: tuple[str, ...] = ("success", "failed", "cancelled")

KNOWN_STATUSES: tuple[str, ...] = tuple(status.value for status in TaskStatus)

# A signed 64-bit integer: what the seed's SQLite INTEGER held (shots, task ids it turned
# into text, LIMIT); shots is BIGINT on the servers since quantum_0003.
MIN_INT64 = -(2**63)
MAX_INT64 = 2**63 - 1
MIN_SHOTS = MIN_INT64
MAX_SHOTS = MAX_INT64
MAX_LIMIT = MAX_INT64


def _the_callers_dict(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """``value`` itself once its keys are checked, as the seed's dataclass kept it.

    A caller that fills in the dict it passed after ``TaskInfo(...)`` (a job URL known
    only after submission) saves what it filled in, as with the seed.
    """
    checked = handler(value)
    return value if type(value) is dict else checked


def _now() -> str:
    return datetime.now().isoformat()


class TaskInfo(BaseModel):
    """Information about a submitted task.

    Attributes:
        task_id: Unique identifier of the task; an ``int`` becomes its text (``123`` ->
            ``"123"``), as the seed's TEXT column stored it.
        backend: Backend the task was submitted to.
        status: A ``TaskStatus`` or its value; other strings are kept as given.
        result: Task result, any JSON value (the seed documents a dict), or None.
        shots: Number of shots requested (an ``int``, signed 64-bit).
        submit_time: ISO timestamp of submission; the first save's value is kept.
        update_time: ISO timestamp of the last save, stamped by ``TaskStore.save``.
        metadata: Additional JSON-able data about the task.
    """

    # Not frozen: the seed's save() stamps update_time on the caller's object.
    model_config = ConfigDict(extra="forbid")

    # Strict: bytes are not text (lax pydantic would decode b"ibm"), "1000" or True are
    # not a number of shots: a wrong type is InvalidType, as the seed's TypeError.
    task_id: StrictStr
    backend: StrictStr
    status: Annotated[TaskStatus, Strict()] | StrictStr = TaskStatus.PENDING
    result: Any = None
    shots: int = Field(default=1000, strict=True)
    submit_time: StrictStr = Field(default_factory=_now)
    update_time: StrictStr = Field(default_factory=_now)
    metadata: Annotated[dict[StrictStr, Any], WrapValidator(_the_callers_dict)] = Field(
        default_factory=dict
    )

    def __init__(self, *args: Any, **data: Any) -> None:
        # The seed's dataclass took its fields positionally; its callers still do.
        names = tuple(type(self).model_fields)
        if len(args) > len(names):
            raise InvalidType(
                f"TaskInfo takes at most {len(names)} positional arguments, got {len(args)}"
            )
        for name, value in zip(names, args, strict=False):
            if name in data:
                raise InvalidType(f"TaskInfo got multiple values for argument {name!r}")
            data[name] = value
        unknown = [name for name in data if name not in names]
        if unknown:
            # As the seed dataclass's TypeError; pydantic cannot even name a key that is not UTF-8.
            raise InvalidType(
                f"TaskInfo got unexpected arguments {unknown!r}; its fields are {', '.join(names)}"
            )
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise refusal(f"invalid TaskInfo: {_describe(error)}", error) from error

    @field_validator("task_id", mode="before")
    @classmethod
    def _integer_task_id_is_text(cls, value: Any) -> Any:
        # The seed's TEXT column stored 123 as "123"; get("123") and get(123) find it.
        return _int_as_text(value)

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata_none_is_empty(cls, value: Any) -> Any:
        # The seed stores ``metadata or {}``: None means no metadata.
        return {} if value is None else value

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict, in the seed's ``dataclasses.asdict`` shape."""
        return self.model_dump(warnings=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskInfo:
        """Build from a dict such as ``to_dict`` returns."""
        if not isinstance(data, Mapping) or not all(isinstance(key, str) for key in data):
            raise InvalidType(f"from_dict takes a mapping of TaskInfo fields, got {data!r}")
        return cls(**data)


def _describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'value'}: {item['msg']}"
        for item in error.errors()
    )


def _int_as_text(value: object) -> object:
    """An int the seed's SQLite could bind (64-bit, not a bool) as the text TEXT affinity made."""
    if isinstance(value, int) and not isinstance(value, bool) and MIN_INT64 <= value <= MAX_INT64:
        return str(value)
    return value


def is_storable(value: str) -> bool:
    """Whether every engine stores the text as given; empty strings do.

    NUL is refused (PostgreSQL cannot store it), and so are lone surrogates (not UTF-8:
    the seed's sqlite3 could not bind them either).
    """
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_TEXT_RULE = "a string without NUL characters or lone surrogates"


def normalize_status(status: object, what: str = "status") -> str:
    """The stored form of a status: a member's value, or a string as given (even empty)."""
    if isinstance(status, TaskStatus):
        return status.value
    if isinstance(status, str) and is_storable(status):
        return status
    raise refused(
        f"{what} must be a TaskStatus or {_TEXT_RULE} (known: {', '.join(KNOWN_STATUSES)}),"
        f" got {status!r}",
        right_type=isinstance(status, str),
    )


def normalize_statuses(statuses: Iterable[object], what: str) -> list[str]:
    if isinstance(statuses, str | bytes) or not isinstance(statuses, Iterable):
        raise InvalidType(f"{what} must be a collection of statuses, got {statuses!r}")
    return [normalize_status(status, what) for status in statuses]


def check_key(value: object, what: str) -> str:
    """A backend, a timestamp: any string the engines store as given, the empty one too."""
    if not isinstance(value, str) or not is_storable(value):
        raise refused(
            f"{what} must be {_TEXT_RULE}, got {value!r}", right_type=isinstance(value, str)
        )
    return value


def check_task_id(value: object, what: str = "task_id") -> str:
    """A task id as stored: a string, or a 64-bit int as its text (the seed's TEXT affinity)."""
    value = _int_as_text(value)
    if not isinstance(value, str) or not is_storable(value):
        raise refused(
            f"{what} must be {_TEXT_RULE} or a 64-bit int, got {value!r}",
            right_type=isinstance(value, str),
        )
    return value


def check_offset(offset: object) -> int | None:
    """None or 0 for none, else how many tasks of the order to skip (an int, 0 or more)."""
    if offset is None:
        return None
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_LIMIT:
        raise refused(
            f"offset must be None or a whole number from 0 to {MAX_LIMIT}, got {offset!r}",
            right_type=isinstance(offset, int) and not isinstance(offset, bool),
        )
    return offset or None


def check_limit(limit: object) -> int | None:
    """None for no limit, else what ``int()`` makes of the value (the seed applied ``int(limit)``).

    Negative numbers mean no limit, as SQLite's ``LIMIT -1`` did for the seed.
    """
    if limit is None:
        return None
    right_type = not isinstance(limit, bool)
    try:
        value = int(cast("SupportsInt | str", limit))
    except (TypeError, ValueError, OverflowError) as error:
        right_type = right_type and not isinstance(error, TypeError)
        value = None
    if isinstance(limit, bool) or value is None or not MIN_INT64 <= value <= MAX_LIMIT:
        raise refused(
            f"limit must be None or a whole number up to {MAX_LIMIT} (negative: no limit),"
            f" got {limit!r}",
            right_type=right_type,
        )
    return None if value < 0 else value


def _json(value: Any, what: str, ensure_ascii: bool) -> str:
    try:
        text = json.dumps(value, ensure_ascii=ensure_ascii)
    except (TypeError, ValueError, RecursionError) as error:
        raise refused(
            f"{what} must be JSON-serialisable (dict, list, str, ...): {error}",
            right_type=not isinstance(error, TypeError),
        ) from error
    if not is_storable(text):  # metadata keeps non-ASCII as is, lone surrogates included
        raise InvalidEntry(f"{what} holds text that is not valid UTF-8 (a lone surrogate)")
    return text


def to_row(info: TaskInfo, update_time: str) -> dict[str, Any]:
    """The ``tasks`` row for ``info``; InvalidEntry names the first field that cannot be stored."""
    if not isinstance(info, TaskInfo):
        raise InvalidType(f"save() takes a TaskInfo, got {type(info).__name__}")
    shots = info.shots
    if isinstance(shots, bool) or not isinstance(shots, int) or not MIN_SHOTS <= shots <= MAX_SHOTS:
        raise refused(
            f"shots must be an int from {MIN_SHOTS} to {MAX_SHOTS} (64-bit), got {shots!r}",
            right_type=isinstance(shots, int) and not isinstance(shots, bool),
        )
    # As the seed: a falsy value is {}; any other JSON value is kept (seed caches hold lists).
    metadata = info.metadata or {}
    return {
        "task_id": check_task_id(info.task_id),
        "backend": check_key(info.backend, "backend"),
        "status": normalize_status(info.status),
        "shots": shots,
        "submit_time": check_key(info.submit_time, "submit_time"),
        "update_time": update_time,
        # As the seed: the result escapes non-ASCII, the metadata keeps it as is.
        "result_json": None if info.result is None else _json(info.result, "result", True),
        "metadata_json": _json(metadata, "metadata", False),
    }


# -- refusals: a wrong type is InvalidType (a TypeError, as the seed raised), not only a
# ValueError; text no engine can store is refused before a driver fails on it.


def refused(message: str, *, right_type: bool) -> InvalidEntry:
    """``InvalidEntry`` for a bad value of an accepted type, else ``InvalidType`` (a TypeError)."""
    return InvalidEntry(message) if right_type else InvalidType(message)


def from_row(row: Mapping[Any, Any]) -> TaskInfo:
    """The ``TaskInfo`` of a stored row, as the seed returns it (status as the stored string).

    A value of the wrong type (SQLite keeps what other programs wrote: ``shots`` as
    text, a number as ``backend``) is ``DatabaseError`` naming the row, not a record.
    """
    return from_stored(*(row[name] for name in STORED_ORDER))


# The columns from_stored takes, in its order; a read selects them in this order.
STORED_ORDER = (
    "task_id",
    "backend",
    "status",
    "shots",
    "submit_time",
    "update_time",
    "result_json",
    "metadata_json",
)


def from_stored(
    task_id: Any,
    backend: Any,
    status: Any,
    shots: Any,
    submit_time: Any,
    update_time: Any,
    result_json: Any,
    metadata_json: Any,
) -> TaskInfo:
    """:func:`from_row` of the values a read selected in ``STORED_ORDER``: no dict between."""
    if type(shots) is float and shots.is_integer():
        shots = int(shots)  # the seed stored a float it was given; SQLite kept it REAL
    if (
        type(task_id) is not str
        or type(backend) is not str
        or type(status) is not str
        or type(submit_time) is not str
        or type(update_time) is not str
        or type(shots) is not int
    ):
        checked = (task_id, backend, status, shots, submit_time, update_time)
        given = zip(STORED_ORDER[: len(checked)], checked, strict=True)
        found = ", ".join(
            f"{name}={value!r}" for name, value in given if type(value) is not _TYPES[name]
        )
        raise DatabaseError(f"task {task_id!r} holds values taskdb cannot read: {found}")
    try:
        result = json.loads(result_json) if result_json else None
        # Most tasks carry no metadata: the default '{}' needs no parser.
        metadata = json.loads(metadata_json) if metadata_json and metadata_json != "{}" else {}
    except (TypeError, ValueError) as error:
        raise DatabaseError(f"task {task_id!r} holds JSON that cannot be read: {error}") from error
    # Stored rows were checked on the way in (or written by the seed): types checked
    # above, no second validation of what was validated when saved.
    return assembled(
        TaskInfo,
        {
            "task_id": task_id,
            "backend": backend,
            "status": status,
            "result": result,
            "shots": shots,
            "submit_time": submit_time,
            "update_time": update_time,
            "metadata": metadata,
        },
        _FIELDS,
    )


_TYPES: dict[str, type] = {
    **dict.fromkeys(("task_id", "backend", "status", "submit_time", "update_time"), str),
    "shots": int,
}
_FIELDS = frozenset(TaskInfo.model_fields)
