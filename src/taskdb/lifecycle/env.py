"""The body shared by both stores' ``env.py``: one way to connect, configure and run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext
from alembic.util.exc import CommandError
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection

from taskdb.engine import create_engine, is_sqlite
from taskdb.errors import DatabaseError
from taskdb.locking import migration_lock
from taskdb.schema import primary_keys_reflected_not_null
from taskdb.stores import StoreSpec

IncludeName = Callable[[str | None, str, object], bool]

# Columns a revision adds only on server engines (SQLite has its rowid); models omit them.
SERVER_ONLY_COLUMNS = frozenset({"insert_seq"})

# Key of ``Config.attributes`` under which taskdb hands env.py an open connection.
CONNECTION = "connection"
# Key of ``Config.attributes`` for an explicit URL (the ``--url`` of the taskdb command).
URL = "url"


def run_environment(spec: StoreSpec, metadata: MetaData) -> None:
    with primary_keys_reflected_not_null():
        _run_environment(spec, metadata)


def _run_environment(spec: StoreSpec, metadata: MetaData) -> None:
    config = context.config
    url = spec.resolve_url(config.attributes.get(URL) or config.get_main_option("sqlalchemy.url"))
    options: dict[str, Any] = {
        "target_metadata": metadata,
        "version_table": spec.version_table,
        "render_as_batch": is_sqlite(url),
        "compare_type": True,
        "compare_server_default": True,
        "include_name": _only_tables_of(metadata),
        "include_object": _skip_server_only_columns,
    }
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    given: Connection | None = config.attributes.get(CONNECTION)
    if given is not None:
        _run_online(given, options)
        return
    engine = create_engine(url, spec)
    try:
        with migration_lock(engine, spec), engine.connect() as connection:
            _refuse_legacy(connection, spec)
            _run_online(connection, options)
    finally:
        engine.dispose()


def _refuse_legacy(connection: Connection, spec: StoreSpec) -> None:
    """Alembic alone would fail on existing tables: point at the command that adopts them."""
    url = connection.engine.url.render_as_string(hide_password=True)
    tables = set(inspect(connection).get_table_names())
    if spec.version_table not in tables and tables & set(spec.baseline_tables):
        connection.rollback()
        if connection.dialect.name != "sqlite":
            raise CommandError(
                f"{url} holds {spec.name} tables but no {spec.version_table}; taskdb adopts "
                "only SQLite files: upgrade an empty database and move rows with `taskdb copy`"
            )
        raise CommandError(
            f"the {spec.name} database at {url} was made by the seed code (its tables exist, "
            f"without {spec.version_table}); run `taskdb adopt --store {spec.name} "
            f"--url '{url}'`, which checks its schema and stamps it in place"
        )
    connection.rollback()


def _only_tables_of(metadata: MetaData) -> IncludeName:
    """Compare only this store's tables: a shared server database may hold anything else."""

    def include(name: str | None, type_: str, _parents: object) -> bool:
        return type_ != "table" or name in metadata.tables

    return include


def _skip_server_only_columns(
    obj: Any, name: str | None, type_: str, reflected: bool, _compare_to: object
) -> bool:
    """Leave server-only columns, and the keys over them, out of model comparison."""
    if not reflected:
        return True
    if type_ == "column":
        return name not in SERVER_ONLY_COLUMNS
    if type_ in ("index", "unique_constraint"):
        return not {column.name for column in obj.columns} & SERVER_ONLY_COLUMNS
    return True


def _run_online(connection: Connection, options: dict[str, Any]) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch migrations copy and drop tables that others reference; checked per revision.
        _set_sqlite_foreign_keys(connection, enabled=False)
        # SQLite's DDL is transactional: each revision, version row included, commits or not.
        options = {
            **options,
            "on_version_apply": _refuse_new_dangling_references(_dangling(connection)),
            "transactional_ddl": True,
        }
    try:
        context.configure(connection=connection, transaction_per_migration=True, **options)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if sqlite:
            _set_sqlite_foreign_keys(connection, enabled=True)


def _set_sqlite_foreign_keys(connection: Connection, *, enabled: bool) -> None:
    if connection.in_transaction():
        connection.commit()  # the pragma is ignored inside a transaction
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys = {'ON' if enabled else 'OFF'}")


def _dangling(connection: Connection) -> set[tuple[Any, ...]]:
    rows = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if connection.in_transaction():
        connection.commit()
    return {tuple(row) for row in rows}


def _refuse_new_dangling_references(before: set[tuple[Any, ...]]) -> Callable[..., None]:
    """A callback run inside each revision's transaction: one that broke a reference rolls back.

    References the database already had broken (files the seed wrote with foreign keys
    off) are left for their owner; only new ones count.
    """

    def check(ctx: MigrationContext, step: Any, **_: Any) -> None:
        assert ctx.connection is not None
        rows = ctx.connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        broken = [row for row in rows if tuple(row) not in before]
        if broken:
            shown = ", ".join(f"{row[0]} rowid {row[1]} -> {row[2]}" for row in broken[:5])
            raise DatabaseError(
                f"revision {step.up_revision_id or step.down_revision_ids} left {len(broken)} "
                f"dangling references ({shown}); it was rolled back"
            )

    return check
