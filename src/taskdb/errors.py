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
import inspect
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import exc as sa_exc

from taskdb.driver_errors import Detail, Violation, attached, classify, reported

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


class InvalidType(InvalidEntry, TypeError):
    """Input of a type the argument does not take was rejected: also a ``TypeError``.

    A value of an accepted type that is not allowed (an empty name, an unknown status,
    an id out of range) is a plain :class:`InvalidEntry`. The seed code raised
    ``TypeError`` for wrong types (a missing argument, a set in JSON data), so
    callers' ``except TypeError`` handlers keep catching these; being an
    ``InvalidEntry`` too, ``except ValueError`` catches them as well.
    """


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


_UNENCODABLE = "text must be valid Unicode without lone surrogates, which no database stores"


def translate(error: sa_exc.SQLAlchemyError, context: str = "") -> TaskdbError:
    """Return the taskdb error for a SQLAlchemy error; the caller raises it ``from`` it."""
    prefix = f"{context}: " if context else ""
    if isinstance(error, sa_exc.ArgumentError):
        # SQLAlchemy refused an argument (an engine or execution option): the caller's input.
        return InvalidEntry(f"{prefix}{error}")
    driver_error = getattr(error, "orig", None)
    violation = classify(driver_error) if driver_error is not None else None
    text = str(driver_error) if driver_error is not None else str(error)
    if violation is None or driver_error is None:
        return DatabaseError(f"{prefix}{text}{_why_lost(driver_error)}")
    detail = attached(error) or reported(driver_error)
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


# MariaDB/MySQL client errors for a connection the server closed mid-statement.
_SERVER_GONE = frozenset({2006, 2013})


def _why_lost(driver_error: object) -> str:
    """A hint for MariaDB's lost connection: a value over max_allowed_packet ends it too."""
    args = getattr(driver_error, "args", ())
    if type(driver_error).__module__.startswith("pymysql") and args and args[0] in _SERVER_GONE:
        return (
            "; a statement larger than the server's max_allowed_packet (16 MiB by "
            "default) ends the connection this way: store large values in smaller parts"
        )
    return ""


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
    except UnicodeEncodeError as error:  # text the driver cannot encode (a lone surrogate)
        prefix = f"{context}: " if context else ""
        raise InvalidEntry(f"{prefix}{_UNENCODABLE} ({error})") from error


# The error type taskdb's own validators give a value of a type the field does not take.
WRONG_TYPE = "taskdb_type"
# pydantic's error types that say the same: its own end in "_type" ("string_type",
# "int_type", "model_type"...); these others are about the call's shape or the type too.
_TYPE_PROBLEMS = frozenset(
    {
        WRONG_TYPE,
        "missing",
        "extra_forbidden",
        "invalid_key",
        "is_instance_of",
        "is_subclass_of",
        "none_required",
        "set_item_not_hashable",
        "missing_argument",
        "missing_keyword_only_argument",
        "missing_positional_only_argument",
        "unexpected_keyword_argument",
        "unexpected_positional_argument",
        "multiple_argument_values",
    }
)


def is_type_problem(problem: ErrorDetails) -> bool:
    """Whether one problem of a pydantic validation is a wrong type rather than a bad value."""
    kind = problem["type"]
    return kind in _TYPE_PROBLEMS or kind.endswith("_type")


def refusal(message: str, error: ValidationError, **fields: Any) -> InvalidEntry:
    """The error for refused input: ``InvalidType`` if any problem is a wrong type.

    A call with a wrong type somewhere is a ``TypeError`` as the seed's was, even when
    another argument also has a bad value (the error is an ``InvalidEntry`` either way).
    """
    problems = error.errors(include_url=False)
    kind = InvalidType if any(is_type_problem(problem) for problem in problems) else InvalidEntry
    return kind(message, **fields)


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
                raise refusal(
                    f"{_context(doing, args)}: {explain(error)}",
                    error,
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
            except UnicodeEncodeError as error:  # text the driver cannot encode (a lone surrogate)
                raise InvalidEntry(f"{_context(doing, args)}: {_UNENCODABLE} ({error})") from error
            except TypeError as error:
                if wrong_call(method, args, kwargs, error):
                    raise InvalidType(f"{_context(doing, args)}: {error}") from error
                raise

        return run

    return decorate


def wrong_call(
    function: Callable[..., Any],
    args: tuple[object, ...],
    kwargs: Mapping[str, object],
    error: TypeError,
) -> bool:
    """Whether ``error`` says ``function`` was called with a missing or unexpected argument."""
    if error.__traceback__ is not None and error.__traceback__.tb_next is None:
        return True  # raised by the call itself, not inside
    try:
        # A @contextmanager function binds its arguments a few frames down.
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError:
        return True
    return False


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
