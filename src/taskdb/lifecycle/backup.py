"""Backups of SQLite files, made beside them before an upgrade or adoption changes them."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from taskdb.engine import Database

log = logging.getLogger(__name__)


def backup_path(database: Path, revision: str) -> Path:
    return database.with_name(f"{database.name}.{revision}.bak")


def backup_sqlite(database: Database, revision: str) -> Path | None:
    """Copy a SQLite database beside itself with SQLite's backup API before it changes."""
    source_path = database.file
    if source_path is None:
        return None
    target_path = backup_path(source_path, revision)
    log.info("backing up %s to %s", source_path, target_path.name)
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
    return target_path
