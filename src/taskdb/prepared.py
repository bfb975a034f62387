"""Core statements compiled once, then run on a SQLite connection's own driver.

Most of a SQLite point read through ``Connection.execute`` is SQLAlchemy's execution
machinery (execution context, result metadata, event dispatch): about 15 of its
20 µs, where the driver needs 5; a one-row write spends as much around its INSERT.
Held reads and one-row writes skip it. The SQL is still the Core statement,
compiled by SQLAlchemy for the engine's dialect, and values and rows pass through
the same type processors SQLAlchemy would apply (SQLite's 0/1 booleans). A
statement this cannot run the same way, or one something watches (:func:`unwatched`),
is left to Core.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Engine, Select
from sqlalchemy.engine import Connection, CursorResult, Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

Processor = Callable[[Any], Any]
Statement = Select[Any] | UpdateBase


class Prepared:
    """One statement as SQLite's driver runs it: its SQL, parameters in order, processors."""

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
        values = self._values(parameters)
        try:
            rows: list[Sequence[Any]] = driver.execute(self.sql, values).fetchall()
        except sqlite3.Error as error:
            raise self._wrapped(error, values) from error
        if self._results:
            rows = [self._processed(row) for row in rows]
        return rows

    def run(self, driver: sqlite3.Connection, parameters: Mapping[str, Any]) -> sqlite3.Cursor:
        """Run a write with ``parameters``; its cursor tells ``rowcount`` and ``lastrowid``."""
        values = self._values(parameters)
        try:
            return driver.execute(self.sql, values)
        except sqlite3.Error as error:
            raise self._wrapped(error, values) from error

    def _values(self, parameters: Mapping[str, Any]) -> list[Any]:
        try:
            values = [parameters[name] for name in self._order]
        except KeyError:
            # As Core: the statement's own values filled in, a missing one refused.
            given = self._compiled.construct_params(parameters)
            values = [given[name] for name in self._order]
        for position, process in self._binds:
            values[position] = process(values[position])
        return values

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


def prepare(
    statement: Statement, engine: Engine, keys: Sequence[str] | None = None
) -> Prepared | None:
    """``statement`` compiled for SQLite's driver, or None where only Core runs it the same.

    ``keys``: the parameter names a write is given, which decide its columns (as Core
    compiles it). None for a statement SQLAlchemy renders anew at each execution (an
    expanding IN list, a ``literal_execute`` value), a write that needs SQLAlchemy
    after the driver (Python-side defaults, RETURNING), or an engine whose driver is
    not ``sqlite3`` with its ``?`` placeholders.
    """
    dialect: Dialect = engine.dialect
    if not _sqlite3_driver(dialect):
        return None
    compiled = statement.compile(dialect=dialect, column_keys=None if keys is None else list(keys))
    assert isinstance(compiled, SQLCompiler)  # a SELECT or DML statement compiles to one
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.effective_returning:
        return None
    order = tuple(compiled.positiontup or ())
    binds: list[tuple[int, Processor]] = []
    for position, name in enumerate(order):
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds.append((position, process))
    results: list[tuple[int, Processor]] = []
    if isinstance(statement, Select):
        for position, column in enumerate(statement.selected_columns):
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                results.append((position, process))
    return Prepared(compiled, order, tuple(binds), tuple(results), engine)


def unwatched(connection: Connection) -> bool:
    """No listener expects to see a statement on ``connection`` run through SQLAlchemy."""
    # The connection's events join its engine's and those of every Connection/Engine.
    events, driver_events = connection.dispatch, connection.dialect.dispatch
    return not (
        events.before_execute
        or events.before_cursor_execute
        or events.after_cursor_execute
        or events.after_execute
        or driver_events.do_execute
        or driver_events.handle_error
    )


Written = CursorResult[Any] | sqlite3.Cursor


class DriverWrites:
    """One-row writes of a SQLite engine, run on the connection's driver where Core adds nothing.

    A write goes to Core instead when something would see the difference: execute or
    error listeners, execution options (``schema_translate_map``, ...), SQL logging.
    It runs in the transaction (and savepoint) the connection has begun, since
    taskdb's engine sends ``BEGIN IMMEDIATE`` on the driver itself.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._prepared: dict[tuple[UpdateBase, tuple[str, ...]], Prepared | None] = {}

    def may_skip_core(self, connection: Connection) -> bool:
        """Whether nothing would see a write on ``connection`` skip Core."""
        return not (
            connection.get_execution_options()
            or connection.engine.logger.isEnabledFor(logging.INFO)
            or not unwatched(connection)
        )

    def execute(
        self,
        connection: Connection,
        statement: UpdateBase,
        parameters: Mapping[str, Any],
        *,
        skip_core: bool,
    ) -> Written:
        """``statement`` with one row of ``parameters``: the driver's cursor, or Core's result.

        ``skip_core``: what :meth:`may_skip_core` said of ``connection``.
        """
        prepared = self._prepare(statement, tuple(sorted(parameters))) if skip_core else None
        if prepared is None:
            return connection.execute(statement, parameters)
        # Asked each time: a closed connection raises here as Core's execute would.
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        try:
            return prepared.run(driver, parameters)
        except DBAPIError as error:
            if error.connection_invalidated:
                connection.invalidate(error)
            raise
        except Exception:
            raise
        except BaseException:
            # As Core: an interrupt may have cut the statement short, so the connection goes.
            connection.invalidate()
            raise

    def _prepare(self, statement: UpdateBase, keys: tuple[str, ...]) -> Prepared | None:
        try:
            return self._prepared[statement, keys]
        except KeyError:
            # Two threads may both compile it once; either result is the same.
            prepared = self._prepared[statement, keys] = prepare(statement, self._engine, keys)
            return prepared


def driver_writes(engine: Engine) -> DriverWrites | None:
    """The engine's one-row writes on the driver: SQLite's ``sqlite3`` only."""
    return DriverWrites(engine) if _sqlite3_driver(engine.dialect) else None


def _sqlite3_driver(dialect: Dialect) -> bool:
    return dialect.driver == "pysqlite" and dialect.paramstyle == "qmark"
