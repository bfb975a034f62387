"""SQLite connection settings: applied on every connection; writers begin IMMEDIATE."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from taskdb.crowd import CrowdStore
from taskdb.engine import BUSY_TIMEOUT_MS, READ_ONLY, WAL_SIZE_LIMIT_BYTES, create_engine
from taskdb.errors import InvalidEntry, InvalidType
from taskdb.quantum import TaskStore
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


def _synchronous(engine: sa.Engine) -> list[int]:
    """``PRAGMA synchronous`` of three connections of the engine's pool at once."""
    reader = engine.execution_options(**{READ_ONLY: True})
    connections = [reader.connect() for _ in range(3)]
    try:
        return [int(c.exec_driver_sql("PRAGMA synchronous").scalar_one()) for c in connections]
    finally:
        for connection in connections:
            connection.close()


def test_full_durability_syncs_every_commit_on_every_connection(sqlite_target: Target) -> None:
    url = sqlite_target.fresh_url()
    engine = create_engine(url, CROWD, durability="full")
    try:
        assert _synchronous(engine) == [2, 2, 2]  # FULL
    finally:
        engine.dispose()
    with CrowdStore(url, durability="full") as store:
        worker = store.workers.new("w", "mock")
        assert store.workers.get(worker).worker_name == "w"
        assert _synchronous(store.engine) == [2, 2, 2]
        with store._autocommit.reading() as held:  # the read connection this thread holds
            assert held.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2
    with TaskStore(url=sqlite_target.fresh_url(), durability="full") as tasks:
        assert _synchronous(tasks.engine) == [2, 2, 2]
    with CrowdStore(url) as store:
        assert _synchronous(store.engine) == [1, 1, 1]  # the default: NORMAL


@pytest.mark.parametrize(
    ("durability", "kind"), [("FULL", InvalidEntry), ("off", InvalidEntry), (2, InvalidType)]
)
def test_a_durability_other_than_normal_or_full_is_refused(
    sqlite_target: Target, durability: Any, kind: type[InvalidEntry]
) -> None:
    url = sqlite_target.fresh_url()
    with pytest.raises(kind, match="durability is 'normal' or 'full'"):
        CrowdStore(url, durability=durability)
    with pytest.raises(kind, match="durability is 'normal' or 'full'"):
        TaskStore(url=url, durability=durability)
    assert not Path(url.removeprefix("sqlite:///")).exists()


def test_durability_goes_to_the_engine_a_caller_creates(sqlite_target: Target) -> None:
    url = sqlite_target.fresh_url()
    engine = create_engine(url, CROWD, durability="full")
    try:
        with pytest.raises(InvalidEntry, match=r"create_engine\(url, spec, durability"):
            CrowdStore(engine=engine, durability="full")
        with CrowdStore(engine=engine) as store:
            assert _synchronous(store.engine) == [2, 2, 2]
    finally:
        engine.dispose()
