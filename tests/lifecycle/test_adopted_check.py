"""Seed-made files, once adopted, are what the models say: no drift, nothing to autogenerate.

And real drift in an adopted file (a seed table rebuilt without its UNIQUE) is still caught.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from taskdb.engine import create_engine
from taskdb.lifecycle import head_revision
from taskdb.spec import CROWD, QUANTUM, StoreSpec
from taskdb.tools.cli import EXIT_ACTION_NEEDED, EXIT_OK, main
from tests.support.quantum_seed import make_seed_file
from tests.support.scratch import (
    REPO,
    extra_versions_config,
    function_bodies,
    run_alembic,
    write_revision,
)
from tests.support.seed_files import dump, fill_crowd_seed_file, make_crowd_seed_file

CLEAN = "No new upgrade operations detected"


def _crowd_seed_file(path: Path) -> Path:
    make_crowd_seed_file(path)
    fill_crowd_seed_file(path)
    return path


def _quantum_seed_file(path: Path) -> Path:
    make_seed_file(path)
    return path


SEED_FILES: dict[str, tuple[StoreSpec, Callable[[Path], Path]]] = {
    "crowd": (CROWD, _crowd_seed_file),
    "quantum": (QUANTUM, _quantum_seed_file),
}


def _taskdb(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _adopted(spec: StoreSpec, path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code, out = _taskdb(capsys, "adopt", str(path), "--store", spec.name)
    assert code == EXIT_OK, out
    assert "state:          current" in out, out
    return f"sqlite:///{path}"


@pytest.mark.parametrize("store", sorted(SEED_FILES))
def test_an_adopted_seed_file_has_no_drift_and_autogenerates_nothing(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, make = SEED_FILES[store]
    path = make(tmp_path / f"{store}-seed.sqlite")
    rows = dump(path, spec.tables)
    assert all(rows.values())

    url = _adopted(spec, path, capsys)

    code, out = _taskdb(capsys, "check", "--store", spec.name, "--url", url)
    assert code == EXIT_OK, out
    assert "no drift" in out, out
    assert head_revision(spec) in out

    shell = run_alembic(REPO, spec, "check", home=tmp_path / "shell-home", url=url)
    assert shell.returncode == 0, f"{shell.stdout}\n{shell.stderr}"
    assert CLEAN in shell.stdout + shell.stderr

    # Written into a folder of this test, never into the checkout's migrations.
    extra = tmp_path / "extra_versions"
    extra.mkdir()
    engine = create_engine(url, spec)
    try:
        with engine.connect() as connection:
            config = extra_versions_config(spec, connection, extra)
            script = write_revision(config, extra, "nothing", autogenerate=True)
    finally:
        engine.dispose()
    assert Path(script.path).parent == extra
    assert function_bodies(Path(script.path)) == {"upgrade": ["pass"], "downgrade": ["pass"]}
    assert dump(path, spec.tables) == rows


# The seed's workers table without the UNIQUE on worker_name.
WORKERS_WITHOUT_UNIQUE = (
    "CREATE TABLE workers_rebuilt (worker_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " worker_name TEXT NOT NULL, provider_type TEXT NOT NULL,"
    " creation_date DATETIME DEFAULT CURRENT_TIMESTAMP)"
)


def _drop_unique_on_worker_name(path: Path) -> None:
    """Rebuild ``workers`` the way SQLite documents it, rows and ids kept, keys off."""
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("BEGIN")
        connection.execute(WORKERS_WITHOUT_UNIQUE)
        connection.execute("INSERT INTO workers_rebuilt SELECT * FROM workers")
        connection.execute("DROP TABLE workers")
        connection.execute("ALTER TABLE workers_rebuilt RENAME TO workers")
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        connection.execute("COMMIT")


def test_drift_in_an_adopted_file_is_still_caught(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _crowd_seed_file(tmp_path / "mephisto.db")
    url = _adopted(CROWD, path, capsys)
    workers = dump(path, ("workers",))
    _drop_unique_on_worker_name(path)
    assert dump(path, ("workers",)) == workers

    code, out = _taskdb(capsys, "check", "--url", url)

    assert code == EXIT_ACTION_NEEDED, out
    drift = [line for line in out.splitlines() if line.startswith("drift: ")]
    # Both halves see it: the exact SQLite shape, and the models (a unique constraint to add).
    shape = "unique constraints of workers are [], expected [('worker_name',)]"
    assert any(shape in line for line in drift), out
    from_models = [line for line in drift if shape not in line]
    assert any("worker_name" in line for line in from_models), out

    shell = run_alembic(REPO, CROWD, "check", home=tmp_path / "shell-home", url=url)
    assert shell.returncode != 0
    assert "New upgrade operations detected" in shell.stdout + shell.stderr
