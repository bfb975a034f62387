"""One migrator at a time: a lock that every engine can hold across processes.

SQLite: ``flock`` on the database's folder; PostgreSQL: ``pg_advisory_lock``;
MySQL/MariaDB: ``GET_LOCK``. None leaves a file behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from taskdb.engine import Database
from taskdb.errors import DatabaseError, translated


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
    # flock on the folder that holds the file: nothing is created beside the database
    # (a refused file stays alone), every user of the folder sees the same lock, and
    # the database's own descriptors, whose closing would drop SQLite's POSIX locks,
    # are left alone. Migrations of files in one folder wait for each other.
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise DatabaseError(f"cannot take the migration lock on {folder}: {error}") from error
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
