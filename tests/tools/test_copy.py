"""Moving data from the embedded SQLite file to another database with copy_database."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from taskdb.crowd.models import CrowdBase
from taskdb.engine import create_engine
from taskdb.errors import DatabaseError, DatabaseMismatch, EntryDoesNotExist, InvalidEntry
from taskdb.lifecycle import open_engine
from taskdb.quantum import TaskInfo, TaskStore
from taskdb.quantum.models import QuantumBase
from taskdb.spec import CROWD, QUANTUM, StoreSpec
from taskdb.tools.copy import copy_database
from tests.support.engines import Target
from tests.support.seed_files import fill_crowd_seed_file, make_crowd_seed_file


def _rows(url: str, spec: StoreSpec, metadata: sa.MetaData) -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(url, spec)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        sa.select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _adopted_seed_file(tmp_path: Path) -> str:
    source = make_crowd_seed_file(tmp_path / "mephisto.db")
    fill_crowd_seed_file(source)
    open_engine(CROWD, f"sqlite:///{source}").dispose()
    return f"sqlite:///{source}"


def test_crowd_rows_move_to_another_engine_with_their_ids(target: Target, tmp_path: Path) -> None:
    source_url = _adopted_seed_file(tmp_path)
    target_url = target.migrated_url(CROWD)

    copied = copy_database(CROWD, source_url, target_url)

    assert sum(copied.values()) == 11
    assert _rows(target_url, CROWD, CrowdBase.metadata) == _rows(
        source_url, CROWD, CrowdBase.metadata
    )
    engine = create_engine(target_url, CROWD)
    with engine.begin() as connection:
        agent = connection.execute(sa.text("SELECT agent_id FROM units")).scalar_one()
        new_id = connection.execute(
            sa.insert(CrowdBase.metadata.tables["projects"]).values(project_name="after")
        ).inserted_primary_key
    engine.dispose()
    assert agent == 1
    assert tuple(new_id) == (2,)


def test_quantum_rows_keep_their_insertion_order(target: Target, sqlite_target: Target) -> None:
    source_url = sqlite_target.migrated_url(QUANTUM)
    engine = create_engine(source_url, QUANTUM)
    tasks = QuantumBase.metadata.tables["tasks"]
    rows = [
        {
            "task_id": task_id,
            "backend": "b",
            "status": "pending",
            "shots": 1,
            "submit_time": "2026-01-01T00:00:00",
            "update_time": "2026-01-01T00:00:00",
            "result_json": None,
            "metadata_json": "{}",
        }
        for task_id in ("zeta", "alpha", "mid")
    ]
    with engine.begin() as connection:
        connection.execute(sa.insert(tasks), rows)
    engine.dispose()
    target_url = target.migrated_url(QUANTUM)

    assert copy_database(QUANTUM, source_url, target_url) == {"tasks": 3}

    order = "rowid" if target.name == "sqlite" else "insert_seq"
    engine = create_engine(target_url, QUANTUM)
    with engine.connect() as connection:
        ids = connection.execute(sa.text(f"SELECT task_id FROM tasks ORDER BY {order}")).scalars()
        assert list(ids) == ["zeta", "alpha", "mid"]
    engine.dispose()


def test_copy_refuses_a_target_that_holds_rows(target: Target, tmp_path: Path) -> None:
    source_url = _adopted_seed_file(tmp_path)
    target_url = target.migrated_url(CROWD)
    copy_database(CROWD, source_url, target_url)
    before = _rows(target_url, CROWD, CrowdBase.metadata)

    with pytest.raises(DatabaseMismatch, match="already holds rows"):
        copy_database(CROWD, source_url, target_url)

    assert _rows(target_url, CROWD, CrowdBase.metadata) == before


def test_copy_only_reads_its_source(sqlite_target: Target, tmp_path: Path) -> None:
    target_url = sqlite_target.migrated_url(CROWD)
    missing = tmp_path / "typo.sqlite"
    with pytest.raises(EntryDoesNotExist, match="no crowd database"):
        copy_database(CROWD, f"sqlite:///{missing}", target_url)
    assert not missing.exists()

    seed = make_crowd_seed_file(tmp_path / "mephisto.db")
    fill_crowd_seed_file(seed)
    before = seed.read_bytes()
    with pytest.raises(DatabaseMismatch, match="taskdb adopt"):
        copy_database(CROWD, f"sqlite:///{seed}", target_url)
    assert seed.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("mephisto")) == [
        "mephisto.db"
    ]


def test_a_source_row_the_target_cannot_hold_fails_the_copy_and_leaves_the_target_empty(
    mysql_target: Target, tmp_path: Path
) -> None:
    source_url = f"sqlite:///{tmp_path / 'tasks.sqlite'}"
    with TaskStore(url=source_url) as source:
        source.save(TaskInfo(task_id="fits", backend="sim"))
        source.save(TaskInfo(task_id="x" * 300, backend="sim"))  # over MariaDB's VARCHAR(255)
    target_url = mysql_target.migrated_url(QUANTUM)
    with pytest.raises(DatabaseError, match="longer than this engine allows") as failed:
        copy_database(QUANTUM, source_url, target_url)
    # The source's data, not the request, is at fault: taskdb copy exits 1, not 2.
    assert not isinstance(failed.value, InvalidEntry)
    assert all(rows == [] for rows in _rows(target_url, QUANTUM, QuantumBase.metadata).values())
