"""The migrations ship in the wheel, however it is built, and in an editable install.

The scripts live in the top-level ``migrations/`` folder, linked into the package as
``src/taskdb/migrations``. A wheel built straight from the tree and one built from the
sdist (``python -m build``) must both carry them as ``taskdb/migrations``, once each,
and an installed wheel must upgrade both stores from a directory outside the checkout.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import taskdb
from taskdb.lifecycle import head_revision
from taskdb.spec import CROWD, QUANTUM

REPO = Path(__file__).resolve().parents[2]


def _scripts_in_checkout() -> set[str]:
    return {
        f"taskdb/{path.relative_to(REPO).as_posix()}"
        for path in (REPO / "migrations").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def _build_direct(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
    )
    (wheel,) = out.glob("taskdb-*.whl")
    return wheel


def _build_through_sdist(out: Path) -> Path:
    # `python -m build` makes the sdist first, then the wheel from the unpacked sdist.
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (sdist,) = out.glob("taskdb-*.tar.gz")
    assert sdist.is_file()
    (wheel,) = out.glob("taskdb-*.whl")
    return wheel


def _run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True
    )


def _single_version(database: Path, table: str) -> list[tuple[str]]:
    connection = sqlite3.connect(database)
    try:
        return connection.execute(f"SELECT version_num FROM {table}").fetchall()
    finally:
        connection.close()


def test_an_editable_install_reads_the_scripts_from_the_checkout() -> None:
    packaged = Path(taskdb.__file__).parent / "migrations"
    assert packaged.resolve() == (REPO / "migrations").resolve()
    assert (packaged / "crowd" / "env.py").is_file()
    assert (packaged / "quantum" / "env.py").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("build", [_build_direct, _build_through_sdist], ids=["direct", "sdist"])
def test_an_installed_wheel_upgrades_both_stores_outside_the_checkout(
    tmp_path: Path, build: object
) -> None:
    assert callable(build)
    wheel: Path = build(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = [name for name in names if name.startswith("taskdb/migrations/")]
    assert len(shipped) == len(set(shipped)), "a script is in the wheel twice"
    assert set(shipped) == _scripts_in_checkout()
    assert {"taskdb/migrations/crowd/env.py", "taskdb/lifecycle/env.py"} <= set(names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([venv / "bin" / "pip", "install", "--quiet", str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    crowd = elsewhere / "crowd.sqlite"
    tasks = elsewhere / "tasks.sqlite"

    upgraded = _run(venv, elsewhere, "taskdb", "upgrade", "--url", f"sqlite:///{crowd}")
    assert upgraded.returncode == 0, upgraded.stderr
    upgraded = _run(
        venv, elsewhere, "taskdb", "upgrade", "--store", "quantum", "--url", f"sqlite:///{tasks}"
    )
    assert upgraded.returncode == 0, upgraded.stderr
    imported = _run(venv, elsewhere, "python", "-c", "import taskdb; print(taskdb.__file__)")
    assert str(venv) in imported.stdout

    assert _single_version(crowd, "taskdb_crowd_version") == [(head_revision(CROWD),)]
    assert _single_version(tasks, "taskdb_quantum_version") == [(head_revision(QUANTUM),)]
    connection = sqlite3.connect(tasks)
    try:
        assert connection.execute("PRAGMA application_id").fetchone() == (0x554E4943,)
    finally:
        connection.close()
