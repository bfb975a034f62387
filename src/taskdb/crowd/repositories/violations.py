"""What a refused write broke: its table, constraint, columns and values, and a missing reference.

A repository that writes knows more than the driver says: the table, the values it
sent, taskdb's name for each constraint. :func:`describe` combines the two into the
:class:`~taskdb.errors.Detail` the error boundary turns into fields of the error.

A dangling reference is named on every engine in one shape, "no task has task_id
999 (units.task_id)". PostgreSQL and MariaDB name the foreign key; SQLite says only
"FOREIGN KEY constraint failed", so there the repository asks, inside the failed
call's own transaction, which referenced id is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKeyConstraint,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
    select,
    tuple_,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.sql.schema import ColumnCollectionConstraint

from taskdb.backends import backend_for
from taskdb.driver_errors import Detail, Violation, classify, reported

# Table name -> what one of its rows is called ("task_runs" -> "task run"), filled by
# each repository class as it is defined.
ENTITIES: dict[str, str] = {}

Row = Mapping[str, Any]


def describe(
    connection: Connection, error: sa_exc.DBAPIError, table: Table, rows: Sequence[Row]
) -> Detail | None:
    """The violation ``error`` reports for writing ``rows`` to ``table``; None if it is none.

    Only describes: a failure while looking (the lookup on SQLite) gives less detail,
    never another error.
    """
    violation = classify(error.orig) if error.orig is not None else None
    if error.orig is None or violation is None:
        return None
    told = reported(error.orig)
    if told.table is not None and told.table != table.name:
        return told  # about another table than the one written: keep what the driver said
    if violation is Violation.FOREIGN_KEY:
        try:
            return _dangling(connection, table, rows, told)
        except sa_exc.SQLAlchemyError:
            return Detail(table=table.name, constraint=told.constraint, columns=told.columns)
    columns = told.columns
    constraint = told.constraint
    if violation is not Violation.UNIQUE:  # a missing or too long value: its column
        values = _given(rows, columns) if len(rows) == 1 else None
        return Detail(table=table.name, constraint=constraint, columns=columns, values=values)
    if constraint is None and columns is not None:
        constraint = _constraint_on(table, columns)
    if columns is None and constraint is not None:
        columns = _columns_of(table, constraint)
    values = None
    if columns is not None:
        try:
            values = _taken(connection, table, columns, rows, told.values)
        except sa_exc.SQLAlchemyError:
            values = None
    return Detail(
        table=table.name,
        constraint=constraint,
        columns=columns,
        values=values if values is not None else told.values,
    )


def _given(rows: Sequence[Row], columns: Sequence[str] | None) -> dict[str, Any] | None:
    """The values of ``columns`` in the one row written, as given (not as the driver prints)."""
    if columns is None or len(rows) != 1 or any(name not in rows[0] for name in columns):
        return None
    return {name: rows[0][name] for name in columns}


def _taken(
    connection: Connection,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[Row],
    printed: Mapping[str, object] | None,
) -> dict[str, Any] | None:
    """The key, among ``rows``, that a unique constraint over ``columns`` refused."""
    if any(name not in row for row in rows for name in columns):
        return None
    keys = [tuple(row[name] for name in columns) for row in rows]
    if len(keys) == 1:
        return dict(zip(columns, keys[0], strict=True))
    if printed is not None:  # PostgreSQL prints the key as text: the row it came from
        texts = tuple(str(printed.get(name)) for name in columns)
        key = next((key for key in keys if tuple(map(str, key)) == texts), None)
        return dict(zip(columns, key, strict=True)) if key is not None else None
    seen: set[tuple[Any, ...]] = set()
    for key in keys:  # two rows of one bulk insert
        if key in seen:
            return dict(zip(columns, key, strict=True))
        seen.add(key)
    backend = backend_for(connection)
    if not backend.reads_after_a_failed_statement:
        return None
    # A row already stored: asked inside the failed call's transaction.
    key_columns = [table.c[name] for name in columns]
    (primary,) = table.primary_key.columns
    found = connection.execute(select(*key_columns, primary).where(tuple_(*key_columns).in_(keys)))
    stored = {tuple(row[:-1]): row[-1] for row in found}
    if backend.returns_ids_in_order:
        # The bulk insert was one statement per chunk: none of the chunk's rows is written.
        refused = next((key for key in keys if key in stored), None)
    else:
        refused = _refused_in_sequence(keys, stored)
    return dict(zip(columns, refused, strict=True)) if refused is not None else None


def _refused_in_sequence(keys: list[tuple[Any, ...]], stored: dict[tuple[Any, ...], Any]) -> Any:
    """The refused key of a bulk insert that ran row by row (SQLite's executemany).

    The rows before the refused one are written, in this transaction, with consecutive
    ids (AUTOINCREMENT under the write lock); the refused row's key belongs to an older
    row, whose id is smaller. So the refused row is the first that breaks the run of ids.
    """
    if not keys or keys[0] not in stored:
        return None
    previous = stored[keys[0]]
    for index, key in enumerate(keys[1:], 1):
        if key not in stored:  # not reached by the insert: the one before it was refused
            return keys[0] if index == 1 else None
        if stored[key] != previous + 1:
            return key
        previous = stored[key]
    return keys[0]


def _constraint_on(table: Table, columns: Sequence[str]) -> str | None:
    """taskdb's name of the unique key or primary key of ``table`` over exactly ``columns``."""
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint) and {
            column.name for column in constraint.columns
        } == set(columns):
            return str(constraint.name)
    return None


def _columns_of(table: Table, name: str) -> tuple[str, ...] | None:
    for constraint in table.constraints:
        if isinstance(constraint, ColumnCollectionConstraint) and constraint.name == name:
            return tuple(column.name for column in constraint.columns)
    return None


def _references(table: Table) -> list[ForeignKeyConstraint]:
    # In column order, so the first missing reference of a row is the first one named.
    position = {column.name: index for index, column in enumerate(table.columns)}
    return sorted(table.foreign_key_constraints, key=lambda fk: position[fk.column_keys[0]])


def _dangling(connection: Connection, table: Table, rows: Sequence[Row], told: Detail) -> Detail:
    references = _references(table)
    if told.constraint is not None:
        references = [fk for fk in references if fk.name == told.constraint]
    elif told.columns is not None:
        references = [fk for fk in references if tuple(fk.column_keys) == told.columns]
    # Each (reference, value) the write sent, in row then column order.
    sent: list[tuple[ForeignKeyConstraint, Any]] = []
    for row in rows:
        for fk in references:
            value = row.get(fk.column_keys[0])
            if value is not None and (fk, value) not in sent:
                sent.append((fk, value))
    missing = None
    if len(sent) == 1:
        missing = sent[0]
    elif told.values is not None:  # PostgreSQL prints the key it did not find
        missing = next(
            ((fk, value) for fk, value in sent if told.values.get(fk.column_keys[0]) == str(value)),
            None,
        )
    elif sent and backend_for(connection).reads_after_a_failed_statement:
        missing = _first_missing(connection, sent)
    if missing is None:
        fallback = str(references[0].name) if len(references) == 1 else told.constraint
        return Detail(table=table.name, constraint=fallback, columns=told.columns)
    fk, value = missing
    column = fk.column_keys[0]
    referred: Column[Any] = fk.elements[0].column
    entity = ENTITIES.get(referred.table.name, referred.table.name)
    return Detail(
        table=table.name,
        constraint=str(fk.name),
        columns=(column,),
        values={column: value},
        missing=f"no {entity} has {referred.name} {value} ({table.name}.{column})",
    )


def _first_missing(
    connection: Connection, sent: list[tuple[ForeignKeyConstraint, Any]]
) -> tuple[ForeignKeyConstraint, Any] | None:
    """The first sent reference whose entry does not exist, asked in the failed transaction."""
    found: dict[ForeignKeyConstraint, set[Any]] = {}
    for fk in dict.fromkeys(fk for fk, _ in sent):
        referred: Column[Any] = fk.elements[0].column
        wanted = [value for each, value in sent if each is fk]
        found[fk] = set(connection.scalars(select(referred).where(referred.in_(wanted))))
    return next(((fk, value) for fk, value in sent if value not in found[fk]), None)
