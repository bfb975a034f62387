"""Autogenerate as maintainers run it: numbered, batch, importable, ruff-clean revisions.

The shell tests work in a scratch copy of the checkout (tests/support/scratch.py), whose
models they change; nothing is ever written into the checkout's ``migrations``.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from taskdb.crowd import CrowdStore
from taskdb.engine import create_engine
from taskdb.lifecycle import head_revision
from taskdb.lifecycle.adopt import expected_sqlite_shape
from taskdb.schema.shape import TableShape, compare, describe
from taskdb.spec import CROWD, QUANTUM, StoreSpec
from tests.support.crowd_world import build_world, snapshot
from tests.support.engines import ENGINES, Target, server_url
from tests.support.scratch import (
    NEW_WORKER_COLUMNS,
    add_worker_nickname,
    assigned,
    extra_versions_config,
    function_bodies,
    ruff_failures,
    run_alembic,
    scratch_checkout,
    versions,
    write_revision,
)

CLEAN = "No new upgrade operations detected"


def _next_revision(spec: StoreSpec) -> str:
    """The id a new revision gets: one past the checkout's head (crowd_0003, quantum_0003)."""
    store, number = head_revision(spec).rsplit("_", 1)
    return f"{store}_{int(number) + 1:04d}"


@pytest.fixture
def every_engine(tmp_path: Path) -> Iterator[dict[str, Target]]:
    """A Target on each of the three engines (skips, or fails under CI, when one is missing)."""
    made: dict[str, Target] = {}
    try:
        for name in ENGINES:
            if name != "sqlite":
                server_url(name)
            made[name] = Target(name, tmp_path / "databases")
        (tmp_path / "databases").mkdir()
        yield made
    finally:
        for target in made.values():
            target.drop_created()


def _ok(done: subprocess.CompletedProcess[str], what: str) -> str:
    assert done.returncode == 0, f"{what} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return f"{done.stdout}{done.stderr}"


def _engine(url: str) -> sa.Engine:
    return create_engine(url, CROWD, poolclass=sa.NullPool)


def _populated(target: Target) -> str:
    """A crowd database at the checkout's head (crowd_0002) with rows in every table."""
    url = target.migrated_url(CROWD)
    with CrowdStore(url) as store:
        world = build_world(store)
        store.workers.new("second worker", "mock")
        store.projects.new("second project")
        store.tasks.new("second task", "mock-task", world.project)
    return url


def _worker_columns(url: str) -> list[str]:
    engine = _engine(url)
    try:
        return [column["name"] for column in sa.inspect(engine).get_columns("workers")]
    finally:
        engine.dispose()


def _non_null_new_values(url: str) -> int:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.exec_driver_sql(
                    "SELECT COUNT(*) FROM workers WHERE nickname IS NOT NULL"
                    " OR project_id IS NOT NULL"
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _sqlite_shape(url: str) -> dict[str, TableShape]:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return describe(connection, CROWD.tables)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_model_change_autogenerates_a_revision_that_runs_on_every_engine(
    target: Target, every_engine: dict[str, Target], tmp_path: Path
) -> None:
    copy = scratch_checkout(tmp_path / "checkout")
    home = tmp_path / "shell-home"
    add_worker_nickname(copy)
    before_files = set(versions(copy, CROWD).iterdir())

    generated = _ok(
        run_alembic(
            copy,
            CROWD,
            "revision",
            "--autogenerate",
            "-m",
            "worker nickname",
            home=home,
            url=target.migrated_url(CROWD),
        ),
        f"alembic revision --autogenerate against {target.name}",
    )

    new_files = set(versions(copy, CROWD).iterdir()) - before_files
    number = _next_revision(CROWD)
    assert [path.name for path in new_files] == [f"{number}_worker_nickname.py"], generated
    (revision_file,) = new_files
    source = revision_file.read_text()
    assert assigned(revision_file, "revision") == number
    assert assigned(revision_file, "down_revision") == head_revision(CROWD)
    # Batch operations whatever the engine; the seed table is rebuilt with the seed's DDL.
    assert len(re.findall(r'with op\.batch_alter_table\(\s*"workers",', source)) == 2, source
    assert 'table_kwargs={"sqlite_autoincrement": True, "info": {SEED_DDL: True}}' in source
    # taskdb's type rendered as itself, imported; no dotted, unimported path.
    assert "from taskdb.schema import SEED_DDL, KeyText\n" in source, source
    assert 'sa.Column("nickname", KeyText(), nullable=True)' in source
    assert "taskdb.schema.KeyText()" not in source
    assert "taskdb.schema.types" not in source
    for operation in (
        "batch_op.add_column",
        "batch_op.create_index",
        "batch_op.create_unique_constraint",
        "batch_op.create_foreign_key",
    ):
        assert operation in source, operation
    assert ruff_failures(revision_file, copy) == []

    for name, engine_target in every_engine.items():
        url = _populated(engine_target)
        before = snapshot(url)
        assert all(before.values()), before

        _ok(run_alembic(copy, CROWD, "upgrade", "head", home=home, url=url), f"upgrade {name}")
        assert snapshot(url) == before, name
        assert set(NEW_WORKER_COLUMNS) <= set(_worker_columns(url)), name
        assert _non_null_new_values(url) == 0
        if name == "sqlite":
            workers = _sqlite_shape(url)["workers"]
            assert workers.autoincrement
            assert not next(c for c in workers.columns if c.name == "worker_id").not_null
            assert "worker_by_nickname_index" in workers.index_map()
            assert ("worker_name", "nickname") in workers.unique_sets
        checked = _ok(run_alembic(copy, CROWD, "check", home=home, url=url), f"check {name}")
        assert CLEAN in checked, checked

        _ok(run_alembic(copy, CROWD, "downgrade", "-1", home=home, url=url), f"downgrade {name}")
        assert snapshot(url) == before, name
        assert not set(NEW_WORKER_COLUMNS) & set(_worker_columns(url)), name
        if name == "sqlite":
            expected = expected_sqlite_shape(CROWD, head_revision(CROWD))
            actual = _sqlite_shape(url)
            comparison = compare(expected, actual)
            assert comparison.problems == ()
            assert comparison.missing_indexes == ()
            assert actual == expected


def test_quantum_autogenerate_against_a_current_database_is_empty(
    sqlite_target: Target, tmp_path: Path
) -> None:
    copy = scratch_checkout(tmp_path / "checkout")

    done = run_alembic(
        copy,
        QUANTUM,
        "revision",
        "--autogenerate",
        "-m",
        "nothing",
        home=tmp_path / "shell-home",
        url=sqlite_target.migrated_url(QUANTUM),
    )

    _ok(done, "alembic -n quantum revision --autogenerate")
    number = _next_revision(QUANTUM)
    written = versions(copy, QUANTUM) / f"{number}_nothing.py"
    assert written.is_file(), sorted(p.name for p in versions(copy, QUANTUM).iterdir())
    assert assigned(written, "revision") == number
    assert assigned(written, "down_revision") == head_revision(QUANTUM)
    bodies = function_bodies(written)
    assert bodies["upgrade"] == ["pass"]
    assert bodies["downgrade"] == ["pass"]
    assert ruff_failures(written, copy) == []


def test_a_plain_revision_is_numbered_and_opens_no_database(tmp_path: Path) -> None:
    copy = scratch_checkout(tmp_path / "checkout")
    home = tmp_path / "shell-home"

    done = run_alembic(copy, CROWD, "revision", "-m", "hand written", home=home)

    _ok(done, "alembic revision")
    number = _next_revision(CROWD)
    written = versions(copy, CROWD) / f"{number}_hand_written.py"
    assert written.is_file(), sorted(p.name for p in versions(copy, CROWD).iterdir())
    assert assigned(written, "revision") == number
    assert assigned(written, "down_revision") == head_revision(CROWD)
    assert function_bodies(written) == {"upgrade": ["pass"], "downgrade": ["pass"]}
    assert ruff_failures(written, copy) == []
    # No URL was given: the default file would be here, had anything opened it.
    assert not (home / "taskdb" / CROWD.default_file).exists()
    assert not (home / "taskdb").exists()


# --- the same hooks in this process, on a database that lacks what the models have ---

# Columns of the three kinds taskdb renders itself (KeyText, LongText, Double), all in
# seed tables, so each table's batch rebuild carries the seed's table arguments.
DROPPED = (("workers", "provider_type"), ("task_runs", "init_params"), ("units", "pay_amount"))
# A seed table no other table refers to, dropped whole: autogenerate creates it again.
DROPPED_TABLE = "onboarding_agents"


def test_autogenerate_hooks_in_process_render_types_seed_tables_and_numbers(
    sqlite_target: Target, tmp_path: Path
) -> None:
    url = sqlite_target.migrated_url(CROWD)
    path = Path(url.removeprefix("sqlite:///"))
    with closing(sqlite3.connect(path)) as raw, raw:
        for table, column in DROPPED:
            raw.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        raw.execute(f"DROP TABLE {DROPPED_TABLE}")
    extra = tmp_path / "extra_versions"
    extra.mkdir()
    first = _next_revision(CROWD)
    second = f"crowd_{int(first.rsplit('_', 1)[1]) + 1:04d}"
    engine = create_engine(url, CROWD)
    try:
        with engine.connect() as connection:
            config = extra_versions_config(CROWD, connection, extra)
            restored = write_revision(config, extra, "restore columns", autogenerate=True)
            # Not formatted in this process (alembic.ini's ruff hooks are the shell's).
            source = Path(restored.path).read_text().replace("'", '"')

            assert restored.revision == first
            assert Path(restored.path) == extra / f"{first}_restore_columns.py"
            assert 'sa.Column("provider_type", KeyText(), nullable=False)' in source
            assert (
                'sa.Column("init_params", sa.Text().with_variant(mysql.LONGTEXT(), "mysql", '
                '"mariadb"), nullable=False)'
            ) in source
            assert (
                'sa.Column("pay_amount", sa.Float().with_variant(mysql.DOUBLE(asdecimal=False), '
                '"mysql", "mariadb"), nullable=False)'
            ) in source
            for line in (
                "from taskdb.schema import KeyText",
                "from taskdb.schema import SEED_DDL",
                "from sqlalchemy.dialects import mysql",
            ):
                assert f"\n{line}\n" in source, line
            kwargs = 'table_kwargs={"sqlite_autoincrement": True, "info": {SEED_DDL: True}}'
            for table in (*(table for table, _ in DROPPED), DROPPED_TABLE):
                # Up and down: columns added and dropped, or the index of the new table.
                batch = f'with op.batch_alter_table("{table}", schema=None, {kwargs}) as batch_op:'
                assert source.count(batch) == 2, (table, source)
            # The table made anew keeps the seed's SQLite DDL too.
            assert f'op.create_table("{DROPPED_TABLE}",' in source
            assert 'info={"taskdb_seed_ddl": True}' in source
            assert "sqlite_autoincrement=True" in source
            assert "taskdb.schema.types" not in source

            # What it wrote runs: the columns come back and the models match again.
            command.upgrade(config, "heads")
            command.check(config)

            # Numbering continues past the newest file; an explicit id is kept.
            assert write_revision(config, extra, "next one").revision == second
            assert write_revision(config, extra, "mine", rev_id="crowd_handmade").revision == (
                "crowd_handmade"
            )
    finally:
        engine.dispose()
    assert {p.name for p in extra.glob("*.py")} == {
        f"{first}_restore_columns.py",
        f"{second}_next_one.py",
        "crowd_handmade_mine.py",
    }
    shape = _sqlite_shape(url)
    for table, column in DROPPED:
        assert shape[table].columns[-1].name == column
    expected = expected_sqlite_shape(CROWD, head_revision(CROWD))
    for table in (*(table for table, _ in DROPPED), DROPPED_TABLE):
        assert shape[table].autoincrement, table
        assert shape[table].columns[0] == expected[table].columns[0]  # the key: no NOT NULL
        assert shape[table].index_map() == expected[table].index_map()


def test_autogenerate_ignores_the_server_only_insert_seq(
    server_target: Target, tmp_path: Path
) -> None:
    url = server_target.migrated_url(QUANTUM)
    extra = tmp_path / "extra_versions"
    extra.mkdir()
    engine = create_engine(url, QUANTUM)
    try:
        with engine.connect() as connection:
            assert "insert_seq" in {c["name"] for c in sa.inspect(connection).get_columns("tasks")}
            config = extra_versions_config(QUANTUM, connection, extra)
            command.check(config)
            script = write_revision(config, extra, "nothing", autogenerate=True)
    finally:
        engine.dispose()
    assert script.revision == _next_revision(QUANTUM)
    assert function_bodies(Path(script.path)) == {"upgrade": ["pass"], "downgrade": ["pass"]}
