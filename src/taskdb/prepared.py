"""Core statements compiled once, then run on a held SQLite connection's own driver.

Most of a SQLite point read through ``Connection.execute`` is SQLAlchemy's execution
machinery (execution context, result metadata, event dispatch): about 15 of its
20 µs, where the driver needs 5. A held read skips it. The SQL is still the Core
statement, compiled by SQLAlchemy for the engine's dialect, and values and rows
pass through the same type processors SQLAlchemy would apply (SQLite's 0/1
booleans). A statement this cannot run the same way is left to Core.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

Processor = Callable[[Any], Any]


class Prepared:
    """One SELECT as SQLite's driver runs it: its SQL, its parameters in order, its processors."""

    __slots__ = ("_binds", "_fixed", "_order", "_results", "sql")

    def __init__(
        self,
        sql: str,
        order: tuple[str, ...],
        fixed: dict[str, Any],
        binds: tuple[tuple[int, Processor], ...],
        results: tuple[tuple[int, Processor], ...],
    ) -> None:
        self.sql = sql
        self._order = order
        self._fixed = fixed  # values the statement carries itself (a literal compared to)
        self._binds = binds
        self._results = results

    def rows(
        self, driver: sqlite3.Connection, parameters: Mapping[str, Any]
    ) -> list[Sequence[Any]]:
        """Every row of the statement with ``parameters``, processed as Core would."""
        given = {**self._fixed, **parameters} if self._fixed else parameters
        values = [given[name] for name in self._order]
        for position, process in self._binds:
            values[position] = process(values[position])
        try:
            rows: list[Sequence[Any]] = driver.execute(self.sql, values).fetchall()
        except sqlite3.Error as error:
            # Wrapped as Core wraps it, so both paths fail with the same exceptions.
            raise DBAPIError.instance(self.sql, values, error, sqlite3.Error) from error
        if self._results:
            rows = [self._processed(row) for row in rows]
        return rows

    def _processed(self, row: Sequence[Any]) -> Sequence[Any]:
        values = list(row)
        for position, process in self._results:
            values[position] = process(values[position])
        return values


def prepare(statement: Select[Any], dialect: Dialect) -> Prepared | None:
    """``statement`` compiled for SQLite's driver, or None where only Core runs it the same.

    None for a statement with a value computed per execution, or one SQLAlchemy renders
    into the SQL at each execution (an expanding IN list, a ``literal_execute`` value),
    or a dialect whose driver is not ``sqlite3`` with its ``?`` placeholders.
    """
    if dialect.driver != "pysqlite" or dialect.paramstyle != "qmark":
        return None
    compiled = statement.compile(dialect=dialect)
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None  # rendered into the SQL at each execution
    order = tuple(compiled.positiontup or ())
    fixed: dict[str, Any] = {}
    binds: list[tuple[int, Processor]] = []
    for position, name in enumerate(order):
        bind = compiled.binds[name]
        if bind.expanding or bind.callable is not None or bind.isoutparam:
            return None
        if not bind.required:
            fixed[name] = bind.value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds.append((position, process))
    results: list[tuple[int, Processor]] = []
    for position, column in enumerate(statement.selected_columns):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            results.append((position, process))
    return Prepared(str(compiled), order, fixed, tuple(binds), tuple(results))
