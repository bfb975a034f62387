"""Engine factory: URL resolution, per-connection SQLite settings, the application_id guard."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry

from taskdb.errors import DatabaseError, ForeignDatabase, InvalidEntry
from taskdb.stores import StoreSpec

# SQLAlchemy's dialect names of the MySQL family (mysql+pymysql:// to MariaDB is "mysql").
MYSQL_DIALECTS = ("mysql", "mariadb")
# Execution option that marks a connection as read-only: SQLite then takes no write lock.
READ_ONLY = "taskdb_read_only"
BUSY_TIMEOUT_MS = 30_000
SERVER_POOL_RECYCLE_S = 1_800


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except sa_exc.ArgumentError as error:
        raise InvalidEntry(
            f"{url!r} is not a database URL; expected e.g. sqlite:///path/file.sqlite, "
            "postgresql+psycopg://user@host/db or mysql+pymysql://user@host/db"
        ) from error


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else _parse(engine_or_url)
    return url.get_backend_name() == "sqlite"


def sqlite_path(url: str | Engine) -> Path | None:
    """The file behind a SQLite URL or engine, or None for memory or another engine."""
    parsed = url.url if isinstance(url, Engine) else _parse(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def create_engine(url: str, spec: StoreSpec, **kwargs: Any) -> Engine:
    """Create an engine for one store, with the settings taskdb relies on for its engine."""
    backend = _parse(url).get_backend_name()
    try:
        if backend == "sqlite":
            return _sqlite_engine(url, spec, **kwargs)
        if backend == "postgresql":
            # Sessions in UTC so CURRENT_TIMESTAMP defaults match SQLite's UTC text.
            connect_args = {"options": "-c timezone=UTC"}
            return sa_create_engine(url, connect_args=connect_args, **_server_pool(kwargs))
        if backend in MYSQL_DIALECTS:
            connect_args = {"init_command": "SET time_zone = '+00:00'", "charset": "utf8mb4"}
            return sa_create_engine(url, connect_args=connect_args, **_server_pool(kwargs))
        return sa_create_engine(url, **kwargs)
    except (ImportError, sa_exc.NoSuchModuleError) as error:
        raise DatabaseError(
            f"no usable driver for {_parse(url).drivername} ({error}); taskdb supports "
            "sqlite://, postgresql+psycopg:// (pip install 'taskdb[postgresql]') and "
            "mysql+pymysql:// (pip install 'taskdb[mysql]')"
        ) from error


def single_statement_reader(engine: Engine) -> Engine:
    """The engine for calls that read with one statement: no transaction around it.

    SQLite then takes no write lock (see the begin event). PostgreSQL runs the SELECT
    in autocommit, saving the BEGIN and ROLLBACK round trips of a transaction; PyMySQL
    would spend more round trips switching autocommit than it saves.
    """
    if engine.dialect.name == "postgresql":
        return engine.execution_options(**{READ_ONLY: True}, isolation_level="AUTOCOMMIT")
    return engine.execution_options(**{READ_ONLY: True})


def _server_pool(kwargs: dict[str, Any]) -> dict[str, Any]:
    # No pre-ping (a round trip per call); recycle before servers drop idle connections.
    return {"pool_recycle": SERVER_POOL_RECYCLE_S, **kwargs}


def _sqlite_engine(url: str, spec: StoreSpec, **kwargs: Any) -> Engine:
    path = sqlite_path(url)
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


SQLITE_MAGIC = b"SQLite format 3\x00"


def prepare_sqlite_file(path: Path, spec: StoreSpec) -> None:
    """Before SQLite opens ``path``: refuse someone else's file by its header, make the folder.

    Reading the bytes ourselves leaves a refused file exactly as it was: SQLite
    itself could create -wal/-shm siblings or checkpoint a foreign WAL on close.
    """
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except FileNotFoundError:
        header = b""
    except OSError as error:
        raise DatabaseError(f"cannot read {path}: {error}") from error
    if header and not header.startswith(SQLITE_MAGIC):
        raise ForeignDatabase(f"{path} is not a SQLite database; taskdb left it untouched")
    if len(header) == 100:
        refuse_foreign_tag(int.from_bytes(header[68:72], "big"), spec, str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseError(f"cannot create the folder for {path}: {error}") from error


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


def refuse_foreign_tag(found: int, spec: StoreSpec, where: str) -> None:
    if found not in (0, spec.application_id):
        raise ForeignDatabase(
            f"{where} has application_id 0x{found:08x}, but the {spec.name} store uses "
            f"0x{spec.application_id:08x}: it belongs to another application, "
            "so taskdb refuses to open it and left it untouched"
        )
