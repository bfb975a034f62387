"""Adopt a SQLite file made by the seed code: compare its schema, then stamp it in place.

Rows are never touched. The comparison is exact (declared types, AUTOINCREMENT,
NOT NULL, keys, unique sets, named indexes); named indexes the baseline has and
the file lacks are added, anything else that differs refuses the file unchanged.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from typing import cast

from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy.pool import StaticPool

from taskdb.engine import Database, create_engine, enable_wal
from taskdb.errors import SchemaMismatch, translated
from taskdb.lifecycle.backup import backup_sqlite
from taskdb.lifecycle.history import alembic_config, baseline_revision, script_directory
from taskdb.schema.shape import Comparison, TableShape, compare, describe
from taskdb.spec import StoreSpec

log = logging.getLogger(__name__)


def adopt_locked(database: Database) -> None:
    """Adopt a legacy SQLite file; the caller holds the migration lock."""
    spec, engine = database.spec, database.engine
    with translated(f"adopting the {spec.name} database"):
        with engine.connect() as connection:
            found = describe(connection, spec.tables)
        comparison = compare(expected_sqlite_shape(spec), found)
        if comparison.problems:
            raise SchemaMismatch(_mismatch_message(database, comparison))
        backup_sqlite(database, "legacy")
        log.info("adopting %s as the %s baseline", database.url, spec.name)
        # One transaction: indexes, header tag and version row land together or not at all.
        with engine.begin() as connection:
            for index, table, columns in comparison.missing_indexes:
                connection.exec_driver_sql(
                    f'CREATE INDEX "{index}" ON "{table}" ({", ".join(columns)})'
                )
            connection.exec_driver_sql(f"PRAGMA application_id = {spec.application_id}")
            MigrationContext.configure(
                connection, opts={"version_table": spec.version_table}
            ).stamp(script_directory(spec), baseline_revision(spec))
        raw = engine.raw_connection()
        try:
            # Only now that the file is ours; journal_mode cannot change inside a transaction.
            enable_wal(cast(sqlite3.Connection, raw.driver_connection))
        finally:
            raw.close()


def _mismatch_message(database: Database, comparison: Comparison) -> str:
    listed = "\n  - ".join(comparison.problems)
    return (
        f"{database.url} looks like a {database.spec.name} database made by the seed code, "
        f"but its schema differs from the baseline; nothing was changed:\n  - {listed}"
    )


@functools.cache
def expected_sqlite_shape(spec: StoreSpec, revision: str | None = None) -> dict[str, TableShape]:
    """The exact SQLite schema at ``revision`` (default: the baseline), built in memory."""
    engine = create_engine("sqlite://", spec, poolclass=StaticPool)
    try:
        with engine.connect() as connection:
            config = alembic_config(spec, connection=connection)
            command.upgrade(config, revision or baseline_revision(spec))
            return describe(connection, spec.tables)
    finally:
        engine.dispose()
