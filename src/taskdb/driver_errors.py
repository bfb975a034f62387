"""What a DB-API error says: which constraint it reports (by code), where, on what values.

The classification is by error *code* (SQLite extended result codes, PostgreSQL
SQLSTATE, MySQL errno); message text is consulted only when a driver offers no
code at all, and to fill the descriptive fields (table, constraint, columns) that
``taskdb.errors.translate`` puts on the error it raises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


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


def attached(error: BaseException) -> Detail | None:
    """What a repository attached to ``error`` with :func:`annotate`, if anything."""
    found = getattr(error, _DETAIL_ATTRIBUTE, None)
    return found if isinstance(found, Detail) else None


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
