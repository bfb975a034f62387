"""Engine factory: URL resolution, per-connection SQLite settings, the application_id guard."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry

from taskdb.errors import ForeignDatabase
from taskdb.stores import StoreSpec

# Execution option that marks a connection as read-only: SQLite then takes no write lock.
READ_ONLY = "taskdb_read_only"
BUSY_TIMEOUT_MS = 30_000
SERVER_POOL_RECYCLE_S = 1_800


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for an in-memory database or another engine."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def create_engine(url: str, spec: StoreSpec, **kwargs: Any) -> Engine:
    """Create an engine for one store, with the settings taskdb relies on for its engine."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, spec, **kwargs)
    if backend == "postgresql":
        # Sessions in UTC so CURRENT_TIMESTAMP defaults match SQLite's UTC text.
        connect_args = {"options": "-c timezone=UTC"}
        return sa_create_engine(url, connect_args=connect_args, **_server_pool(kwargs))
    if backend in ("mysql", "mariadb"):
        connect_args = {"init_command": "SET time_zone = '+00:00'", "charset": "utf8mb4"}
        return sa_create_engine(url, connect_args=connect_args, **_server_pool(kwargs))
    return sa_create_engine(url, **kwargs)


def _server_pool(kwargs: dict[str, Any]) -> dict[str, Any]:
    # No pre-ping (a round trip per call); recycle before servers drop idle connections.
    return {"pool_recycle": SERVER_POOL_RECYCLE_S, **kwargs}


def _sqlite_engine(url: str, spec: StoreSpec, **kwargs: Any) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    # The driver's own transaction handling is switched off; BEGIN is emitted below.
    engine = sa_create_engine(url, connect_args={"isolation_level": None}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        configure_sqlite_connection(dbapi_connection, spec, str(path or url))

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY, False):
            return  # reads run in autocommit: each SELECT is its own consistent snapshot
        # A writer takes the write lock up front, so it never fails upgrading a read lock.
        # Sent on the driver's connection: this runs on every write, SQLAlchemy adds nothing.
        connection.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]

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
    if found not in (0, spec.application_id):
        raise ForeignDatabase(
            f"{where} has application_id 0x{found:08x}, but the {spec.name} store uses "
            f"0x{spec.application_id:08x}: it belongs to another application, "
            "so taskdb refuses to open it and left it untouched"
        )
    return found
