"""The README's "Moving from SQLite to PostgreSQL" recipe runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from taskdb.crowd import CrowdStore
from taskdb.spec import CROWD
from tests.support.engines import Target

README = Path(__file__).resolve().parents[2] / "README.md"


def _recipe() -> str:
    section = README.read_text().split("## Moving from SQLite to PostgreSQL", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the section has no sh block"
    return block.group(1)


def test_the_recipe_names_the_source_and_the_target() -> None:
    recipe = _recipe()
    assert "--from" in recipe and "--to" in recipe
    assert re.search(r'^TARGET="postgresql\+psycopg://', recipe, re.M)


@pytest.mark.slow
def test_the_recipe_moves_a_users_crowd_file_to_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = Target("postgresql", tmp_path)
    try:
        target_url = target.fresh_url("readme")
        home = tmp_path / "home"
        monkeypatch.setenv("HOME", str(home))
        for variable in ("TASKDB_HOME", "XDG_DATA_HOME", CROWD.url_env):
            monkeypatch.delenv(variable, raising=False)
        with CrowdStore() as store:  # the user's default file, where the recipe looks
            store.projects.new("moved")
            store.workers.new("w1", "mock")
        assert (home / ".local/share/taskdb/crowd.sqlite").is_file()

        script = re.sub(r'^TARGET=".*?"', f'TARGET="{target_url}"', _recipe(), flags=re.M)
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            env={**os.environ, "PATH": path},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr

        engine = sa.create_engine(target_url)
        with engine.connect() as connection:
            projects = connection.exec_driver_sql("SELECT project_name FROM projects").all()
            workers = connection.exec_driver_sql("SELECT worker_name FROM workers").all()
        engine.dispose()
        assert (projects, workers) == ([("moved",)], [("w1",)])
        assert "copied 2 rows of the crowd store" in done.stdout
    finally:
        target.drop_created()
