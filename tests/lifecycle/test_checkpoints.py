"""Checkpoints no commit can race, on a SQLite with the WAL-reset bug (taskdb.checkpoints)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from taskdb import checkpoints
from taskdb.checkpoints import has_wal_reset_bug
from taskdb.crowd import CrowdStore


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ((3, 6, 23), False),  # before WAL
        ((3, 7, 0), True),
        ((3, 40, 1), True),
        ((3, 44, 5), True),
        ((3, 44, 6), False),
        ((3, 45, 0), True),
        ((3, 50, 6), True),
        ((3, 50, 7), False),
        ((3, 51, 0), True),
        ((3, 51, 2), True),
        ((3, 51, 3), False),
        ((3, 52, 0), False),
    ],
)
def test_the_releases_with_the_bug(version: tuple[int, int, int], affected: bool) -> None:
    assert has_wal_reset_bug(version) is affected


def _in_the_file_alone(path: Path) -> list[str]:
    """The projects the main file holds, without the WAL's frames (``immutable``)."""
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as reading:
        try:
            rows = reading.execute("SELECT project_name FROM projects").fetchall()
        except sqlite3.OperationalError:  # the table itself is still in the WAL alone
            return []
        return [str(name) for (name,) in rows]


def _autocheckpoint(store: CrowdStore) -> int:
    with store.engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def _lags(store: CrowdStore, path: Path, writes: int) -> list[int]:
    """After each of ``writes`` creates, how many of them the main file still lacks."""
    lags = []
    for number in range(writes):
        if number % 2:
            store.projects.new(f"p{number}")
        else:
            with store.unit_of_work() as work:
                work.projects.new(f"p{number}")
        in_file = set(_in_the_file_alone(path))
        lags.append(sum(f"p{n}" not in in_file for n in range(number + 1)))
    return lags


def _nine_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, affected: bool
) -> tuple[int, list[int]]:
    """``wal_autocheckpoint`` and the lags of nine writes, taskdb checkpointing every third."""
    monkeypatch.setattr(checkpoints, "AFFECTED", affected)
    monkeypatch.setattr(checkpoints, "EVERY", 3)
    path = tmp_path / "crowd.sqlite"
    with CrowdStore(f"sqlite:///{path}") as store:
        automatic = _autocheckpoint(store)
        lags = _lags(store, path, 9)
        assert len(store.projects.find()) == 9
    return automatic, lags


def test_an_affected_sqlite_checkpoints_with_the_writer_lock_every_so_many_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    automatic, lags = _nine_writes(tmp_path, monkeypatch, affected=True)
    assert automatic == 0  # SQLite's passive checkpoints are off
    # Every third write checkpoints what came before it, then adds itself to the WAL.
    assert max(lags) == 3, lags
    assert all(1 in lags[start : start + 3] for start in range(len(lags) - 2)), lags


def test_an_unaffected_sqlite_keeps_sqlite_s_own_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    automatic, lags = _nine_writes(tmp_path, monkeypatch, affected=False)
    assert automatic == 1000
    # A few small writes stay below SQLite's 1,000-page threshold: none checkpoints.
    assert lags == list(range(1, 10))
