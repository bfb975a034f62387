"""The exception tree and the one place that classifies database errors.

Every public call of taskdb raises only the types below. Driver errors are
classified by their error *code* (SQLite extended result codes, PostgreSQL
SQLSTATE, MySQL errno); the message text is consulted only when a driver
offers no code at all. What a driver reports beyond the code (table, constraint,
columns, values: PostgreSQL's diagnostics, the text of SQLite's and MySQL's
messages) only fills the descriptive fields of :class:`EntryError`.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, ParamSpec, TypeVar

from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

P = ParamSpec("P")
T = TypeVar("T")


class TaskdbError(Exception):
    """Base class of every error taskdb raises."""


class EntryError(TaskdbError):
    """An error about an entry, with what is known of where it happened.

    Each field is None where it is not known:

    - ``table``: the table of the entry (``"units"``);
    - ``constraint``: the constraint the database enforced, by its name in taskdb's
      schema (``"uq_projects_project_name"``, ``"fk_units_task_id_tasks"``), also on
      SQLite files whose constraints have no name;
    - ``columns``: the columns concerned (``("assignment_id", "unit_index")``);
    - ``values``: the offending values by column: the taken key, the missing id of a
      dangling reference, the refused input.
    """

    def __init__(
        self,
        message: str = "",
        *,
        table: str | None = None,
        constraint: str | None = None,
        columns: Sequence[str] | None = None,
        values: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.table = table
        self.constraint = constraint
        self.columns: tuple[str, ...] | None = tuple(columns) if columns is not None else None
        self.values: dict[str, object] | None = dict(values) if values is not None else None


class EntryAlreadyExists(EntryError):
    """A unique constraint or primary key was hit."""


class EntryDoesNotExist(EntryError):
    """A lookup found nothing, or a reference points at a missing row."""


class InvalidEntry(EntryError, ValueError):
    """Input was rejected: the message names what is allowed."""


class DatabaseError(TaskdbError):
    """The database failed for a reason that is not the caller's input."""


class DatabaseMismatch(DatabaseError, RuntimeError):
    """The database is not one this taskdb can use as it is.

    Also a ``RuntimeError`` because the seed's callers catch that when a
    foreign file is refused.
    """


class ForeignDatabase(DatabaseMismatch):
    """The file or database belongs to another application (or is not SQLite)."""


class DatabaseTooNew(DatabaseMismatch):
    """The database was written by a newer taskdb: its revision is unknown here."""


class DatabaseBehind(DatabaseMismatch):
    """The database needs an upgrade that this open will not run by itself."""


class SchemaMismatch(DatabaseMismatch):
    """A database made by the seed code differs from the schema taskdb expects."""


class Violation(Enum):
    UNIQUE = "unique"
    FOREIGN_KEY = "foreign_key"
    NOT_NULL = "not_null"
    CHECK = "check"
    TOO_LONG = "too_long"


# SQLite extended result codes (sqlite3.h: SQLITE_CONSTRAINT_*).
_SQLITE_CODES = {
    2067: Violation.UNIQUE,  # SQLITE_CONSTRAINT_UNIQUE
    1555: Violation.UNIQUE,  # SQLITE_CONSTRAINT_PRIMARYKEY
    787: Violation.FOREIGN_KEY,  # SQLITE_CONSTRAINT_FOREIGNKEY
    1299: Violation.NOT_NULL,  # SQLITE_CONSTRAINT_NOTNULL
    275: Violation.CHECK,  # SQLITE_CONSTRAINT_CHECK
}
# PostgreSQL SQLSTATE class 23 (integrity constraint violation).
_SQLSTATES = {
    "23505": Violation.UNIQUE,
    "23503": Violation.FOREIGN_KEY,
    "23502": Violation.NOT_NULL,
    "23514": Violation.CHECK,
    "22001": Violation.TOO_LONG,  # string_data_right_truncation
}
# MySQL / MariaDB server error numbers.
_MYSQL_ERRNOS = {
    1062: Violation.UNIQUE,  # ER_DUP_ENTRY
    1586: Violation.UNIQUE,  # ER_DUP_ENTRY_WITH_KEY_NAME
    1452: Violation.FOREIGN_KEY,  # ER_NO_REFERENCED_ROW_2
    1451: Violation.FOREIGN_KEY,  # ER_ROW_IS_REFERENCED_2
    1216: Violation.FOREIGN_KEY,  # ER_NO_REFERENCED_ROW
    1217: Violation.FOREIGN_KEY,  # ER_ROW_IS_REFERENCED
    1048: Violation.NOT_NULL,  # ER_BAD_NULL_ERROR
    1364: Violation.NOT_NULL,  # ER_NO_DEFAULT_FOR_FIELD
    3819: Violation.CHECK,  # ER_CHECK_CONSTRAINT_VIOLATED
    4025: Violation.CHECK,  # MariaDB ER_CONSTRAINT_FAILED
    1406: Violation.TOO_LONG,  # ER_DATA_TOO_LONG: key text is VARCHAR(255) on MySQL
}
_MESSAGE_HINTS = (
    ("unique constraint", Violation.UNIQUE),
    ("duplicate", Violation.UNIQUE),
    ("foreign key", Violation.FOREIGN_KEY),
    ("not null", Violation.NOT_NULL),
    ("cannot be null", Violation.NOT_NULL),
    ("check constraint", Violation.CHECK),
)


def classify(driver_error: BaseException) -> Violation | None:
    """Name the constraint a DB-API error reports, or None if it is not one."""
    sqlite_code = getattr(driver_error, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return _SQLITE_CODES.get(sqlite_code)
    args = getattr(driver_error, "args", ())
    # Before SQLSTATE: MySQL reports one class-wide "23000" for every integrity error.
    if args and isinstance(args[0], int) and type(driver_error).__module__.startswith("pymysql"):
        return _MYSQL_ERRNOS.get(args[0])
    sqlstate = getattr(driver_error, "sqlstate", None)
    if isinstance(sqlstate, str):
        return _SQLSTATES.get(sqlstate)
    message = str(driver_error).lower()
    for hint, violation in _MESSAGE_HINTS:
        if hint in message:
            return violation
    return None


@dataclass(frozen=True)
class Detail:
    """Where a constraint was violated, as far as it is known: the fields of an EntryError.

    ``missing`` is a sentence naming the entry a dangling reference points at
    (``"no task has task_id 999 (units.task_id)"``), when it could be found.
    """

    table: str | None = None
    constraint: str | None = None
    columns: tuple[str, ...] | None = None
    values: Mapping[str, object] | None = None
    missing: str | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "constraint": self.constraint,
            "columns": self.columns,
            "values": self.values,
        }


# Attribute under which a repository leaves what it knows on the SQLAlchemy error it lets through.
_DETAIL_ATTRIBUTE = "taskdb_detail"


def annotate(error: BaseException, detail: Detail) -> None:
    """Attach what the caller knows of a violation (its table, the values it wrote) to ``error``.

    The error then goes on to the boundary (``operation``), whose translation uses it.
    """
    setattr(error, _DETAIL_ATTRIBUTE, detail)


_SQLITE_FAILED = re.compile(r"(?:UNIQUE|NOT NULL|PRIMARY KEY) constraint failed: (.+)")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (.+)")
_PG_KEY = re.compile(
    r"Key \((?P<columns>[^)]*)\)=\((?P<values>.*)\) (?:already exists|is not present)"
)
_MYSQL_DUPLICATE = re.compile(r"Duplicate entry '.*' for key '(?P<key>[^']+)'", re.DOTALL)
_MYSQL_FOREIGN_KEY = re.compile(
    r"\(`[^`]*`\.`(?P<table>[^`]+)`, CONSTRAINT `(?P<constraint>[^`]+)` "
    r"FOREIGN KEY \((?P<columns>[^)]*)\)"
)
_MYSQL_COLUMN = re.compile(r"[Cc]olumn '(?P<column>[^']+)'")


def reported(driver_error: BaseException) -> Detail:
    """What a driver's error says of the violation it reports: table, constraint, columns.

    Descriptive only: the classification (``classify``) is by code.
    """
    diag = getattr(driver_error, "diag", None)
    if diag is not None:  # psycopg: the server's structured diagnostics
        return _reported_by_postgresql(diag)
    args = getattr(driver_error, "args", ())
    if args and isinstance(args[0], int) and type(driver_error).__module__.startswith("pymysql"):
        return _reported_by_mysql(args[0], str(args[1]) if len(args) > 1 else "")
    message = str(driver_error)
    found = _SQLITE_FAILED.fullmatch(message)
    if found:
        # "UNIQUE constraint failed: units.assignment_id, units.unit_index"
        qualified = [part.strip().split(".", 1) for part in found.group(1).split(",")]
        if all(len(part) == 2 for part in qualified):
            tables = {table for table, _ in qualified}
            return Detail(
                table=tables.pop() if len(tables) == 1 else None,
                columns=tuple(column for _, column in qualified),
            )
    found = _SQLITE_CHECK.fullmatch(message)
    if found:
        return Detail(constraint=found.group(1))
    return Detail()


def _reported_by_postgresql(diag: Any) -> Detail:
    columns: tuple[str, ...] | None = None
    values: dict[str, object] | None = None
    if diag.column_name:
        columns = (str(diag.column_name),)
    found = _PG_KEY.match(str(diag.message_detail or ""))
    if found:
        columns = tuple(name.strip().strip('"') for name in found.group("columns").split(","))
        texts = found.group("values").split(", ")
        # Values come as text; a value holding ", " makes the split ambiguous: then none.
        if len(texts) == len(columns):
            values = dict(zip(columns, texts, strict=True))
    return Detail(
        table=diag.table_name or None,
        constraint=diag.constraint_name or None,
        columns=columns,
        values=values,
    )


def _reported_by_mysql(errno: int, message: str) -> Detail:
    found = _MYSQL_FOREIGN_KEY.search(message)
    if found:
        return Detail(
            table=found.group("table"),
            constraint=found.group("constraint"),
            columns=tuple(name.strip().strip("`") for name in found.group("columns").split(",")),
        )
    found = _MYSQL_DUPLICATE.search(message)
    if found:  # MySQL 8 writes the key as "table.key"
        return Detail(constraint=found.group("key").rsplit(".", 1)[-1])
    found = _MYSQL_COLUMN.search(message)
    if found and _MYSQL_ERRNOS.get(errno) in (Violation.NOT_NULL, Violation.TOO_LONG):
        return Detail(columns=(found.group("column"),))
    return Detail()


def translate(error: sa_exc.SQLAlchemyError, context: str = "") -> TaskdbError:
    """Return the taskdb error for a SQLAlchemy error; the caller raises it ``from`` it."""
    prefix = f"{context}: " if context else ""
    driver_error = getattr(error, "orig", None)
    violation = classify(driver_error) if driver_error is not None else None
    text = str(driver_error) if driver_error is not None else str(error)
    if violation is None or driver_error is None:
        return DatabaseError(f"{prefix}{text}")
    known = getattr(error, _DETAIL_ATTRIBUTE, None)
    detail = known if isinstance(known, Detail) else reported(driver_error)
    fields = detail.fields()
    if violation is Violation.UNIQUE:
        taken = _pairs(detail)
        where = f" in {detail.table}" if detail.table else ""
        return EntryAlreadyExists(
            f"{prefix}an entry with {taken} already exists{where} ({detail.constraint or text})"
            if taken
            else f"{prefix}an entry with these values already exists ({text})",
            **fields,
        )
    if violation is Violation.FOREIGN_KEY:
        if detail.missing:
            return EntryDoesNotExist(f"{prefix}{detail.missing}", **fields)
        return EntryDoesNotExist(f"{prefix}a referenced entry does not exist ({text})", **fields)
    if violation in (Violation.NOT_NULL, Violation.CHECK):
        return InvalidEntry(f"{prefix}a value was missing or not allowed ({text})", **fields)
    return InvalidEntry(f"{prefix}a value is longer than this engine allows ({text})", **fields)


def _pairs(detail: Detail) -> str:
    if not detail.columns or not detail.values:
        return ""
    if any(column not in detail.values for column in detail.columns):
        return ""
    return ", ".join(f"{column}={detail.values[column]!r}" for column in detail.columns)


@contextmanager
def translated(context: str = "") -> Iterator[None]:
    """Run a block, re-raising any SQLAlchemy or driver error as a taskdb error."""
    try:
        yield
    except sa_exc.SQLAlchemyError as error:
        raise translate(error, context) from error
    except sqlite3.Error as error:  # raised by the driver outside SQLAlchemy's wrapping
        raise translate(sa_exc.DBAPIError(None, None, error), context) from error
    except OverflowError as error:  # an int too large for the driver to bind
        prefix = f"{context}: " if context else ""
        raise InvalidEntry(f"{prefix}a number is out of the range a database can store") from error


def explain(error: ValidationError) -> str:
    """One line per problem of a pydantic validation: where it is, then what is allowed."""
    parts = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(step) for step in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def operation(doing: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """The error boundary of a repository method: only taskdb errors come out.

    ``doing`` says what the call was doing, for the message; ``{entity}`` in it is
    replaced by the repository's ``entity`` (the kind of row it holds). Entry errors
    get the repository's ``table`` where they name columns but no table: refused
    input (its fields and values), and errors the method raised itself.
    """

    def decorate(method: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(method)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return method(*args, **kwargs)
            except sa_exc.SQLAlchemyError as error:
                raise translate(error, _context(doing, args)) from error
            except sqlite3.Error as error:  # raised by the driver outside SQLAlchemy's wrapping
                wrapped = sa_exc.DBAPIError(None, None, error)
                raise translate(wrapped, _context(doing, args)) from error
            except ValidationError as error:
                raise InvalidEntry(
                    f"{_context(doing, args)}: {explain(error)}",
                    table=_table_name(args),
                    **refused_input(error),
                ) from error
            except EntryError as error:
                # Raised about columns of this repository's table: say which table.
                if error.table is None and error.columns is not None:
                    error.table = _table_name(args)
                raise
            except OverflowError as error:  # an int too large for the driver to bind
                raise InvalidEntry(
                    f"{_context(doing, args)}: a number is out of the range a database can store"
                ) from error

        return run

    return decorate


def refused_input(error: ValidationError) -> dict[str, Any]:
    """``columns`` and ``values`` of an InvalidEntry: the fields a validation refused."""
    values: dict[str, object] = {}
    for problem in error.errors(include_url=False):
        named = [step for step in problem["loc"] if isinstance(step, str)]
        if named:
            # A missing field has no value of its own (its "input" is the whole item).
            values[named[-1]] = None if problem["type"] == "missing" else problem["input"]
    if not values:
        return {}
    return {"columns": tuple(values), "values": values}


def _table_name(args: tuple[object, ...]) -> str | None:
    name = getattr(getattr(args[0], "table", None), "name", None) if args else None
    return name if isinstance(name, str) else None


def _context(doing: str, args: tuple[object, ...]) -> str:
    # Formatted only when a call fails: the happy path stays cheap.
    entity = getattr(args[0], "entity", "entry") if args else "entry"
    return doing.format(entity=entity)
