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
    field_validator,
)

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

# shots is an INTEGER column: 32 bits on PostgreSQL and MariaDB, so on every engine alike.
MAX_SHOTS = 2**31 - 1
# LIMIT takes a signed 64-bit number on every engine.
MAX_LIMIT = 2**63 - 1


def _now() -> str:
    return datetime.now().isoformat()


class TaskInfo(BaseModel):
    """Information about a submitted task.

    Attributes:
        task_id: Unique identifier of the task (non-empty).
        backend: Backend the task was submitted to (non-empty).
        status: A ``TaskStatus`` or its value; other non-empty strings are kept as given.
        result: Task result, any JSON value (the seed documents a dict), or None.
        shots: Number of shots requested (an ``int``).
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
    metadata: dict[StrictStr, Any] = Field(default_factory=dict)

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


def normalize_status(status: object, what: str = "status") -> str:
    """The stored form of a status: a member's value, or a non-empty string as given."""
    if isinstance(status, TaskStatus):
        return status.value
    if isinstance(status, str) and status.strip() and "\x00" not in status:
        return storable(status, what)
    raise refused(
        f"{what} must be a TaskStatus or a non-empty string (known: {', '.join(KNOWN_STATUSES)}),"
        f" got {status!r}",
        right_type=isinstance(status, str),
    )


def normalize_statuses(statuses: Iterable[object], what: str) -> list[str]:
    if isinstance(statuses, str | bytes) or not isinstance(statuses, Iterable):
        raise InvalidType(f"{what} must be a collection of statuses, got {statuses!r}")
    return [normalize_status(status, what) for status in statuses]


def check_key(value: object, what: str) -> str:
    """A task id or backend: a non-empty string without NUL (no engine stores NUL alike)."""
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise refused(
            f"{what} must be a non-empty string, got {value!r}", right_type=isinstance(value, str)
        )
    return storable(value, what)


def check_limit(limit: object) -> int | None:
    """None, or what ``int()`` makes of the value (the seed applied ``int(limit)``) if >= 0."""
    if limit is None:
        return None
    right_type = not isinstance(limit, bool)
    try:
        value = int(cast("SupportsInt | str", limit))
    except (TypeError, ValueError, OverflowError) as error:
        right_type = right_type and not isinstance(error, TypeError)
        value = -1
    if isinstance(limit, bool) or not 0 <= value <= MAX_LIMIT:
        raise refused(
            f"limit must be None or a whole number from 0 to {MAX_LIMIT}, got {limit!r}",
            right_type=right_type,
        )
    return value


def _json(value: Any, what: str, ensure_ascii: bool) -> str:
    try:
        text = json.dumps(value, ensure_ascii=ensure_ascii)
    except (TypeError, ValueError, RecursionError) as error:
        raise refused(
            f"{what} must be JSON-serialisable (dict, list, str, ...): {error}",
            right_type=not isinstance(error, TypeError),
        ) from error
    return storable(text, what)


def to_row(info: TaskInfo, update_time: str) -> dict[str, Any]:
    """The ``tasks`` row for ``info``; InvalidEntry names the first field that cannot be stored."""
    if not isinstance(info, TaskInfo):
        raise InvalidType(f"save() takes a TaskInfo, got {type(info).__name__}")
    shots = info.shots
    if isinstance(shots, bool) or not isinstance(shots, int) or not 0 <= shots <= MAX_SHOTS:
        raise refused(
            f"shots must be an int from 0 to {MAX_SHOTS}, got {shots!r}",
            right_type=isinstance(shots, int) and not isinstance(shots, bool),
        )
    submit_time = info.submit_time
    if not isinstance(submit_time, str) or not submit_time or "\x00" in submit_time:
        raise refused(
            f"submit_time must be a non-empty ISO timestamp string, got {submit_time!r}",
            right_type=isinstance(submit_time, str),
        )
    metadata = info.metadata if info.metadata is not None else {}
    if not isinstance(metadata, dict):
        raise InvalidType(f"metadata must be a dict, got {type(metadata).__name__}")
    return {
        "task_id": check_key(info.task_id, "task_id"),
        "backend": check_key(info.backend, "backend"),
        "status": normalize_status(info.status),
        "shots": shots,
        "submit_time": storable(submit_time, "submit_time"),
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


def storable(text: str, what: str) -> str:
    """``text`` if every engine can store it: a lone surrogate has no UTF-8 encoding."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        surrogate = text[error.start : error.end]
        raise InvalidEntry(
            f"{what} must be valid Unicode: it holds the lone surrogate {surrogate!r}, "
            "which no database stores"
        ) from None
    return text


def from_row(row: Mapping[Any, Any]) -> TaskInfo:
    """The ``TaskInfo`` of a stored row, as the seed returns it (status as the stored string)."""
    task_id = row["task_id"]
    try:
        result = json.loads(row["result_json"]) if row["result_json"] else None
        metadata = json.loads(row["metadata_json"]) if row["metadata_json"] else {}
    except ValueError as error:
        raise DatabaseError(f"task {task_id!r} holds JSON that cannot be read: {error}") from error
    # Stored rows were checked on the way in (or written by the seed): no second validation.
    return TaskInfo.model_construct(
        task_id=task_id,
        backend=row["backend"],
        status=row["status"],
        result=result,
        shots=int(row["shots"]),
        submit_time=row["submit_time"],
        update_time=row["update_time"],
        metadata=metadata,
    )
