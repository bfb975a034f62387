"""A revision's layout (its tables, their column names, SQLite's user_version) against a database's.

The version row says which revision a database is at; another program can change the
schema under it (UnifiedQuantum's TaskStore runs its own migrations on a quantum file
it opens: new tables, a new column, user_version 5). The classifier compares the
layout a database claims with the one it has, on every open, so it stays cheap:
names only (:meth:`Backend.table_columns`: one catalog query on a server; on SQLite
one read of ``sqlite_master``, plus ``pragma_table_info`` for a schema not seen before
in the process). The exact shape (types, keys, indexes) is ``taskdb check``'s business.

What a revision should hold: at head, the models say it (no work at all; a test keeps
them equal to the head revision's build); a database that differs from them, or claims
an older revision, is compared with that revision built in an in-memory SQLite
database, once per process. That build runs the scripts without Alembic's environment
(``alembic.command``), because the classifier also runs inside the shell's ``alembic``,
whose environment is not reentrant.

On SQLite the file is the store's alone: a table that is not the revision's is a
change. A server database may hold other applications' tables, so only the store's
own tables are read there; the server-only ``insert_seq`` is not compared.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.pool import StaticPool

from taskdb.backends import SQLITE
from taskdb.engine import create_engine
from taskdb.lifecycle.autogen import SERVER_ONLY_COLUMNS
from taskdb.lifecycle.history import head_revision, script_directory
from taskdb.spec import StoreSpec

# The column of Alembic's version table.
VERSION_COLUMNS = frozenset({"version_num"})


class _BuildsInMemory(logging.Filter):
    """Drops Alembic's progress lines while this thread builds a layout in memory.

    Its "Running upgrade -> crowd_0001" would read as work on the user's database.
    """

    def __init__(self) -> None:
        super().__init__()
        self._building = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self._building, "on", False)

    @contextmanager
    def building(self) -> Iterator[None]:
        self._building.on = True
        try:
            yield
        finally:
            self._building.on = False


_QUIET = _BuildsInMemory()
logging.getLogger("alembic.runtime.migration").addFilter(_QUIET)


@dataclass(frozen=True)
class Layout:
    """Tables and their column names; ``user_version`` on SQLite, None on servers."""

    tables: Mapping[str, frozenset[str]]
    user_version: int | None


def layout_changes(spec: StoreSpec, revision: str, found: Layout) -> list[str]:
    """How ``found`` differs from the layout of ``revision``: one line per change."""
    embedded = found.user_version is not None
    if revision == head_revision(spec) and not _changes(model_layout(spec), found, embedded):
        return []
    return _changes(revision_layout(spec, revision), found, embedded, revision)


def likely_writer(spec: StoreSpec, found: Layout) -> str:
    """Which program probably changed the database, for the refusal."""
    if found.user_version is None:
        return "someone by hand, or another program"
    if spec.user_version and found.user_version > spec.user_version:
        # The seed counts its schema versions there, and migrates past ours by itself.
        return (
            f"{spec.seed_program}: user_version {found.user_version} is its schema version, "
            "so its own migrations ran on this file"
        )
    return f"{spec.seed_program}, if it opened this file, or someone by hand"


@functools.cache
def model_layout(spec: StoreSpec) -> Layout:
    """The head layout as the models declare it, with the version table."""
    tables = {
        name: frozenset(column.name for column in table.columns)
        for name, table in spec.metadata.tables.items()
    }
    return Layout({**tables, spec.version_table: VERSION_COLUMNS}, spec.user_version)


@functools.cache
def revision_layout(spec: StoreSpec, revision: str) -> Layout:
    """The layout of ``revision``: its scripts run on an in-memory SQLite database."""
    scripts = script_directory(spec)
    engine = create_engine("sqlite://", spec, poolclass=StaticPool)
    try:
        with _QUIET.building(), engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "version_table": spec.version_table,
                    "fn": lambda current, _context: scripts._upgrade_revs(revision, current),
                },
            )
            with Operations.context(context):
                context.run_migrations()
            user_version = connection.exec_driver_sql("PRAGMA user_version").scalar_one()
            return Layout(SQLITE.table_columns(connection), int(user_version))
    finally:
        engine.dispose()


def _changes(expected: Layout, found: Layout, embedded: bool, revision: str = "head") -> list[str]:
    where = f"in {revision}"
    changes: list[str] = []
    if embedded and found.user_version != expected.user_version:
        changes.append(f"user_version is {found.user_version}, expected {expected.user_version}")
    for table in sorted(expected.tables.keys() - found.tables.keys()):
        changes.append(f"table {table} is missing")
    if embedded:
        for table in sorted(found.tables.keys() - expected.tables.keys()):
            changes.append(f"table {table} is not {where}")
    for table in sorted(expected.tables.keys() & found.tables.keys()):
        want = expected.tables[table]
        have = found.tables[table] if embedded else found.tables[table] - SERVER_ONLY_COLUMNS
        changes.extend(f"column {table}.{name} is missing" for name in sorted(want - have))
        changes.extend(f"column {table}.{name} is not {where}" for name in sorted(have - want))
    return changes
