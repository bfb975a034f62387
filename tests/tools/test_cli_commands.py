"""The taskdb command without alembic.ini: every subcommand, its options and its exit code."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from taskdb.engine import create_engine
from taskdb.errors import DatabaseBehind
from taskdb.lifecycle import baseline_revision, head_revision, open_engine
from taskdb.spec import CROWD, QUANTUM
from taskdb.tools.cli import EXIT_ACTION_NEEDED, EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from tests.support.engines import Target


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _revision(path: Path, table: str = "taskdb_crowd_version") -> str:
    connection = sqlite3.connect(path)
    try:
        (found,) = connection.execute(f"SELECT version_num FROM {table}").fetchone()
    finally:
        connection.close()
    return str(found)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    assert capsys.readouterr().out.startswith("taskdb 0.")


@pytest.mark.parametrize(
    "argv",
    [
        ["--store", "quantum", "--url", "{url}", "status"],
        ["status", "--store", "quantum", "--url", "{url}"],
        ["--store", "crowd", "status", "--store", "quantum", "--url", "{url}"],
    ],
    ids=["before", "after", "after-wins"],
)
def test_global_options_before_or_after_the_subcommand(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'tasks.sqlite'}"
    code, out, _ = _run(capsys, *(part.format(url=url) for part in argv))
    assert code == EXIT_ACTION_NEEDED
    assert "store:          quantum" in out


def test_status_current_history_and_check_as_text_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    assert _run(capsys, "upgrade", "--url", url)[0] == EXIT_OK

    code, out, _ = _run(capsys, "status", "--url", url, "--json")
    assert code == EXIT_OK
    status = json.loads(out)
    assert (status["state"], status["revision"]) == ("current", head_revision(CROWD))

    assert _run(capsys, "current", "--url", url)[:2] == (
        EXIT_OK,
        f"{head_revision(CROWD)} (head)\n",
    )

    code, out, _ = _run(capsys, "history", "--json")
    revisions = json.loads(out)
    assert [r["revision"] for r in revisions] == [head_revision(CROWD), "crowd_0001"]
    assert revisions[0]["is_head"] and revisions[-1]["down_revision"] is None
    code, out, _ = _run(capsys, "history", "--store", "quantum")
    assert "quantum_0002 -> quantum_0003 (head)" in out

    code, out, _ = _run(capsys, "check", "--url", url, "--json")
    assert code == EXIT_OK
    assert json.loads(out)["drift"] == []


def test_downgrade_needs_yes_then_goes_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.sqlite"
    url = f"sqlite:///{path}"
    assert _run(capsys, "upgrade", "--url", url)[0] == EXIT_OK

    code, _, err = _run(capsys, "downgrade", "crowd_0001", "--url", url)
    assert code == EXIT_USAGE
    assert "add --yes" in err
    assert _revision(path) == head_revision(CROWD)

    code, out, _ = _run(capsys, "downgrade", "crowd_0001", "--url", url, "--yes")
    assert code == EXIT_OK
    assert _revision(path) == "crowd_0001"
    assert "state:          behind" in out


def test_upgrade_refuses_to_go_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.sqlite"
    url = f"sqlite:///{path}"
    assert _run(capsys, "upgrade", "--url", url)[0] == EXIT_OK

    code, _, err = _run(capsys, "upgrade", baseline_revision(CROWD), "--url", url)

    assert code == EXIT_USAGE
    assert "taskdb downgrade crowd_0001 --store crowd --yes" in err
    assert _revision(path) == head_revision(CROWD)


def test_stamp_records_a_revision_without_migrating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.sqlite"
    url = f"sqlite:///{path}"
    assert _run(capsys, "upgrade", "--url", url)[0] == EXIT_OK

    assert _run(capsys, "stamp", "crowd_0001", "--url", url)[0] == EXIT_OK

    assert _revision(path) == "crowd_0001"
    connection = sqlite3.connect(path)
    indexes = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    connection.close()
    assert "unit_by_worker_index" in indexes  # crowd_0002's index is still there


@pytest.mark.parametrize(
    "url", ["postgresql+psycopg://u:secret@db.example/crowd", "sqlite:///{tmp}/offline.sqlite"]
)
def test_upgrade_sql_prints_the_ddl_and_connects_nowhere(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = url.format(tmp=tmp_path)

    code, out, _ = _run(capsys, "upgrade", "--sql", "--url", url)

    assert code == EXIT_OK
    assert "CREATE TABLE projects" in out
    assert "CREATE TABLE taskdb_crowd_version" in out
    assert not (tmp_path / "offline.sqlite").exists()


@pytest.mark.parametrize(
    ("url", "collation", "note"),
    [
        ("mysql+pymysql://u@db.example/crowd", "utf8mb4_0900_bin", True),
        ("mariadb+pymysql://u@db.example/crowd", "utf8mb4_nopad_bin", False),
    ],
)
def test_upgrade_sql_for_mariadb_is_asked_by_its_own_url(
    url: str, collation: str, note: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    # Unconnected, mysql+pymysql:// cannot tell MariaDB (utf8mb4_0900_bin is MySQL 8's).
    code, out, err = _run(capsys, "upgrade", "--sql", "--url", url)
    assert code == EXIT_OK
    assert f"COLLATE {collation}" in out
    assert ("for MariaDB give a mariadb+pymysql:// URL" in err) is note


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("postgres://u@h/db", "use postgresql+psycopg:// instead"),
        ("mysql://u@h/db", "use mysql+pymysql:// instead"),
        ("foo://bar", "it takes sqlite:///"),
        ("not a url", "is not a database URL"),
        ("/just/a/path.sqlite", "is not a database URL"),
    ],
)
def test_every_bad_url_is_a_command_line_error_with_a_hint(
    url: str, hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "status", "--url", url)
    assert code == EXIT_USAGE
    assert hint in err


def test_check_on_a_newer_database_fails_and_says_upgrade_taskdb(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.sqlite"
    open_engine(CROWD, f"sqlite:///{path}").dispose()
    connection = sqlite3.connect(path)
    connection.execute("UPDATE taskdb_crowd_version SET version_num = 'crowd_0099'")
    connection.commit()
    connection.close()

    code, out, _ = _run(capsys, "check", "--url", f"sqlite:///{path}")

    assert code == EXIT_FAILED
    assert "unknown to this taskdb" in out
    assert "run `taskdb upgrade" not in out


def test_copy_needs_two_named_databases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    open_engine(CROWD, url).dispose()
    monkeypatch.setenv(CROWD.url_env, url)

    code, _, err = _run(capsys, "copy", "--to", url)
    assert code == EXIT_USAGE
    assert "--from URL" in err

    same = f"sqlite:///{tmp_path}/../{tmp_path.name}/c.sqlite"
    code, _, err = _run(capsys, "copy", "--from", url, "--to", same)
    assert code == EXIT_FAILED
    assert "are one database" in err


def test_quiet_hides_progress_and_verbose_shows_details(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, normal = _run(capsys, "upgrade", "--url", f"sqlite:///{tmp_path / 'a.sqlite'}")
    _, _, quiet = _run(capsys, "-q", "upgrade", "--url", f"sqlite:///{tmp_path / 'b.sqlite'}")
    _, _, verbose = _run(capsys, "upgrade", "-v", "--url", f"sqlite:///{tmp_path / 'c.sqlite'}")

    assert "... Running upgrade  -> crowd_0001" in normal
    assert "Context impl" not in normal
    assert quiet == ""
    assert "Context impl SQLiteImpl" in verbose


def test_a_refusal_never_shows_a_masked_password(tmp_path: Path) -> None:
    # PostgreSQL's trust login takes any password, so the URL can carry one.
    target = Target("postgresql", tmp_path)
    try:
        url = sa.make_url(target.fresh_url()).set(password="s3cret")
        shown = url.render_as_string(hide_password=True)
        with pytest.raises(DatabaseBehind) as refused:
            open_engine(CROWD, url.render_as_string(hide_password=False))
    finally:
        target.drop_created()
    message = str(refused.value)
    assert "***" not in message.split("`")[1]
    assert shown.replace(":***@", ":<password>@") in message
    assert "s3cret" not in message


def test_the_quantum_store_has_the_same_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tasks.sqlite"
    url = f"sqlite:///{path}"
    assert _run(capsys, "--store", "quantum", "upgrade", "--url", url)[0] == EXIT_OK
    assert _revision(path, "taskdb_quantum_version") == head_revision(QUANTUM)
    engine = create_engine(url, QUANTUM)
    engine.dispose()
    code, out, _ = _run(capsys, "--store", "quantum", "current", "--url", url)
    assert (code, out) == (EXIT_OK, f"{head_revision(QUANTUM)} (head)\n")


def test_the_command_leaves_the_process_logging_as_it_found_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    loggers = [logging.getLogger(name) for name in ("taskdb", "alembic")]
    before = [(list(logger.handlers), logger.level) for logger in loggers]

    _run(capsys, "upgrade", "--url", f"sqlite:///{tmp_path / 'c.sqlite'}")

    assert [(list(logger.handlers), logger.level) for logger in loggers] == before
