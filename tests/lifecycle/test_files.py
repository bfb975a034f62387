"""What taskdb writes beside a SQLite database: never more readable than it, never left over."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskdb.engine import create_engine
from taskdb.errors import ForeignDatabase, InvalidEntry
from taskdb.files import backups_of
from taskdb.lifecycle import open_engine, upgrade
from taskdb.spec import CROWD
from tests.support.seed_files import fill_crowd_seed_file, make_crowd_seed_file


@pytest.fixture(params=[0o022, 0o077], ids=["umask022", "umask077"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield int(request.param)
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _upgrade_from_baseline(path: Path) -> None:
    engine = create_engine(f"sqlite:///{path}", CROWD)
    try:
        upgrade(engine, CROWD, "crowd_0001")
    finally:
        engine.dispose()
    os.chmod(path, 0o600)
    open_engine(CROWD, f"sqlite:///{path}").dispose()  # behind: backed up, then upgraded


def test_a_backup_is_no_more_readable_than_its_database(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "crowd.sqlite"
    _upgrade_from_baseline(path)

    (backup,) = backups_of(path)
    assert backup.name == "crowd.sqlite.crowd_0001.bak"
    assert _mode(backup) & ~_mode(path) == 0
    assert _mode(backup) & umask == 0
    assert _mode(backup) & 0o077 == 0


def test_a_legacy_backup_is_no_more_readable_than_the_seed_file(tmp_path: Path, umask: int) -> None:
    path = make_crowd_seed_file(tmp_path / "mephisto.db")
    fill_crowd_seed_file(path)
    os.chmod(path, 0o640)

    open_engine(CROWD, f"sqlite:///{path}").dispose()

    backup = tmp_path / "mephisto.db.legacy.bak"
    assert _mode(backup) & ~0o640 == 0
    assert _mode(backup) & umask == 0


def test_nothing_but_the_database_and_its_backups_is_left_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "crowd.sqlite"
    _upgrade_from_baseline(path)

    left = {p.name for p in tmp_path.iterdir()}
    assert left <= {
        "crowd.sqlite",
        "crowd.sqlite-wal",
        "crowd.sqlite-shm",
        "crowd.sqlite.crowd_0001.bak",
    }


def test_nothing_is_created_beside_a_refused_file(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA application_id = 305419896")
    connection.execute("CREATE TABLE mine (x)")
    connection.commit()
    connection.close()
    engine = create_engine(f"sqlite:///{path}", CROWD)
    try:
        with pytest.raises(ForeignDatabase):
            upgrade(engine, CROWD)  # the explicit path takes the lock before it reads
    finally:
        engine.dispose()
    assert [p.name for p in tmp_path.iterdir()] == ["other.sqlite"]


def test_only_the_newest_backups_are_kept_and_the_legacy_one_always(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKDB_KEEP_BACKUPS", "2")
    path = tmp_path / "crowd.sqlite"
    engine = create_engine(f"sqlite:///{path}", CROWD)
    try:
        upgrade(engine, CROWD, "crowd_0001")
    finally:
        engine.dispose()
    # Backups left by earlier upgrades, oldest first; and another file's backup.
    earlier = [tmp_path / f"crowd.sqlite.rev{n}.bak" for n in range(3)]
    for age, old in enumerate(reversed(earlier), start=1):
        old.write_bytes(b"")
        os.utime(old, (1_000_000 - age, 1_000_000 - age))
    (tmp_path / "crowd.sqlite.legacy.bak").write_bytes(b"")
    os.utime(tmp_path / "crowd.sqlite.legacy.bak", (1, 1))
    (tmp_path / "crowd.sqlite.x.rev0.bak").write_bytes(b"")

    open_engine(CROWD, f"sqlite:///{path}").dispose()  # behind: one more backup

    left = sorted(p.name for p in tmp_path.glob("*.bak"))
    assert left == [
        "crowd.sqlite.crowd_0001.bak",
        "crowd.sqlite.legacy.bak",
        "crowd.sqlite.rev2.bak",
        "crowd.sqlite.x.rev0.bak",
    ]


def test_keep_backups_must_be_a_positive_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "crowd.sqlite"
    engine = create_engine(f"sqlite:///{path}", CROWD)
    try:
        upgrade(engine, CROWD, "crowd_0001")
        monkeypatch.setenv("TASKDB_KEEP_BACKUPS", "0")
        with pytest.raises(InvalidEntry, match="TASKDB_KEEP_BACKUPS"):
            upgrade(engine, CROWD)
    finally:
        engine.dispose()
