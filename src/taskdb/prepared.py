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
from typing import Any, cast

from sqlalchemy import Engine, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]


class Prepared:
    """One SELECT as SQLite's driver runs it: its SQL, its parameters in order, its processors."""

    __slots__ = ("_binds", "_compiled", "_dialect", "_hidden", "_order", "_results", "sql")

    def __init__(
        self,
        compiled: SQLCompiler,
        order: tuple[str, ...],
        binds: tuple[tuple[int, Processor], ...],
        results: tuple[tuple[int, Processor], ...],
        engine: Engine,
    ) -> None:
        self.sql = compiled.string
        self._compiled = compiled
        self._order = order
        self._binds = binds
        self._results = results
        self._dialect = engine.dialect
        self._hidden = engine.hide_parameters

    def rows(
        self, driver: sqlite3.Connection, parameters: Mapping[str, Any]
    ) -> list[Sequence[Any]]:
        """Every row of the statement with ``parameters``, processed as Core would."""
        try:
            values = [parameters[name] for name in self._order]
        except KeyError:
            # As Core: the statement's own values filled in, a missing one refused.
            given = self._compiled.construct_params(parameters)
            values = [given[name] for name in self._order]
        for position, process in self._binds:
            values[position] = process(values[position])
        try:
            rows: list[Sequence[Any]] = driver.execute(self.sql, values).fetchall()
        except sqlite3.Error as error:
            raise self._wrapped(error, values) from error
        if self._results:
            rows = [self._processed(row) for row in rows]
        return rows

    def _wrapped(self, error: sqlite3.Error, values: list[Any]) -> StatementError:
        """The exception Core raises for ``error``: its class, its parameters hidden or shown."""
        return DBAPIError.instance(
            self.sql,
            values,
            error,
            sqlite3.Error,
            hide_parameters=self._hidden,
            # The dialect's own test for a connection that is gone (a closed database).
            connection_invalidated=self._dialect.is_disconnect(cast(Any, error), None, None),
            dialect=self._dialect,
        )

    def _processed(self, row: Sequence[Any]) -> Sequence[Any]:
        values = list(row)
        for position, process in self._results:
            values[position] = process(values[position])
        return values


def prepare(statement: Select[Any], engine: Engine) -> Prepared | None:
    """``statement`` compiled for SQLite's driver, or None where only Core runs it the same.

    None for a statement SQLAlchemy renders anew at each execution (an expanding IN
    list, a ``literal_execute`` value), or an engine whose driver is not ``sqlite3``
    with its ``?`` placeholders.
    """
    dialect: Dialect = engine.dialect
    if dialect.driver != "pysqlite" or dialect.paramstyle != "qmark":
        return None
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)  # a SELECT compiles to one
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None
    order = tuple(compiled.positiontup or ())
    binds: list[tuple[int, Processor]] = []
    for position, name in enumerate(order):
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds.append((position, process))
    results: list[tuple[int, Processor]] = []
    for position, column in enumerate(statement.selected_columns):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            results.append((position, process))
    return Prepared(compiled, order, tuple(binds), tuple(results), engine)
