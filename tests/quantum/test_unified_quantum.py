"""A quantum file the real UnifiedQuantum 0.1.1 has migrated in place is refused, untouched.

UnifiedQuantum's TaskStore opens taskdb's quantum files (same place, same "UNIC" tag,
user_version 1) and runs its own migrations 2 to 5 on them: two archive tables,
``task_shards``, ``tasks.error_message``, every task id rewritten. The version row
still says taskdb's head, so only the layout check can tell; writing on would leave
UnifiedQuantum's ``error_message`` stale and cascade deletes into its shards.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import ModuleType

import pytest

from taskdb.engine import create_engine
from taskdb.errors import SchemaMismatch
from taskdb.lifecycle import State, head_revision, open_engine, read_status
from taskdb.quantum import TaskInfo, TaskStatus, TaskStore
from taskdb.spec import QUANTUM
from taskdb.tools.cli import EXIT_FAILED, main
from tests.support.quantum_seed import UNIC, header
from tests.support.unified_quantum import SCHEMA_VERSION, fetch_wheel, load_store

TASKS = (
    TaskInfo(task_id="t-1", backend="sim", status=TaskStatus.SUCCESS, result={"00": 7}),
    TaskInfo(task_id="t-2", backend="ibm", status=TaskStatus.RUNNING, metadata={"q": 2}),
    TaskInfo(task_id="t-3", backend="sim", status=TaskStatus.FAILED),
)


@pytest.fixture(scope="session")
def unified_quantum(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> ModuleType:
    """UnifiedQuantum 0.1.1's task store module; the wheel is fetched once per test run."""
    base = tmp_path_factory.getbasetemp()
    # Under pytest-xdist each worker has its own base; their parent is the run's.
    shared = base.parent if worker_id != "master" else base
    return load_store(fetch_wheel(shared / "unified-quantum-0.1.1"))


def _folder(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` with its sha256: any write or new sibling shows."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        for path in folder.iterdir()
    }


def test_a_taskdb_file_unified_quantum_migrated_is_refused_unchanged(
    unified_quantum: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    with TaskStore(cache_dir=cache) as store:
        for info in TASKS:
            store.save(info)
    path = cache / "tasks.sqlite"
    url = f"sqlite:///{path}"
    assert header(path) == (UNIC, QUANTUM.user_version)

    theirs = unified_quantum.TaskStore(cache_dir=cache)  # runs its migrations 2..5 in place
    assert header(path) == (UNIC, SCHEMA_VERSION)
    legacy_ids = sorted(task.metadata["legacy_platform_id"] for task in theirs.list())
    assert legacy_ids == ["t-1", "t-2", "t-3"]
    before = _folder(cache)

    with pytest.raises(SchemaMismatch) as refused:
        TaskStore(cache_dir=cache)
    message = str(refused.value)
    assert "user_version 5 is its schema version" in message
    assert "UnifiedQuantum" in message
    assert f"table task_shards is not in {head_revision(QUANTUM)}" in message
    assert f"column tasks.error_message is not in {head_revision(QUANTUM)}" in message
    assert _folder(cache) == before

    with pytest.raises(SchemaMismatch, match="UnifiedQuantum"):
        open_engine(QUANTUM, url)
    engine = create_engine(url, QUANTUM)
    try:
        status = read_status(engine, QUANTUM)
    finally:
        engine.dispose()
    assert (status.state, status.revision) == (State.MISMATCH, head_revision(QUANTUM))
    assert _folder(cache) == before

    capsys.readouterr()
    assert main(["status", "--store", "quantum", "--url", url]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "state:          mismatch" in out
    assert "UnifiedQuantum: user_version 5" in out
    assert main(["upgrade", "--store", "quantum", "--url", url]) == EXIT_FAILED
    assert "UnifiedQuantum" in capsys.readouterr().err
    assert _folder(cache) == before

    # UnifiedQuantum still has its file as it left it.
    again = unified_quantum.TaskStore(cache_dir=cache)
    assert sorted(task.metadata["legacy_platform_id"] for task in again.list()) == legacy_ids
    assert again.get_shards(again.list()[0].task_id)


def test_a_file_unified_quantum_made_is_refused_unchanged(
    unified_quantum: ModuleType, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    theirs = unified_quantum.TaskStore(cache_dir=cache)
    theirs.save(unified_quantum.TaskInfo(task_id="uqt_" + "0" * 32, backend="sim"))
    before = _folder(cache)

    with pytest.raises(SchemaMismatch, match=r"tasks\.error_message"):
        TaskStore(cache_dir=cache)

    assert _folder(cache) == before
