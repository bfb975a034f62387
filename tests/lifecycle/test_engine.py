"""SQLite connection settings: applied on every connection; writers begin IMMEDIATE."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from taskdb.engine import BUSY_TIMEOUT_MS, READ_ONLY, WAL_SIZE_LIMIT_BYTES, create_engine
from taskdb.spec import CROWD
from tests.support.engines import Target


def _pragmas(connection: sa.Connection) -> dict[str, object]:
    names = ("foreign_keys", "journal_mode", "busy_timeout", "synchronous", "journal_size_limit")
    return {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in names}


def test_every_pooled_connection_gets_the_pragmas(sqlite_target: Target) -> None:
    engine = create_engine(sqlite_target.fresh_url(), CROWD, pool_size=3)
    try:
        # Read-only, so the three can hold transactions at once.
        reader = engine.execution_options(**{READ_ONLY: True})
        connections = [reader.connect() for _ in range(3)]
        seen = [_pragmas(c) for c in connections]
        for connection in connections:
            connection.close()
    finally:
        engine.dispose()
    expected = {
        "foreign_keys": 1,
        "journal_mode": "wal",
        "busy_timeout": BUSY_TIMEOUT_MS,
        "synchronous": 1,  # NORMAL
        "journal_size_limit": WAL_SIZE_LIMIT_BYTES,
    }
    assert seen == [expected] * 3


def _write_lock_is_free(path: Path) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
        return False
    finally:
        other.close()


def test_writes_begin_immediate_and_reads_take_no_write_lock(sqlite_target: Target) -> None:
    url = sqlite_target.fresh_url()
    path = Path(url.removeprefix("sqlite:///"))
    engine = create_engine(url, CROWD)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("SELECT 1")
            assert not _write_lock_is_free(path)
        reader = engine.execution_options(**{READ_ONLY: True})
        with reader.begin() as connection:
            connection.exec_driver_sql("SELECT 1")
            assert _write_lock_is_free(path)
    finally:
        engine.dispose()
