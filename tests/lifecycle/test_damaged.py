"""A damaged file is reported as damaged, with the newest backup named, and left untouched."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from taskdb.crowd import CrowdStore
from taskdb.engine import Database, create_engine
from taskdb.errors import DamagedDatabase
from taskdb.lifecycle import check, open_engine, upgrade
from taskdb.spec import CROWD
from taskdb.tools.cli import EXIT_FAILED, main


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _filled(path: Path) -> Path:
    """A crowd file of several pages, checkpointed into the main file, with a backup beside it."""
    engine = create_engine(f"sqlite:///{path}", CROWD)
    try:
        upgrade(engine, CROWD, "crowd_0001")
    finally:
        engine.dispose()
    with CrowdStore(f"sqlite:///{path}") as store:  # behind: backed up, then upgraded
        for n in range(300):
            store.workers.new(f"worker-{n:04d}-" + "x" * 40, "mock")
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return path


def test_a_truncated_file_is_damaged_and_names_the_backup(tmp_path: Path) -> None:
    path = _filled(tmp_path / "crowd.sqlite")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    before = (_digest(path), sorted(p.name for p in tmp_path.iterdir()))

    with pytest.raises(DamagedDatabase, match="truncated") as refused:
        open_engine(CROWD, f"sqlite:///{path}")

    assert "crowd.sqlite.crowd_0001.bak" in str(refused.value)
    assert (_digest(path), sorted(p.name for p in tmp_path.iterdir())) == before


def test_a_file_cut_inside_its_header_is_damaged(tmp_path: Path) -> None:
    path = _filled(tmp_path / "crowd.sqlite")
    path.write_bytes(path.read_bytes()[:60])

    with pytest.raises(DamagedDatabase, match="inside the SQLite header"):
        open_engine(CROWD, f"sqlite:///{path}")


def test_a_corrupt_schema_page_is_damaged(tmp_path: Path) -> None:
    path = _filled(tmp_path / "crowd.sqlite")
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # page 1 after the header: sqlite_master
    path.write_bytes(bytes(data))
    before = _digest(path)

    with pytest.raises(DamagedDatabase, match="SQLite reports"):
        open_engine(CROWD, f"sqlite:///{path}")

    assert _digest(path) == before


def _corrupt_workers_page(path: Path) -> None:
    """Overwrite the workers table's root page, which a status read never touches."""
    connection = sqlite3.connect(path)
    (root,) = connection.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'workers'"
    ).fetchone()
    (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    connection.close()
    data = bytearray(path.read_bytes())
    start = (root - 1) * page_size
    data[start : start + page_size] = b"\x07" * page_size
    path.write_bytes(bytes(data))


def test_a_current_file_with_a_corrupt_page_is_refused_on_open(tmp_path: Path) -> None:
    path = _filled(tmp_path / "crowd.sqlite")
    _corrupt_workers_page(path)
    before = (_digest(path), sorted(p.name for p in tmp_path.iterdir()))

    with pytest.raises(DamagedDatabase, match="quick_check") as refused:
        CrowdStore(f"sqlite:///{path}")

    assert "crowd.sqlite.crowd_0001.bak" in str(refused.value)
    assert (_digest(path), sorted(p.name for p in tmp_path.iterdir())) == before


def test_a_sound_file_is_checked_once_per_process_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _filled(tmp_path / "crowd.sqlite")
    checked: list[Path] = []
    real = check.verify_pages

    def counting(database: Database) -> None:
        assert database.file is not None
        checked.append(database.file)
        real(database)

    monkeypatch.setattr(check, "verify_pages", counting)
    for _ in range(3):
        CrowdStore(f"sqlite:///{path}").close()
    assert checked == [path]

    _corrupt_workers_page(path)  # a new size or mtime: the next open reads every page again
    with pytest.raises(DamagedDatabase, match="quick_check"):
        CrowdStore(f"sqlite:///{path}")
    assert checked == [path, path]


def test_check_finds_a_corrupt_page_a_status_read_does_not_touch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _filled(tmp_path / "crowd.sqlite")
    _corrupt_workers_page(path)

    code = main(["check", "--url", f"sqlite:///{path}"])

    assert code == EXIT_FAILED
    assert "is damaged (PRAGMA quick_check" in capsys.readouterr().err


def test_a_damaged_file_behind_head_is_refused_before_its_backup_and_upgrade(
    tmp_path: Path,
) -> None:
    path = _filled(tmp_path / "crowd.sqlite")
    engine = create_engine(f"sqlite:///{path}", CROWD)
    try:
        from taskdb.lifecycle import downgrade

        downgrade(engine, CROWD, "crowd_0001")
    finally:
        engine.dispose()
    for backup in tmp_path.glob("*.bak"):
        backup.unlink()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (root,) = connection.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'workers'"
    ).fetchone()
    (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    connection.close()
    data = bytearray(path.read_bytes())
    data[(root - 1) * page_size : root * page_size] = b"\x07" * page_size
    path.write_bytes(bytes(data))
    before = (_digest(path), sorted(p.name for p in tmp_path.iterdir()))

    with pytest.raises(DamagedDatabase, match="quick_check"):
        open_engine(CROWD, f"sqlite:///{path}")

    assert (_digest(path), sorted(p.name for p in tmp_path.iterdir())) == before


def test_a_file_short_of_its_header_while_its_wal_holds_the_pages_is_not_damaged(
    tmp_path: Path,
) -> None:
    """A checkpoint writes page 1 first; killed before the later pages, the WAL still has them."""
    path = _filled(tmp_path / "crowd.sqlite")  # checkpointed: the WAL is empty
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    for n in range(2000):  # more pages, all in the WAL for now
        writer.execute(
            "INSERT INTO workers (worker_name, provider_type) VALUES (?, 'mock')",
            (f"late-{n:05d}-" + "y" * 60,),
        )
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for suffix in ("", "-wal"):
        (crashed / f"crowd.sqlite{suffix}").write_bytes(Path(f"{path}{suffix}").read_bytes())
    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    writer.close()
    page_size = 4096
    checkpointed = path.read_bytes()
    short = crashed / "crowd.sqlite"
    data = bytearray(short.read_bytes())
    assert len(checkpointed) > len(data)  # the checkpoint grew the file
    data[:page_size] = checkpointed[:page_size]  # page 1 written, the pages after it not yet
    short.write_bytes(bytes(data))

    with CrowdStore(f"sqlite:///{short}") as store:
        names = [worker.worker_name for worker in store.workers.iterate()]

    assert len(names) == 300 + 2000
    assert names[-1].startswith("late-01999-")


@pytest.mark.parametrize(
    "wal",
    [b"\x00" * 4096, b"\x37\x7f\x06\x82" + b"\x00" * 28 + b"\x00" * 8 + b"\x01" * 8 + b"\x00" * 8],
    ids=["not a WAL", "stale frames"],
)
def test_a_truncated_file_beside_a_wal_without_live_frames_is_damaged(
    tmp_path: Path, wal: bytes
) -> None:
    path = _filled(tmp_path / "crowd.sqlite")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    Path(f"{path}-wal").write_bytes(wal)
    before = (_digest(path), sorted(p.name for p in tmp_path.iterdir()))

    with pytest.raises(DamagedDatabase, match="truncated"):
        open_engine(CROWD, f"sqlite:///{path}")

    assert (_digest(path), sorted(p.name for p in tmp_path.iterdir())) == before
