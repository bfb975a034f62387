"""One migrator at a time: a lock that every engine can hold across processes."""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from taskdb.engine import MYSQL_DIALECTS, sqlite_path
from taskdb.errors import DatabaseError, translated
from taskdb.stores import StoreSpec

LOCK_TIMEOUT_S = 600


def lock_file_for(database: Path) -> Path:
    """The sidecar file locked while a SQLite database is migrated or adopted."""
    return database.with_name(database.name + ".migrate-lock")


@contextmanager
def migration_lock(engine: Engine, spec: StoreSpec) -> Iterator[None]:
    """Hold the store's migration lock: a file lock on SQLite, a server lock elsewhere."""
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        path = sqlite_path(engine)
        if path is None:  # an in-memory database has a single user by construction
            yield
            return
        # flock on a sidecar: closing any descriptor of the database itself would drop
        # SQLite's own POSIX locks held by this process.
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = lock_file_for(path).open("a")
        except OSError as error:
            raise DatabaseError(
                f"cannot create the migration lock beside {path}: {error}"
            ) from error
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    # MySQL's named locks are server-wide: name the database too (64 characters at most).
    key = f"taskdb:{spec.name}:{engine.url.database or ''}"[:64]
    with translated("taking the migration lock"):
        connection = engine.connect()
        try:
            _acquire(connection, backend, key)
        except BaseException:
            connection.close()
            raise
    try:
        yield
    finally:
        with translated("releasing the migration lock"):
            try:
                _release(connection, backend, key)
            finally:
                connection.close()


def _acquire(connection: Connection, backend: str, key: str) -> None:
    if backend == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": zlib.crc32(key.encode())})
    elif backend in MYSQL_DIALECTS:
        got = connection.execute(
            text("SELECT GET_LOCK(:k, :t)"), {"k": key, "t": LOCK_TIMEOUT_S}
        ).scalar_one()
        if got != 1:
            raise DatabaseError(f"could not take the migration lock {key!r} in time")
    connection.commit()


def _release(connection: Connection, backend: str, key: str) -> None:
    if backend == "postgresql":
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": zlib.crc32(key.encode())})
    elif backend in MYSQL_DIALECTS:
        connection.execute(text("SELECT RELEASE_LOCK(:k)"), {"k": key})
    connection.commit()
