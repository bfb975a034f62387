"""Programmatic status, upgrade, adoption and open, over the same Alembic scripts as the shell.

Opening a database decides among six states (see :class:`State`). Only SQLite
databases are upgraded or adopted on open; server databases are upgraded
explicitly and otherwise refused with the command to run.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.pool import StaticPool

from taskdb.engine import READ_ONLY, create_engine, enable_wal, is_sqlite, sqlite_path
from taskdb.errors import (
    DatabaseBehind,
    DatabaseError,
    DatabaseTooNew,
    ForeignDatabase,
    SchemaMismatch,
    translated,
)
from taskdb.lifecycle.env import CONNECTION, URL
from taskdb.locking import migration_lock
from taskdb.sqlite_shape import Comparison, TableShape, compare, describe
from taskdb.stores import StoreSpec

# Called with (revision being applied or copied, detail) while long operations run.
Progress = Callable[[str], None]


class State(StrEnum):
    FRESH = "fresh"  # nothing of this store yet
    CURRENT = "current"  # at this taskdb's head revision
    BEHIND = "behind"  # at an older revision this taskdb knows
    AHEAD = "ahead"  # at a revision this taskdb does not know: written by a newer taskdb
    LEGACY = "legacy"  # made by the seed code: tables present, no version table
    FOREIGN = "foreign"  # another application's file, or not SQLite at all


@dataclass(frozen=True)
class DatabaseStatus:
    store: str
    url: str
    state: State
    revision: str | None
    head: str
    application_id: int | None
    detail: str = ""


def alembic_config(
    spec: StoreSpec, url: str | None = None, connection: Connection | None = None
) -> Config:
    """An Alembic config for a store that needs no ini file: the scripts ship in the package."""
    config = Config()
    config.set_main_option("script_location", spec.script_location)
    if url is not None:
        config.attributes[URL] = url
    if connection is not None:
        config.attributes[CONNECTION] = connection
    return config


@functools.cache
def script_directory(spec: StoreSpec) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(spec))


def head_revision(spec: StoreSpec) -> str:
    heads = script_directory(spec).get_heads()
    if len(heads) != 1:
        raise DatabaseError(f"the {spec.name} history has {len(heads)} heads, expected one")
    return heads[0]


def baseline_revision(spec: StoreSpec) -> str:
    bases = script_directory(spec).get_bases()
    if len(bases) != 1:
        raise DatabaseError(f"the {spec.name} history has {len(bases)} bases, expected one")
    return bases[0]


def public_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def read_status(engine: Engine, spec: StoreSpec) -> DatabaseStatus:
    """Classify the database without writing to it."""
    head = head_revision(spec)
    url = public_url(engine)
    path = sqlite_path(engine)
    if path is not None and not path.exists():
        # Connecting would create the file: a missing file is fresh, and stays missing.
        return DatabaseStatus(spec.name, url, State.FRESH, None, head, None, "no file yet")
    try:
        with translated(f"reading the {spec.name} database"), engine.connect() as connection:
            connection = connection.execution_options(**{READ_ONLY: True})
            return _classify(connection, spec, url, head)
    except ForeignDatabase as refused:
        return DatabaseStatus(spec.name, url, State.FOREIGN, None, head, None, str(refused))


def _classify(connection: Connection, spec: StoreSpec, url: str, head: str) -> DatabaseStatus:
    sqlite = connection.dialect.name == "sqlite"
    application_id = (
        int(connection.exec_driver_sql("PRAGMA application_id").scalar_one()) if sqlite else None
    )

    def status(state: State, revision: str | None = None, detail: str = "") -> DatabaseStatus:
        return DatabaseStatus(spec.name, url, state, revision, head, application_id, detail)

    tables = set(inspect(connection).get_table_names())
    if spec.version_table in tables:
        revisions = MigrationContext.configure(
            connection, opts={"version_table": spec.version_table}
        ).get_current_heads()
        if not revisions:
            return status(State.FRESH)
        revision = revisions[0]
        try:
            script_directory(spec).get_revision(revision)
        except CommandError:
            return status(State.AHEAD, revision, f"revision {revision} is unknown to this taskdb")
        return status(State.CURRENT if revision == head else State.BEHIND, revision)
    if tables & set(spec.baseline_tables):
        return status(State.LEGACY, detail="tables of the seed code, no version table")
    if sqlite and tables - {"sqlite_sequence"}:
        others = ", ".join(sorted(tables))
        return status(
            State.FOREIGN,
            detail=f"{url} holds tables of another application ({others}) and none of the "
            f"{spec.name} store's; taskdb refuses it and left it untouched",
        )
    return status(State.FRESH)


def upgrade(
    engine: Engine, spec: StoreSpec, revision: str = "head", progress: Progress | None = None
) -> DatabaseStatus:
    """Bring a database to ``revision`` under the migration lock; adopt a legacy one first."""
    with migration_lock(engine, spec):
        # Decided again under the lock: another process may have done the work meanwhile.
        status = read_status(engine, spec)
        _refuse_unusable(status, spec)
        if status.state is State.CURRENT and revision == "head":
            return status
        if status.state is State.LEGACY:
            _adopt_locked(engine, spec, progress)
        elif status.state is State.BEHIND and status.revision is not None:
            backup_sqlite(engine, status.revision, progress)
        if progress is not None:
            progress(f"upgrading the {spec.name} database to {revision}")
        with translated(f"upgrading the {spec.name} database"), engine.connect() as connection:
            command.upgrade(alembic_config(spec, connection=connection), revision)
        return read_status(engine, spec)


def downgrade(engine: Engine, spec: StoreSpec, revision: str) -> DatabaseStatus:
    with migration_lock(engine, spec):
        with translated(f"downgrading the {spec.name} database"), engine.connect() as connection:
            command.downgrade(alembic_config(spec, connection=connection), revision)
        return read_status(engine, spec)


def adopt(engine: Engine, spec: StoreSpec, progress: Progress | None = None) -> DatabaseStatus:
    """Check a database made by the seed code, stamp it in place, then bring it to head."""
    return upgrade(engine, spec, "head", progress)


def _adopt_locked(engine: Engine, spec: StoreSpec, progress: Progress | None) -> None:
    if not is_sqlite(engine):
        raise SchemaMismatch(_LEGACY_ON_SERVER.format(url=public_url(engine), store=spec.name))
    with translated(f"adopting the {spec.name} database"):
        with engine.connect() as connection:
            found = describe(connection, spec.baseline_tables)
        comparison = compare(expected_sqlite_shape(spec), found)
        if comparison.problems:
            raise SchemaMismatch(_mismatch_message(engine, spec, comparison))
        backup_sqlite(engine, "legacy", progress)
        if progress is not None:
            progress(f"adopting {public_url(engine)} as the {spec.name} baseline")
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


_LEGACY_ON_SERVER = (
    "{url} holds {store} tables but no taskdb version table; taskdb adopts only SQLite "
    "files made by the seed code. Create the schema in an empty database "
    "(`taskdb upgrade --store {store} --url ...`) and move the rows with `taskdb copy`"
)


def _mismatch_message(engine: Engine, spec: StoreSpec, comparison: Comparison) -> str:
    listed = "\n  - ".join(comparison.problems)
    return (
        f"{public_url(engine)} looks like a {spec.name} database made by the seed code, "
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
            return describe(connection, spec.baseline_tables)
    finally:
        engine.dispose()


def backup_path(database: Path, revision: str) -> Path:
    return database.with_name(f"{database.name}.{revision}.bak")


def backup_sqlite(engine: Engine, revision: str, progress: Progress | None = None) -> Path | None:
    """Copy a SQLite database beside itself with SQLite's backup API before it is upgraded."""
    source_path = sqlite_path(engine)
    if source_path is None:
        return None
    target_path = backup_path(source_path, revision)
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        target = sqlite3.connect(target_path)
        try:

            def report(_status: int, remaining: int, total: int) -> None:
                if progress is not None:
                    progress(f"copying to {target_path.name}: {total - remaining}/{total} pages")

            source.backup(target, pages=1024, progress=report)
        finally:
            target.close()
    finally:
        raw.close()
    return target_path


def _refuse_unusable(status: DatabaseStatus, spec: StoreSpec) -> None:
    if status.state is State.FOREIGN:
        raise ForeignDatabase(
            status.detail or f"{status.url} does not belong to the {spec.name} store"
        )
    if status.state is State.AHEAD:
        raise DatabaseTooNew(
            f"{status.url} is at revision {status.revision}, written by a newer taskdb "
            f"(this one knows up to {status.head}); upgrade taskdb to open it"
        )


def prepare(engine: Engine, spec: StoreSpec, progress: Progress | None = None) -> DatabaseStatus:
    """Make an opened database usable, or refuse it. SQLite upgrades itself; servers do not."""
    status = read_status(engine, spec)
    if status.state is State.CURRENT:
        return status
    _refuse_unusable(status, spec)
    if not is_sqlite(engine) and status.state is State.LEGACY:
        raise SchemaMismatch(_LEGACY_ON_SERVER.format(url=status.url, store=spec.name))
    if not is_sqlite(engine):
        raise DatabaseBehind(
            f"the {spec.name} database at {status.url} is {status.state.value} "
            f"(revision {status.revision or 'none'}, head {status.head}); run "
            f"`{spec.upgrade_command(status.url)}` or "
            f"`taskdb upgrade --store {spec.name} --url '{status.url}'`"
        )
    return upgrade(engine, spec, progress=progress)


def open_engine(
    spec: StoreSpec, url: str | None = None, progress: Progress | None = None
) -> Engine:
    """Create the store's engine for ``url`` (or its default) and make the database usable."""
    engine = create_engine(spec.resolve_url(url), spec)
    try:
        prepare(engine, spec, progress)
    except BaseException:
        engine.dispose()
        raise
    return engine
