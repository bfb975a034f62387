"""SQLite header tags: stamped by the baseline, checked before anything is written."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from taskdb.engine import check_application_id
from taskdb.errors import DatabaseError, ForeignDatabase
from taskdb.lifecycle import open_engine
from taskdb.spec import CROWD, QUANTUM, StoreSpec
from tests.support.engines import Target

SPECS = pytest.mark.parametrize("spec", [CROWD, QUANTUM], ids=lambda s: s.name)


def _header(path: Path) -> tuple[int, int]:
    connection = sqlite3.connect(path)
    try:
        app = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        return int(app), int(version)
    finally:
        connection.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_quantum_files_carry_the_seed_tag_and_user_version(sqlite_target: Target) -> None:
    url = sqlite_target.migrated_url(QUANTUM)
    assert _header(Path(url.removeprefix("sqlite:///"))) == (0x554E4943, 1)


def test_crowd_files_carry_the_taskdb_crowd_tag(sqlite_target: Target) -> None:
    url = sqlite_target.migrated_url(CROWD)
    app, _version = _header(Path(url.removeprefix("sqlite:///")))
    assert app == CROWD.application_id == int.from_bytes(b"TDBC", "big")


@SPECS
def test_foreign_application_id_is_refused_and_file_unchanged(
    tmp_path: Path, spec: StoreSpec
) -> None:
    path = tmp_path / "other.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA application_id = 0x12345678")
    connection.execute("CREATE TABLE notes (body TEXT)")
    connection.commit()
    connection.close()
    before = _digest(path)

    with pytest.raises(ForeignDatabase, match="0x12345678") as refused:
        open_engine(spec, f"sqlite:///{path}")

    assert isinstance(refused.value, RuntimeError)
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.sqlite"]


@SPECS
def test_a_file_that_is_not_sqlite_is_refused_and_unchanged(
    tmp_path: Path, spec: StoreSpec
) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"these are plain notes, not a database\n" * 200)
    before = _digest(path)

    with pytest.raises(ForeignDatabase, match="not a SQLite database"):
        open_engine(spec, f"sqlite:///{path}")

    assert _digest(path) == before


def test_another_stores_file_is_refused(sqlite_target: Target) -> None:
    url = sqlite_target.migrated_url(QUANTUM)
    path = Path(url.removeprefix("sqlite:///"))
    before = _digest(path)
    with pytest.raises(ForeignDatabase, match="crowd store"):
        open_engine(CROWD, url)
    assert _digest(path) == before


def test_a_foreign_wal_file_in_use_is_refused_without_touching_it(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite"
    owner = sqlite3.connect(path, isolation_level=None)
    owner.execute("PRAGMA application_id = 0x0BADF00D")
    owner.execute("PRAGMA journal_mode = WAL")
    owner.execute("PRAGMA wal_autocheckpoint = 0")  # its writes stay in the -wal file
    owner.execute("CREATE TABLE notes (body TEXT)")
    owner.execute("INSERT INTO notes VALUES ('kept in the log')")
    wal = path.with_name(path.name + "-wal")
    before = (_digest(path), _digest(wal))
    try:
        with pytest.raises(ForeignDatabase, match="0x0badf00d"):
            open_engine(CROWD, f"sqlite:///{path}")
        assert (_digest(path), _digest(wal)) == before
    finally:
        owner.close()


class _RefusingCursor:
    """A cursor whose read of the tag fails as SQLite fails with ``code``."""

    def __init__(self, code: int) -> None:
        self.code = code

    def execute(self, _statement: str) -> object:
        error = sqlite3.OperationalError("as SQLite says it")
        error.sqlite_errorcode = self.code  # type: ignore[attr-defined]
        raise error


def test_a_file_sqlite_cannot_read_here_is_not_called_foreign() -> None:
    # A read-only folder: SQLite cannot make the -shm of a WAL file (SQLITE_READONLY).
    for code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR):
        with pytest.raises(DatabaseError, match=r"cannot read here\.sqlite") as raised:
            check_application_id(_RefusingCursor(code), QUANTUM, "here.sqlite")  # type: ignore[arg-type]
        assert not isinstance(raised.value, ForeignDatabase)
    with pytest.raises(ForeignDatabase, match="is not a SQLite database"):
        check_application_id(_RefusingCursor(sqlite3.SQLITE_NOTADB), QUANTUM, "here.sqlite")  # type: ignore[arg-type]
