"""Backups of SQLite files, made beside them before an upgrade or adoption changes them.

A backup is never more readable than its database: it is created with the
database's permission bits (less, if the umask says so). Only the newest
``TASKDB_KEEP_BACKUPS`` backups before upgrades are kept (default 3); the one made
before adopting a seed file (``.legacy.bak``) is always kept.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
from pathlib import Path

from taskdb.engine import Database
from taskdb.errors import InvalidEntry
from taskdb.files import backup_path, backups_of

log = logging.getLogger(__name__)

KEEP_BACKUPS_ENV = "TASKDB_KEEP_BACKUPS"
DEFAULT_KEEP_BACKUPS = 3


def keep_backups() -> int:
    """How many backups of each database are kept: ``TASKDB_KEEP_BACKUPS``, default 3."""
    given = os.environ.get(KEEP_BACKUPS_ENV)
    if given is None:
        return DEFAULT_KEEP_BACKUPS
    if not given.isdigit() or int(given) < 1:
        raise InvalidEntry(
            f"{KEEP_BACKUPS_ENV} must be a whole number of at least 1, got {given!r}"
        )
    return int(given)


def backup_sqlite(database: Database, revision: str) -> Path | None:
    """Copy a SQLite database beside itself with SQLite's backup API before it changes."""
    source_path = database.file
    if source_path is None:
        return None
    keep = keep_backups()
    target_path = backup_path(source_path, revision)
    log.info("backing up %s to %s", source_path, target_path.name)
    _create_no_more_readable(target_path, like=source_path)
    raw = database.engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        target = sqlite3.connect(target_path)
        try:

            def report(_status: int, remaining: int, total: int) -> None:
                log.debug("copying to %s: %d/%d pages", target_path.name, total - remaining, total)

            source.backup(target, pages=1024, progress=report)
        finally:
            target.close()
    finally:
        raw.close()
    _prune(source_path, keep)
    return target_path


def _create_no_more_readable(path: Path, like: Path) -> None:
    """Create (or truncate) ``path`` with at most the permission bits of ``like``."""
    allowed = stat.S_IMODE(like.stat().st_mode) & 0o666
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, allowed)
    try:
        # An existing file keeps its old bits on open: narrow them too.
        os.fchmod(descriptor, stat.S_IMODE(os.fstat(descriptor).st_mode) & allowed)
    finally:
        os.close(descriptor)


def _prune(database: Path, keep: int) -> None:
    # The copy made before adoption is the only one of the seed's file: never pruned.
    revisions = [path for path in backups_of(database) if not path.name.endswith(".legacy.bak")]
    for old in revisions[keep:]:
        log.info("removing the old backup %s", old.name)
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
