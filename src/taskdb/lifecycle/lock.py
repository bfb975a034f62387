"""One migrator at a time: a lock that every engine can hold across processes."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from taskdb.engine import Database
from taskdb.errors import DatabaseError, translated


def lock_file_for(database: Path) -> Path:
    """The sidecar file locked while a SQLite database is migrated or adopted."""
    return database.with_name(database.name + ".migrate-lock")


@contextmanager
def migration_lock(database: Database) -> Iterator[None]:
    """Hold the store's migration lock: a file lock on SQLite, a server lock elsewhere."""
    backend = database.backend
    if backend.embedded:
        with _file_lock(database.file):
            yield
        return
    # Server locks are server-wide: name the database too.
    key = f"taskdb:{database.spec.name}:{database.engine.url.database or ''}"
    with translated("taking the migration lock"):
        connection = database.engine.connect()
        try:
            backend.acquire_lock(connection, key)
            connection.commit()
        except BaseException:
            connection.close()
            raise
    try:
        yield
    finally:
        with translated("releasing the migration lock"):
            try:
                backend.release_lock(connection, key)
                connection.commit()
            finally:
                connection.close()


@contextmanager
def _file_lock(path: Path | None) -> Iterator[None]:
    if path is None:  # an in-memory database has a single user by construction
        yield
        return
    # flock on a sidecar: closing any descriptor of the database itself would drop
    # SQLite's own POSIX locks held by this process.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_file_for(path).open("a")
    except OSError as error:
        raise DatabaseError(f"cannot create the migration lock beside {path}: {error}") from error
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
