"""The body shared by both stores' ``env.py``: one way to connect, configure and run."""

from __future__ import annotations

import logging.config
from collections.abc import Callable
from typing import Any

from alembic import context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util.exc import CommandError
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from taskdb.backends import backend_for
from taskdb.engine import connect_database
from taskdb.errors import DatabaseError, TaskdbError
from taskdb.lifecycle.autogen import include_name, include_object, render_item, revision_directives
from taskdb.lifecycle.history import CONNECTION, URL
from taskdb.lifecycle.lock import migration_lock
from taskdb.lifecycle.status import State, classify, refuse_unusable
from taskdb.schema import primary_keys_reflected_not_null
from taskdb.spec import StoreSpec


def run_environment(spec: StoreSpec, metadata: MetaData) -> None:
    config = context.config
    if config.config_file_name is not None and config.cmd_opts is not None:
        # The shell's alembic.ini: its [loggers] make `alembic upgrade` show each revision.
        # Loggers made before (the library's, a host application's) keep working.
        logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)
    with primary_keys_reflected_not_null():
        _run_environment(spec, metadata)


def _run_environment(spec: StoreSpec, metadata: MetaData) -> None:
    config = context.config
    options: dict[str, Any] = {
        "target_metadata": metadata,
        "version_table": spec.version_table,
        # Every dialect: a revision generated against a server must still run on SQLite.
        "render_as_batch": True,
        "compare_type": True,
        "compare_server_default": True,
        "include_name": include_name(metadata),
        "include_object": include_object(),
        "render_item": render_item,
        "process_revision_directives": revision_directives(spec, metadata),
    }
    given: Connection | None = config.attributes.get(CONNECTION)
    if given is not None:
        # The library's path: everything comes from the connection it hands over.
        _run_online(given, options)
        return
    # The shell's path: the URL is resolved here, and only here.
    url = spec.resolve_url(config.attributes.get(URL) or config.get_main_option("sqlalchemy.url"))
    if _plain_revision(config):
        # `alembic revision -m ...` only numbers and writes a file: no database is opened.
        context.configure(url=url, as_sql=True, **options)
        context.run_migrations()
        return
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    database = connect_database(url, spec)
    try:
        with migration_lock(database), database.engine.connect() as connection:
            _refuse_unusable(connection, spec)
            _run_online(connection, options)
    finally:
        database.engine.dispose()


def _refuse_unusable(connection: Connection, spec: StoreSpec) -> None:
    """Alembic alone would fail on a seed file or a newer one: say what to run instead."""
    status = classify(connection, spec)
    connection.rollback()
    try:
        refuse_unusable(status, spec, backend_for(connection).embedded)
    except TaskdbError as refused:
        raise CommandError(str(refused)) from refused
    if status.state is State.LEGACY:
        raise CommandError(
            f"the {spec.name} database at {status.url} was made by the seed code (its tables "
            f"exist, without {spec.version_table}); run `taskdb adopt --store {spec.name} "
            f"--url '{status.url}'`, which checks its schema and stamps it in place"
        )


def _plain_revision(config: Config) -> bool:
    """``alembic revision`` without --autogenerate (revision_environment = true in the ini)."""
    return getattr(config.cmd_opts, "autogenerate", None) is False


def _run_online(connection: Connection, options: dict[str, Any]) -> None:
    sqlite = backend_for(connection).embedded
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
