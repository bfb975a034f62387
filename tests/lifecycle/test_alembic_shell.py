"""`alembic` from a shell at the repository root drives both stores on every engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from taskdb.lifecycle import head_revision
from taskdb.spec import CROWD, QUANTUM, StoreSpec
from tests.support.engines import Target
from tests.support.seed_files import make_crowd_seed_file

REPO = Path(__file__).resolve().parents[2]
ALEMBIC = Path(sys.executable).with_name("alembic")


def _alembic(spec: StoreSpec, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    section = [] if spec is CROWD else ["-n", "quantum"]
    return subprocess.run(
        [str(ALEMBIC), *section, *args],
        cwd=REPO,
        env={**os.environ, spec.url_env: url},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.parametrize("spec", [CROWD, QUANTUM], ids=lambda s: s.name)
def test_shell_upgrade_check_downgrade_upgrade(target: Target, spec: StoreSpec) -> None:
    url = target.fresh_url(spec.name)

    ran: dict[str, str] = {}
    for step in (["upgrade", "head"], ["check"], ["downgrade", "base"], ["upgrade", "head"]):
        done = _alembic(spec, url, *step)
        assert done.returncode == 0, f"alembic {' '.join(step)}: {done.stderr}"
        ran.setdefault(step[0], done.stderr)

    # alembic.ini's [loggers] apply: each revision is printed as Alembic normally does.
    baseline = f"Running upgrade  -> {spec.name}_0001"
    assert f"INFO  [alembic.runtime.migration] {baseline}" in ran["upgrade"]
    assert f"Running downgrade {spec.name}_0001 -> ," in ran["downgrade"]

    current = _alembic(spec, url, "current")
    assert f"{head_revision(spec)} (head)" in current.stdout
    heads = _alembic(spec, url, "heads")
    assert heads.stdout.count("(head)") == 1
    assert head_revision(spec) in heads.stdout


def test_shell_upgrade_of_a_seed_file_points_at_adopt(tmp_path: Path) -> None:
    path = make_crowd_seed_file(tmp_path / "mephisto.db")
    before = path.read_bytes()

    done = _alembic(CROWD, f"sqlite:///{path}", "upgrade", "head")

    assert done.returncode != 0
    assert "made by the seed code" in done.stdout
    assert "taskdb adopt --store crowd" in done.stdout
    assert path.read_bytes() == before
