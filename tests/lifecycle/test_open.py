"""Opening a database: adoption of seed files, version safety, concurrent openers, crashes."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

import taskdb
from taskdb.crowd import CrowdStore
from taskdb.engine import create_engine
from taskdb.errors import (
    DatabaseBehind,
    DatabaseError,
    DatabaseTooNew,
    SchemaMismatch,
)
from taskdb.files import backup_path
from taskdb.lifecycle import (
    State,
    alembic_config,
    baseline_revision,
    head_revision,
    open_engine,
    read_status,
    upgrade,
)
from taskdb.lifecycle.adopt import expected_sqlite_shape
from taskdb.schema.shape import compare, describe
from taskdb.spec import CROWD
from tests.support.engines import Target
from tests.support.processes import open_at_once, open_store_upgrading_at_once
from tests.support.seed_files import dump, fill_crowd_seed_file, make_crowd_seed_file


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _version(path: Path) -> list[tuple[str]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT version_num FROM taskdb_crowd_version").fetchall()
    finally:
        connection.close()


def _head_shape_holds(path: Path) -> None:
    engine = sa.create_engine(_url(path))
    with engine.connect() as connection:
        found = describe(connection, CROWD.tables)
    engine.dispose()
    assert compare(expected_sqlite_shape(CROWD, head_revision(CROWD)), found).identical


def test_seed_made_crowd_file_is_adopted_in_place_with_rows_unchanged(tmp_path: Path) -> None:
    path = make_crowd_seed_file(tmp_path / "mephisto.db")
    fill_crowd_seed_file(path)
    before = dump(path, CROWD.tables)

    engine = open_engine(CROWD, _url(path))
    status = read_status(engine, CROWD)
    engine.dispose()

    assert (status.state, status.application_id) == (State.CURRENT, CROWD.application_id)
    assert dump(path, CROWD.tables) == before
    assert sum(len(rows) for rows in before.values()) == 11
    assert _version(path) == [(head_revision(CROWD),)]
    assert backup_path(path, "legacy").exists()
    _head_shape_holds(path)


def test_seed_file_without_named_indexes_gets_them(tmp_path: Path) -> None:
    path = make_crowd_seed_file(tmp_path / "mephisto.db", with_indexes=False)

    open_engine(CROWD, _url(path)).dispose()

    _head_shape_holds(path)


@pytest.mark.parametrize(
    ("damage", "reported"),
    [
        ("DROP TABLE onboarding_agents", "table onboarding_agents is missing"),
        (
            "ALTER TABLE workers DROP COLUMN provider_type",
            "column workers.provider_type is missing",
        ),
        ("ALTER TABLE projects ADD COLUMN owner TEXT", "column projects.owner is not in"),
        (
            "DROP TABLE qualifications; CREATE TABLE qualifications (qualification_id INTEGER"
            " PRIMARY KEY AUTOINCREMENT, qualification_name INTEGER NOT NULL UNIQUE,"
            " creation_date DATETIME DEFAULT CURRENT_TIMESTAMP)",
            "column qualifications.qualification_name is",
        ),
    ],
)
def test_seed_file_of_another_shape_is_refused_unchanged(
    tmp_path: Path, damage: str, reported: str
) -> None:
    path = make_crowd_seed_file(tmp_path / "mephisto.db")
    connection = sqlite3.connect(path)
    connection.executescript(damage)
    connection.commit()
    connection.close()
    before = _digest(path)

    with pytest.raises(SchemaMismatch, match=reported):
        open_engine(CROWD, _url(path))

    assert _digest(path) == before


def test_database_from_a_newer_taskdb_is_refused_without_writing(sqlite_target: Target) -> None:
    url = sqlite_target.migrated_url(CROWD)
    path = Path(url.removeprefix("sqlite:///"))
    connection = sqlite3.connect(path)
    connection.execute("UPDATE taskdb_crowd_version SET version_num = 'crowd_9999'")
    connection.commit()
    connection.close()
    before = _digest(path)

    with pytest.raises(DatabaseTooNew, match="crowd_9999"):
        open_engine(CROWD, url)

    assert _digest(path) == before
    assert _version(path) == [("crowd_9999",)]


def test_embedded_database_behind_head_is_copied_then_upgraded(sqlite_target: Target) -> None:
    url = sqlite_target.fresh_url()
    path = Path(url.removeprefix("sqlite:///"))
    engine = create_engine(url, CROWD)
    upgrade(engine, CROWD, baseline_revision(CROWD))
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO projects (project_name) VALUES ('kept')")
    engine.dispose()

    open_engine(CROWD, url).dispose()

    assert _version(path) == [(head_revision(CROWD),)]
    backup = backup_path(path, baseline_revision(CROWD))
    assert _version(backup) == [(baseline_revision(CROWD),)]
    copy = sqlite3.connect(backup)
    assert copy.execute("SELECT project_name FROM projects").fetchall() == [("kept",)]
    copy.close()


def test_server_database_is_not_upgraded_on_open(server_target: Target) -> None:
    url = server_target.fresh_url()
    with pytest.raises(DatabaseBehind, match="is fresh") as refused:
        open_engine(CROWD, url)
    # The command a wheel user can run: an installed taskdb has no alembic.ini.
    assert f"`taskdb upgrade --store crowd --url '{url}'`" in str(refused.value)
    engine = create_engine(url, CROWD)
    assert read_status(engine, CROWD).state is State.FRESH
    upgrade(engine, CROWD, baseline_revision(CROWD))
    engine.dispose()
    with pytest.raises(DatabaseBehind, match=f"revision {baseline_revision(CROWD)}"):
        open_engine(CROWD, url)


def test_a_server_database_is_upgraded_on_open_when_asked(server_target: Target) -> None:
    fresh = server_target.fresh_url()
    with pytest.raises(DatabaseBehind, match="is fresh"):
        CrowdStore(fresh)
    with CrowdStore(fresh, upgrade=True) as store:
        assert read_status(store.engine, CROWD).revision == head_revision(CROWD)
        store.projects.new("made at start-up")
    with CrowdStore(fresh) as reopened:  # at head now: no upgrade needed
        assert [p.project_name for p in reopened.projects.find()] == ["made at start-up"]

    behind = server_target.fresh_url()
    engine = create_engine(behind, CROWD)
    upgrade(engine, CROWD, baseline_revision(CROWD))
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO projects (project_name) VALUES ('kept')")
    with pytest.raises(DatabaseBehind, match=f"revision {baseline_revision(CROWD)}"):
        open_engine(CROWD, engine=engine)
    assert open_engine(CROWD, engine=engine, upgrade=True) is engine
    assert read_status(engine, CROWD).revision == head_revision(CROWD)
    engine.dispose()
    with CrowdStore(behind) as store:
        assert [p.project_name for p in store.projects.find()] == ["kept"]


def test_upgrade_on_open_still_refuses_a_foreign_server_database(server_target: Target) -> None:
    url = server_target.fresh_url()
    engine = create_engine(url, CROWD)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE projects (other_column INTEGER)")
    engine.dispose()
    with pytest.raises(SchemaMismatch, match="no taskdb version table"):
        CrowdStore(url, upgrade=True)
    engine = create_engine(url, CROWD)
    assert sa.inspect(engine).get_table_names() == ["projects"]
    engine.dispose()


@pytest.mark.slow
def test_four_processes_upgrading_one_fresh_server_database_on_open(
    server_target: Target,
) -> None:
    url = server_target.fresh_url()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    results = context.Queue()
    workers = [
        context.Process(target=open_store_upgrading_at_once, args=(url, barrier, results))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    # The migration lock lets one opener upgrade; the others find the database current.
    assert [state for _ran, state in outcomes] == ["current"] * 4
    assert sum(ran for ran, _state in outcomes) == 1


@pytest.mark.slow
def test_four_processes_open_one_fresh_database_at_once(target: Target) -> None:
    url = target.fresh_url()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    results = context.Queue()
    workers = [context.Process(target=open_at_once, args=(url, barrier, results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    assert [state for _ran, state in outcomes] == ["current"] * 4
    assert sum(ran for ran, _state in outcomes) == 1
    engine = create_engine(url, CROWD)
    assert read_status(engine, CROWD).revision == head_revision(CROWD)
    engine.dispose()
    if not target.is_server:
        _head_shape_holds(Path(url.removeprefix("sqlite:///")))


SLOW_REVISION = """
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "crowd_slow_test"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
    op.add_column("projects", sa.Column("half_done_flag", sa.Integer))
    Path({marker!r}).write_text("started")
    time.sleep(120)


def downgrade():
    pass
"""

CHILD = """
import sys
from alembic import command
from taskdb.engine import create_engine
from taskdb.engine import Database
from taskdb.lifecycle.lock import migration_lock
from taskdb.lifecycle import alembic_config
from taskdb.spec import CROWD

url, versions = sys.argv[1], sys.argv[2]
engine = create_engine(url, CROWD)
with migration_lock(Database.of(engine, CROWD)), engine.connect() as connection:
    config = alembic_config(CROWD, connection=connection)
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", versions)
    command.upgrade(config, "head")
"""


@pytest.mark.slow
def test_sigkill_during_an_upgrade_leaves_the_old_revision(sqlite_target: Target) -> None:
    url = sqlite_target.migrated_url(CROWD)
    path = Path(url.removeprefix("sqlite:///"))
    extra = sqlite_target.tmp_path / "extra_versions"
    extra.mkdir()
    marker = sqlite_target.tmp_path / "started"
    (extra / "crowd_slow_test.py").write_text(
        SLOW_REVISION.format(down=head_revision(CROWD), marker=str(marker))
    )
    packaged = Path(taskdb.__file__).parent / "migrations" / "crowd" / "versions"
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD), url, f"{packaged}{os.pathsep}{extra}"]
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert child.poll() is None, "the upgrade ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()

    engine = open_engine(CROWD, url)
    status = read_status(engine, CROWD)
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        project_columns = {c["name"] for c in sa.inspect(connection).get_columns("projects")}
    engine.dispose()
    assert (status.state, status.revision) == (State.CURRENT, head_revision(CROWD))
    assert "half_done" not in tables
    assert "half_done_flag" not in project_columns
    _head_shape_holds(path)


REBUILD_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("units", recreate="always") as batch:
        batch.add_column(sa.Column("note", sa.Text))
    {extra}


def downgrade():
    pass
"""


def _upgrade_with_extra_revision(url: str, tmp_path: Path, extra: str) -> None:
    versions = tmp_path / "extra_versions"
    versions.mkdir()
    (versions / "crowd_rebuild_test.py").write_text(
        REBUILD_REVISION.format(
            revision="crowd_rebuild_test", down=head_revision(CROWD), extra=extra
        )
    )
    packaged = Path(taskdb.__file__).parent / "migrations" / "crowd" / "versions"
    engine = create_engine(url, CROWD)
    try:
        with engine.connect() as connection:
            config = alembic_config(CROWD, connection=connection)
            config.set_main_option("path_separator", "os")
            config.set_main_option("version_locations", f"{packaged}{os.pathsep}{versions}")
            command.upgrade(config, "heads")
    finally:
        engine.dispose()


def test_a_table_rebuilding_revision_runs_on_a_populated_file(tmp_path: Path) -> None:
    path = make_crowd_seed_file(tmp_path / "mephisto.db")
    fill_crowd_seed_file(path)
    open_engine(CROWD, _url(path)).dispose()
    units_before = dump(path, ("units",))["units"]

    _upgrade_with_extra_revision(_url(path), tmp_path, extra="pass")

    connection = sqlite3.connect(path)
    try:
        version = connection.execute("SELECT version_num FROM taskdb_crowd_version").fetchall()
        rows = connection.execute("SELECT unit_id, agent_id, worker_id, note FROM units").fetchall()
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        connection.close()
    assert version == [("crowd_rebuild_test",)]
    assert rows == [(1, 1, 1, None)]
    assert len(units_before) == 1


def test_a_revision_that_leaves_dangling_references_is_rolled_back(tmp_path: Path) -> None:
    path = make_crowd_seed_file(tmp_path / "mephisto.db")
    fill_crowd_seed_file(path)
    open_engine(CROWD, _url(path)).dispose()
    before = dump(path, CROWD.tables)

    with pytest.raises(DatabaseError, match="dangling references"):
        _upgrade_with_extra_revision(
            _url(path), tmp_path, extra='op.execute("UPDATE units SET agent_id = 999")'
        )

    assert _version(path) == [(head_revision(CROWD),)]
    assert dump(path, CROWD.tables) == before
    engine = create_engine(_url(path), CROWD)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_server_database_with_seed_tables_but_no_version_is_refused(
    server_target: Target,
) -> None:
    url = server_target.fresh_url()
    engine = create_engine(url, CROWD)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE projects (project_id INTEGER PRIMARY KEY)")
    try:
        with pytest.raises(SchemaMismatch, match="taskdb copy"):
            open_engine(CROWD, url)
        with pytest.raises(SchemaMismatch, match="adopts only SQLite"):
            upgrade(engine, CROWD)
        assert read_status(engine, CROWD).state is State.LEGACY
    finally:
        engine.dispose()


def test_a_quantum_server_database_is_upgraded_on_open_when_asked(server_target: Target) -> None:
    from taskdb.quantum import TaskInfo, TaskStore
    from taskdb.spec import QUANTUM

    fresh = server_target.fresh_url("quantum")
    with pytest.raises(DatabaseBehind, match="is fresh"):
        TaskStore(url=fresh)
    with TaskStore(url=fresh, upgrade=True) as store:
        assert read_status(store.engine, QUANTUM).revision == head_revision(QUANTUM)
        store.save(TaskInfo(task_id="t", backend="sim"))
    with TaskStore(url=fresh) as reopened:
        assert [task.task_id for task in reopened.list()] == ["t"]
