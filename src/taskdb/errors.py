"""The exception tree and the one place that classifies database errors.

Every public call of taskdb raises only the types below. Driver errors are
classified by their error *code* (SQLite extended result codes, PostgreSQL
SQLSTATE, MySQL errno); the message text is consulted only when a driver
offers no code at all.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import ParamSpec, TypeVar

from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

P = ParamSpec("P")
T = TypeVar("T")


class TaskdbError(Exception):
    """Base class of every error taskdb raises."""


class EntryAlreadyExists(TaskdbError):
    """A unique constraint or primary key was hit."""


class EntryDoesNotExist(TaskdbError):
    """A lookup found nothing, or a reference points at a missing row."""


class InvalidEntry(TaskdbError, ValueError):
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


class DamagedDatabase(DatabaseMismatch):
    """The file is damaged (truncated, or SQLite finds it corrupt); it was left untouched."""


class SchemaMismatch(DatabaseMismatch):
    """The schema is not the one taskdb expects; nothing was written.

    A seed-made file unlike the baseline, or a database whose tables, columns or
    user_version are not its revision's: another program (UnifiedQuantum's own
    migrations, say) changed it.
    """


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


# SQLite's primary result codes for a file it cannot trust (SQLITE_CORRUPT, SQLITE_NOTADB).
_SQLITE_DAMAGE = (11, 26)


def reports_damage(error: BaseException) -> bool:
    """Whether SQLite said, somewhere in this chain of errors, that the file is corrupt."""
    seen: BaseException | None = error
    while seen is not None:
        code = getattr(getattr(seen, "orig", seen), "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in _SQLITE_DAMAGE:
            return True
        seen = seen.__cause__
    return False


def translate(error: sa_exc.SQLAlchemyError, context: str = "") -> TaskdbError:
    """Return the taskdb error for a SQLAlchemy error; the caller raises it ``from`` it."""
    prefix = f"{context}: " if context else ""
    if isinstance(error, sa_exc.ArgumentError):
        # SQLAlchemy refused an argument (an engine or execution option): the caller's input.
        return InvalidEntry(f"{prefix}{error}")
    driver_error = getattr(error, "orig", None)
    violation = classify(driver_error) if driver_error is not None else None
    detail = str(driver_error) if driver_error is not None else str(error)
    if violation is Violation.UNIQUE:
        return EntryAlreadyExists(f"{prefix}an entry with these values already exists ({detail})")
    if violation is Violation.FOREIGN_KEY:
        return EntryDoesNotExist(f"{prefix}a referenced entry does not exist ({detail})")
    if violation in (Violation.NOT_NULL, Violation.CHECK):
        return InvalidEntry(f"{prefix}a value was missing or not allowed ({detail})")
    if violation is Violation.TOO_LONG:
        return InvalidEntry(f"{prefix}a value is longer than this engine allows ({detail})")
    return DatabaseError(f"{prefix}{detail}")


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
    replaced by the repository's ``entity`` (the kind of row it holds).
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
                raise InvalidEntry(f"{_context(doing, args)}: {explain(error)}") from error
            except OverflowError as error:  # an int too large for the driver to bind
                raise InvalidEntry(
                    f"{_context(doing, args)}: a number is out of the range a database can store"
                ) from error

        return run

    return decorate


def _context(doing: str, args: tuple[object, ...]) -> str:
    # Formatted only when a call fails: the happy path stays cheap.
    entity = getattr(args[0], "entity", "entry") if args else "entry"
    return doing.format(entity=entity)
