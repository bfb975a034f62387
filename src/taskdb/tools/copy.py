"""Copy a store's data from one database to another: the move from SQLite to a server.

The target must be at head and empty; the copy runs in one target transaction,
so a failure leaves it empty. Ids are kept, rows go in their insertion order,
and server sequences continue after the copied ids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from taskdb.backends import READ_ONLY, backend_for, parse_url
from taskdb.engine import create_engine, database_file, public_url
from taskdb.errors import (
    DatabaseError,
    DatabaseMismatch,
    EntryDoesNotExist,
    InvalidEntry,
    translated,
)
from taskdb.lifecycle.open import prepare
from taskdb.lifecycle.status import State, read_status
from taskdb.spec import StoreSpec

BATCH_ROWS = 1_000
log = logging.getLogger(__name__)


def copy_database(spec: StoreSpec, source_url: str, target_url: str) -> dict[str, int]:
    """Copy every row of ``spec``'s tables; return the number of rows copied per table."""
    if same_database(source_url, target_url):
        raise DatabaseMismatch(
            f"the source and the target are one database ({public_url(source_url)}): "
            "copy reads one database and writes another"
        )
    source = create_engine(source_url, spec)
    target = create_engine(target_url, spec)
    try:
        _require_current_source(source, spec)
        prepare(target, spec)
        try:
            with translated(f"copying the {spec.name} store"):
                return _copy(spec, source, target)
        except InvalidEntry as refused:
            # A source row the target cannot hold: the data's limit, not a bad request.
            raise DatabaseError(
                f"{refused}; the target is left empty: change that row in the source "
                "(or the target's limits) and copy again"
            ) from refused
    finally:
        source.dispose()
        target.dispose()


def same_database(first: str, second: str) -> bool:
    """Whether two URLs name one database: a file by its path, a server by host, port, name."""
    one_file, two_file = database_file(first), database_file(second)
    if one_file is not None or two_file is not None:
        return (
            one_file is not None
            and two_file is not None
            and one_file.resolve() == (two_file.resolve())
        )
    one, two = parse_url(first), parse_url(second)
    return (one.get_backend_name(), one.host or "localhost", one.port, one.database) == (
        two.get_backend_name(),
        two.host or "localhost",
        two.port,
        two.database,
    )


def _require_current_source(source: Engine, spec: StoreSpec) -> None:
    """The source is only read: it must exist and be at head already."""
    status = read_status(source, spec)
    if status.state is State.CURRENT:
        return
    if status.state is State.FRESH:
        raise EntryDoesNotExist(f"there is no {spec.name} database at {status.url} to copy from")
    advice = {
        State.LEGACY: f"adopt it first: `{spec.command('adopt', status.url)}`",
        State.BEHIND: f"upgrade it first: `{spec.command('upgrade', status.url)}`",
    }.get(status.state, status.detail or "taskdb cannot read it")
    raise DatabaseMismatch(
        f"the source {status.url} is {status.state.value}, not current; {advice}"
    )


def _copy(spec: StoreSpec, source: Engine, target: Engine) -> dict[str, int]:
    tables = spec.metadata.sorted_tables
    copied: dict[str, int] = {}
    reader = source.execution_options(**{READ_ONLY: True})
    with reader.connect() as read, target.begin() as write:
        _refuse_non_empty(write, tables, target)
        # Keys declared use_alter close a cycle (units <-> agents): fill them in afterwards.
        deferred = {
            table.name: [fk.parent.name for fk in table.foreign_keys if fk.use_alter]
            for table in tables
        }
        for table in tables:
            copied[table.name] = 0
            for batch in _batches(read, table):
                rows = [{**row, **dict.fromkeys(deferred[table.name])} for row in batch]
                write.execute(sa.insert(table), rows)
                copied[table.name] += len(rows)
                log.info("%s: %d rows", table.name, copied[table.name])
        for table in tables:
            if deferred[table.name]:
                _patch_deferred(read, write, table, deferred[table.name])
        backend_for(write).continue_sequences(write, tables)
    return copied


def _refuse_non_empty(write: Connection, tables: list[sa.Table], target: Engine) -> None:
    for table in tables:
        if write.execute(sa.select(sa.func.count()).select_from(table)).scalar_one():
            raise DatabaseMismatch(
                f"{public_url(target)} already holds rows in "
                f"{table.name}; copy into an empty database"
            )


def _insertion_order(read: Connection, table: sa.Table) -> sa.ColumnElement[object]:
    (key,) = table.primary_key.columns
    if isinstance(key.type, sa.Integer):
        return key
    # Text keys (quantum tasks): SQLite's rowid, or the servers' insert_seq counter.
    return sa.literal_column(backend_for(read).insertion_order)


def _batches(read: Connection, table: sa.Table) -> Iterator[list[dict[str, object]]]:
    query = sa.select(*table.columns).order_by(_insertion_order(read, table))
    result = read.execution_options(yield_per=BATCH_ROWS).execute(query)
    for partition in result.mappings().partitions():
        yield [dict(row) for row in partition]


def _patch_deferred(
    read: Connection, write: Connection, table: sa.Table, columns: list[str]
) -> None:
    (key,) = table.primary_key.columns
    query = sa.select(key, *(table.c[name] for name in columns)).where(
        sa.or_(*(table.c[name].is_not(None) for name in columns))
    )
    update = (
        sa.update(table)
        .where(key == sa.bindparam("_key"))
        .values({name: sa.bindparam(f"_{name}") for name in columns})
    )
    result = read.execution_options(yield_per=BATCH_ROWS).execute(query)
    for partition in result.mappings().partitions():
        write.execute(
            update,
            [
                {"_key": row[key.name], **{f"_{name}": row[name] for name in columns}}
                for row in partition
            ],
        )
