"""Engine factory: per-family options, per-connection SQLite settings, the application_id guard."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection
from sqlalchemy.pool import ConnectionPoolEntry

from taskdb.backends import READ_ONLY, Backend, backend_for, parse_url
from taskdb.errors import DatabaseError, ForeignDatabase
from taskdb.files import prepare_sqlite_file, refuse_foreign_tag
from taskdb.spec import StoreSpec

BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Database:
    """A store's database, resolved once: its engine and the facts the lifecycle asks about."""

    spec: StoreSpec
    engine: Engine
    backend: Backend
    # The SQLite file; None for an in-memory database or a server.
    file: Path | None
    # For messages and logs: the password hidden.
    url: str

    @classmethod
    def of(cls, engine: Engine, spec: StoreSpec) -> Database:
        backend = backend_for(engine)
        file = _file_of(engine.url, backend)
        return cls(spec, engine, backend, file, engine.url.render_as_string(hide_password=True))


def connect_database(url: str, spec: StoreSpec, **kwargs: Any) -> Database:
    """Resolve ``url`` once (engine family, file) and create the store's engine for it."""
    parsed = parse_url(url)
    backend = backend_for(parsed)
    file = _file_of(parsed, backend)
    try:
        if backend.embedded:
            engine = _sqlite_engine(parsed, file, spec, **kwargs)
        else:
            engine = sa_create_engine(parsed, **{**backend.engine_options(), **kwargs})
    except (ImportError, sa_exc.NoSuchModuleError) as error:
        raise DatabaseError(
            f"no usable driver for {parsed.drivername} ({error}); taskdb supports "
            "sqlite://, postgresql+psycopg:// (pip install 'taskdb[postgresql]') and "
            "mysql+pymysql:// (pip install 'taskdb[mysql]')"
        ) from error
    return Database(spec, engine, backend, file, parsed.render_as_string(hide_password=True))


def create_engine(url: str, spec: StoreSpec, **kwargs: Any) -> Engine:
    """Create an engine for one store, with the settings taskdb relies on for its engine."""
    return connect_database(url, spec, **kwargs).engine


def database_file(source: str | Engine) -> Path | None:
    """The file behind an embedded database's URL or engine; None for memory or a server."""
    url = source.url if isinstance(source, Engine) else parse_url(source)
    return _file_of(url, backend_for(url))


def _file_of(url: URL, backend: Backend) -> Path | None:
    if not backend.embedded or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser()


def public_url(source: str | Engine) -> str:
    """A URL fit for messages and logs: the password hidden."""
    url = source.url if isinstance(source, Engine) else parse_url(source)
    return url.render_as_string(hide_password=True)


def single_statement_reader(engine: Engine) -> Engine:
    """The engine for calls that read with one statement: no write lock, no extra round trips."""
    return engine.execution_options(**backend_for(engine).read_options())


def _sqlite_engine(url: URL, path: Path | None, spec: StoreSpec, **kwargs: Any) -> Engine:
    where = str(path or url)
    # The driver's own transaction handling is switched off; BEGIN is emitted below.
    engine = sa_create_engine(url, connect_args={"isolation_level": None}, **kwargs)

    @event.listens_for(engine, "do_connect")
    def _before_connect(*_args: Any) -> None:
        if path is not None:
            prepare_sqlite_file(path, spec)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        configure_sqlite_connection(dbapi_connection, spec, where)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY, False):
            return  # reads run in autocommit: each SELECT is its own consistent snapshot
        # A writer takes the write lock up front, so it never fails upgrading a read lock.
        # Sent on the driver's connection: this runs on every write, SQLAlchemy adds nothing.
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        try:
            driver.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise sa_exc.OperationalError("BEGIN IMMEDIATE", None, error) from error

    return engine


def configure_sqlite_connection(
    connection: sqlite3.Connection, spec: StoreSpec, where: str
) -> None:
    """Check the file's tag, then apply the settings every taskdb connection needs."""
    cursor = connection.cursor()
    try:
        # Wait for a competing writer instead of failing at once with "database is locked".
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        found = check_application_id(cursor, spec, where)
        if found == spec.application_id or _is_empty(cursor):
            # Readers and the writer no longer block each other; commits append to a log.
            # (An untagged file with content is left as it is until it has been adopted.)
            enable_wal(connection)
        # With WAL this is still safe against application crashes, and skips most fsyncs.
        cursor.execute("PRAGMA synchronous = NORMAL")
        # SQLite leaves foreign keys unenforced per connection unless asked (the seed forgot).
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def enable_wal(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA journal_mode = WAL")


def _is_empty(cursor: sqlite3.Cursor) -> bool:
    return int(cursor.execute("PRAGMA page_count").fetchone()[0]) == 0


def check_application_id(cursor: sqlite3.Cursor, spec: StoreSpec, where: str) -> int:
    """Refuse, before any write, a file that is not SQLite or carries another application's tag."""
    try:
        found = int(cursor.execute("PRAGMA application_id").fetchone()[0])
    except sqlite3.DatabaseError as error:
        raise ForeignDatabase(
            f"{where} is not a SQLite database ({error}); taskdb left it untouched"
        ) from error
    refuse_foreign_tag(found, spec, where)
    return found
