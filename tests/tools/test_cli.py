"""The taskdb command: states, exit codes, help, and the demo."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from taskdb.checkpoints import has_wal_reset_bug
from taskdb.crowd import CrowdStore
from taskdb.engine import create_engine
from taskdb.lifecycle import head_revision
from taskdb.quantum import TaskInfo, TaskStore
from taskdb.spec import CROWD, QUANTUM
from taskdb.tools.cli import EXIT_ACTION_NEEDED, EXIT_FAILED, EXIT_OK, main
from tests.support.engines import Target
from tests.support.seed_files import fill_crowd_seed_file, make_crowd_seed_file


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("command", ["status", "upgrade", "adopt", "check", "demo", "copy"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--store {crowd,quantum}" in out
    assert "--url" in out


def test_status_then_upgrade_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"

    code, out = _run(capsys, "status", "--url", url)
    assert (code, "state:          fresh" in out) == (EXIT_ACTION_NEEDED, True)

    code, out = _run(capsys, "upgrade", "--url", url)
    assert code == EXIT_OK
    assert f"revision:       {head_revision(CROWD)}" in out
    assert "upgrading the crowd database" in out

    code, out = _run(capsys, "status", "--url", url)
    assert (code, "state:          current" in out) == (EXIT_OK, True)
    assert "application_id: 0x54444243" in out
    assert f"sqlite:         {sqlite3.sqlite_version}" in out
    assert ("WAL-reset bug" in out) is has_wal_reset_bug(sqlite3.sqlite_version_info)

    code, out = _run(capsys, "check", "--url", url)
    assert (code, "no drift" in out) == (EXIT_OK, True)


def test_check_reports_drift(sqlite_target: Target, capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_target.migrated_url(CROWD)
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    connection.execute("DROP INDEX unit_by_worker_index")
    connection.close()

    code, out = _run(capsys, "check", "--url", url)

    assert code == EXIT_ACTION_NEEDED
    assert "unit_by_worker_index" in out


def test_adopt_a_seed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_crowd_seed_file(tmp_path / "mephisto.db")
    fill_crowd_seed_file(path)

    code, out = _run(capsys, "status", "--url", f"sqlite:///{path}")
    assert (code, "state:          legacy" in out) == (EXIT_ACTION_NEEDED, True)

    code, out = _run(capsys, "adopt", str(path))
    assert code == EXIT_OK
    assert "state:          current" in out

    code, out = _run(capsys, "adopt", str(path))
    assert (code, "is current, not a file made by the seed code" in out) == (EXIT_OK, True)


def test_foreign_and_newer_databases_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "foreign.sqlite"
    connection = sqlite3.connect(foreign)
    connection.execute("PRAGMA application_id = 7")
    connection.execute("CREATE TABLE t (x)")
    connection.commit()
    connection.close()
    code, out = _run(capsys, "status", "--url", f"sqlite:///{foreign}")
    assert (code, "state:          foreign" in out) == (EXIT_FAILED, True)
    code, out = _run(capsys, "upgrade", "--url", f"sqlite:///{foreign}")
    assert (code, "taskdb: " in out) == (EXIT_FAILED, True)

    newer = tmp_path / "newer.sqlite"
    assert main(["upgrade", "--store", "quantum", "--url", f"sqlite:///{newer}"]) == EXIT_OK
    connection = sqlite3.connect(newer)
    connection.execute("UPDATE taskdb_quantum_version SET version_num = 'quantum_9999'")
    connection.commit()
    connection.close()
    capsys.readouterr()
    code, out = _run(capsys, "status", "--store", "quantum", "--url", f"sqlite:///{newer}")
    assert (code, "state:          ahead" in out) == (EXIT_FAILED, True)
    assert "quantum_9999" in out


def test_bad_command_line_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["status", "--store", "nope"])
    assert exited.value.code == 2

    code, out = _run(capsys, "status", "--url", "not a url")
    assert (code, "is not a database URL" in out) == (2, True)
    code, out = _run(capsys, "upgrade", "no_such_revision", "--url", f"sqlite:///{tmp_path / 'x'}")
    assert (code, "no_such_revision" in out) == (2, True)


def test_missing_files_are_reported_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "seed.db"

    code, out = _run(capsys, "adopt", str(missing))
    assert (code, "no such file" in out) == (EXIT_FAILED, True)
    code, out = _run(capsys, "adopt", str(tmp_path))
    assert (code, "a folder: give the database file in it" in out) == (EXIT_FAILED, True)
    code, out = _run(capsys, "status", "--url", f"sqlite:///{missing}")
    assert (code, "state:          fresh" in out) == (EXIT_ACTION_NEEDED, True)

    assert not missing.parent.exists()


def test_unreachable_server_is_a_clean_failure(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    code, out = _run(capsys, "upgrade", "--url", url)
    assert code == EXIT_FAILED
    assert out.startswith("taskdb: ")
    assert "Traceback" not in out


def test_demo_leaves_the_users_own_stores_alone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A HOME with real stores at the default places, and the variables pointing at them.
    with CrowdStore() as crowd:
        crowd.projects.new("mine")
    with TaskStore() as quantum:
        quantum.save(TaskInfo(task_id="mine", backend="real"))
    real = [CROWD.default_path(), QUANTUM.default_path()]
    monkeypatch.setenv(CROWD.url_env, f"sqlite:///{real[0]}")
    before = {path: path.read_bytes() for path in real}
    siblings = {path: sorted(path.parent.iterdir()) for path in real}

    code, out = _run(capsys, "demo")

    assert code == EXIT_OK
    assert "taskdb demo: scratch databases in " in out
    assert f"fresh (no revision) -> current ({head_revision(CROWD)})" in out
    assert f"-> current ({head_revision(QUANTUM)})" in out
    assert "unit #1 is assigned by worker #1" in out
    assert "removed the demo's 3 records again" in out
    assert {path: path.read_bytes() for path in real} == before
    assert {path: sorted(path.parent.iterdir()) for path in real} == siblings


def test_demo_at_a_given_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crowd_file = tmp_path / "demo-crowd.sqlite"

    code, _out = _run(capsys, "demo", "--url", f"sqlite:///{crowd_file}")

    assert code == EXIT_OK
    connection = sqlite3.connect(crowd_file)
    counts = {
        table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("projects", "units", "agents", "granted_qualifications")
    }
    connection.close()
    assert counts == {"projects": 1, "units": 4, "agents": 1, "granted_qualifications": 1}


def test_copy_command_moves_rows(
    target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_crowd_seed_file(tmp_path / "mephisto.db")
    fill_crowd_seed_file(source)
    assert main(["adopt", str(source)]) == EXIT_OK
    target_url = target.migrated_url(CROWD)

    code, out = _run(capsys, "copy", "--from", f"sqlite:///{source}", "--to", target_url)

    assert code == EXIT_OK
    assert "copied 11 rows of the crowd store" in out
    engine = create_engine(target_url, CROWD)
    with engine.connect() as connection:
        counts = {
            table: connection.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar()
            for table in CROWD.tables
        }
    engine.dispose()
    assert counts == dict.fromkeys(CROWD.tables, 1)


def test_copy_from_a_missing_source_creates_nothing(
    sqlite_target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.sqlite"
    target_url = sqlite_target.migrated_url(CROWD)

    code, out = _run(capsys, "copy", "--from", f"sqlite:///{missing}", "--to", target_url)

    assert (code, "no crowd database" in out) == (EXIT_FAILED, True)
    assert not missing.exists()
