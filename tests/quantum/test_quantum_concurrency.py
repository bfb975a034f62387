"""Two processes writing into one SQLite file at the same time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from taskdb.quantum import TaskStore
from tests.support.quantum_seed import SeedReader

SAVES_PER_PROCESS = 1_000

# Each writer opens the (not yet existing) database itself, waits for the start signal,
# then saves its records one call at a time.
WRITER = """
import sys, time
from pathlib import Path
from taskdb.quantum import TaskInfo, TaskStore

cache_dir, name, go, count = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
store = TaskStore(cache_dir)
(cache_dir / f"{name}.ready").touch()
while not go.exists():
    time.sleep(0.005)
for number in range(count):
    store.save(TaskInfo(task_id=f"{name}-{number}", backend=name, metadata={"n": number}))
print("done", store.count(backend=name))
"""


@pytest.mark.slow
def test_two_processes_save_into_one_file(tmp_path: Path) -> None:
    go = tmp_path / "go"
    cache_dir = tmp_path / "cache"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(cache_dir), name, str(go), str(SAVES_PER_PROCESS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for name in ("left", "right")
    ]
    deadline = time.monotonic() + 60
    while not all((cache_dir / f"{name}.ready").exists() for name in ("left", "right")):
        assert time.monotonic() < deadline, "writers did not open the store"
        assert all(writer.poll() is None for writer in writers), [w.stderr for w in writers]
        time.sleep(0.01)
    go.touch()
    outputs = [writer.communicate(timeout=300) for writer in writers]
    for writer, (out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert "database is locked" not in err
        assert out.split() == ["done", str(SAVES_PER_PROCESS)]
    with TaskStore(cache_dir) as store:
        assert store.count() == 2 * SAVES_PER_PROCESS
        assert store.count(backend="left") == store.count(backend="right") == SAVES_PER_PROCESS
        assert len({task.task_id for task in store.list()}) == 2 * SAVES_PER_PROCESS
    with SeedReader(cache_dir / "tasks.sqlite") as seed:
        assert seed.count() == 2 * SAVES_PER_PROCESS
