"""The migrations ship in the wheel: an installed (non-editable) taskdb upgrades a new database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from taskdb.migrate import head_revision
from taskdb.stores import CROWD, QUANTUM

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_installed_wheel_upgrades_a_database_outside_the_checkout(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
    )
    (wheel,) = wheels.glob("taskdb-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([venv / "bin" / "pip", "install", "--quiet", str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    database = elsewhere / "crowd.sqlite"
    tasks = elsewhere / "tasks.sqlite"

    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    upgrade = subprocess.run(
        [venv / "bin" / "taskdb", "upgrade", "--url", f"sqlite:///{database}"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    quantum = subprocess.run(
        [venv / "bin" / "taskdb", "upgrade", "--store", "quantum", "--url", f"sqlite:///{tasks}"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert quantum.returncode == 0, quantum.stderr
    imported_from = subprocess.run(
        [venv / "bin" / "python", "-c", "import taskdb; print(taskdb.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(venv) in imported_from

    connection = sqlite3.connect(database)
    try:
        versions = connection.execute("SELECT version_num FROM taskdb_crowd_version").fetchall()
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    finally:
        connection.close()
    assert versions == [(head_revision(CROWD),)]
    connection = sqlite3.connect(tasks)
    try:
        quantum_versions = connection.execute(
            "SELECT version_num FROM taskdb_quantum_version"
        ).fetchall()
        header = connection.execute("PRAGMA application_id").fetchone()
    finally:
        connection.close()
    assert quantum_versions == [(head_revision(QUANTUM),)]
    assert header == (0x554E4943,)
    assert {"projects", "units", "agents", "granted_qualifications"} <= tables
