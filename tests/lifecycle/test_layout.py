"""Open checks the layout a database claims: tables, column names and, on SQLite, user_version.

A database whose version row names a revision but whose schema is not that
revision's (another program migrated it, someone changed it by hand) is refused as
SchemaMismatch with nothing written; status calls it ``mismatch``.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.util.exc import CommandError

from taskdb.backends import backend_for
from taskdb.crowd import CrowdStore
from taskdb.engine import create_engine
from taskdb.errors import SchemaMismatch
from taskdb.lifecycle import (
    State,
    alembic_config,
    baseline_revision,
    head_revision,
    open_engine,
    read_status,
    upgrade,
)
from taskdb.lifecycle import layout as layout_module
from taskdb.lifecycle.adopt import expected_sqlite_shape
from taskdb.lifecycle.history import script_directory
from taskdb.lifecycle.layout import Layout, layout_changes, model_layout, revision_layout
from taskdb.quantum import TaskStore
from taskdb.spec import CROWD, QUANTUM, StoreSpec
from taskdb.tools.cli import EXIT_FAILED, main
from tests.support.engines import Target

SPECS = pytest.mark.parametrize("spec", [CROWD, QUANTUM], ids=["crowd", "quantum"])
HEAD = head_revision(CROWD)


def _folder(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` with its sha256: any write or new sibling shows."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        for path in folder.iterdir()
    }


def _change(url: str, *statements: str) -> None:
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
        for statement in statements:
            connection.execute(statement)
        connection.commit()


def _status(url: str, spec: StoreSpec = CROWD) -> tuple[State, str | None, str]:
    engine = create_engine(url, spec)
    try:
        status = read_status(engine, spec)
    finally:
        engine.dispose()
    return status.state, status.revision, status.detail


# --- what a revision holds ---


@SPECS
def test_the_models_hold_the_head_revisions_layout(spec: StoreSpec) -> None:
    assert revision_layout(spec, head_revision(spec)) == model_layout(spec)


@SPECS
def test_each_revisions_layout_has_the_columns_of_its_exact_shape(spec: StoreSpec) -> None:
    for script in script_directory(spec).walk_revisions():
        built = revision_layout(spec, script.revision)
        exact = expected_sqlite_shape(spec, script.revision)
        names = {table: frozenset(c.name for c in shape.columns) for table, shape in exact.items()}
        assert dict(built.tables) == {**names, spec.version_table: frozenset({"version_num"})}
        assert built.user_version == spec.user_version


def test_a_database_unlike_edited_models_is_judged_by_its_revision(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A maintainer's tree: the models already have a column no revision adds yet.
    edited = dict(model_layout(CROWD).tables)
    edited["workers"] = edited["workers"] | {"nickname"}
    monkeypatch.setattr(layout_module, "model_layout", lambda _spec: Layout(edited, 0))
    head = revision_layout(CROWD, HEAD)

    assert layout_changes(CROWD, HEAD, head) == []  # what the revision holds
    assert layout_changes(CROWD, HEAD, Layout(edited, 0)) == []  # what the models say
    stray = Layout({**head.tables, "workers": head.tables["workers"] | {"stray"}}, 0)
    assert layout_changes(CROWD, HEAD, stray) == [f"column workers.stray is not in {HEAD}"]


# --- SQLite files changed under their version row ---


@pytest.mark.parametrize(
    ("statement", "reported"),
    [
        ("ALTER TABLE projects ADD COLUMN owner TEXT", f"column projects.owner is not in {HEAD}"),
        (
            "ALTER TABLE projects DROP COLUMN creation_date",
            "column projects.creation_date is missing",
        ),
        ("CREATE TABLE mine (x INTEGER)", f"table mine is not in {HEAD}"),
        ("DROP TABLE onboarding_agents", "table onboarding_agents is missing"),
        ("PRAGMA user_version = 3", "user_version is 3, expected 0"),
    ],
    ids=["extra column", "missing column", "extra table", "missing table", "user_version"],
)
def test_a_changed_crowd_file_is_refused_with_nothing_written(
    sqlite_target: Target, statement: str, reported: str
) -> None:
    url = sqlite_target.migrated_url(CROWD)
    _change(url, statement)
    before = _folder(sqlite_target.tmp_path)

    with pytest.raises(SchemaMismatch) as refused:
        open_engine(CROWD, url)
    with pytest.raises(SchemaMismatch):
        CrowdStore(url)

    assert reported in str(refused.value)
    assert "Likely changed by Mephisto, if it opened this file, or someone by hand" in str(
        refused.value
    )
    assert _status(url)[:2] == (State.MISMATCH, HEAD)
    assert _folder(sqlite_target.tmp_path) == before


def test_a_current_file_still_opens(sqlite_target: Target) -> None:
    url = sqlite_target.migrated_url(CROWD)
    with CrowdStore(url) as store:
        store.projects.new("p")
    assert _status(url)[:2] == (State.CURRENT, HEAD)


def test_a_quantum_file_changed_by_hand_names_unified_quantum_as_a_possibility(
    sqlite_target: Target,
) -> None:
    url = sqlite_target.migrated_url(QUANTUM)
    _change(url, "ALTER TABLE tasks ADD COLUMN error_message TEXT")

    state, revision, detail = _status(url, QUANTUM)

    assert (state, revision) == (State.MISMATCH, head_revision(QUANTUM))
    assert "column tasks.error_message is not in" in detail
    assert "UnifiedQuantum, if it opened this file" in detail
    with pytest.raises(SchemaMismatch, match="error_message"):
        TaskStore(url=url)


def test_a_changed_file_behind_head_is_refused_before_its_backup(sqlite_target: Target) -> None:
    url = sqlite_target.fresh_url("behind")
    baseline = baseline_revision(CROWD)
    engine = create_engine(url, CROWD)
    try:
        upgrade(engine, CROWD, baseline)
    finally:
        engine.dispose()
    _change(url, "ALTER TABLE units ADD COLUMN reviewed INTEGER")
    before = _folder(sqlite_target.tmp_path)

    with pytest.raises(SchemaMismatch, match=f"column units.reviewed is not in {baseline}"):
        open_engine(CROWD, url)

    assert _folder(sqlite_target.tmp_path) == before  # no backup, no upgrade


def test_the_taskdb_command_reports_a_mismatch(
    sqlite_target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_target.migrated_url(CROWD)
    _change(url, "ALTER TABLE workers ADD COLUMN nickname TEXT")
    before = _folder(sqlite_target.tmp_path)
    capsys.readouterr()

    assert main(["status", "--url", url]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "state:          mismatch" in out
    assert "column workers.nickname is not in" in out
    assert main(["check", "--url", url]) == EXIT_FAILED
    assert "state:          mismatch" in capsys.readouterr().out
    assert main(["adopt", "--url", url]) == EXIT_FAILED
    assert main(["upgrade", "--url", url]) == EXIT_FAILED
    assert "workers.nickname" in capsys.readouterr().err
    assert _folder(sqlite_target.tmp_path) == before


# --- the shell's alembic goes through the same classifier ---


def test_the_shell_environment_refuses_a_changed_file(sqlite_target: Target) -> None:
    url = sqlite_target.migrated_url(CROWD)
    _change(url, "ALTER TABLE projects ADD COLUMN owner TEXT")
    before = _folder(sqlite_target.tmp_path)

    with pytest.raises(CommandError, match=r"column projects\.owner is not in"):
        command.stamp(alembic_config(CROWD, url=url), HEAD)

    assert _folder(sqlite_target.tmp_path) == before


def test_the_shell_environment_runs_on_after_building_a_layout(sqlite_target: Target) -> None:
    url = sqlite_target.fresh_url("behind")
    engine = create_engine(url, CROWD)
    try:
        upgrade(engine, CROWD, baseline_revision(CROWD))
    finally:
        engine.dispose()
    # The baseline's layout is built inside the environment of `alembic upgrade`, which
    # must still run its migrations afterwards.
    revision_layout.cache_clear()

    command.upgrade(alembic_config(CROWD, url=url), "head")

    assert _status(url)[:2] == (State.CURRENT, HEAD)


# --- servers: the store's tables only ---


def test_a_server_refuses_changed_columns_and_keeps_other_tables(
    server_target: Target,
) -> None:
    url = server_target.migrated_url(CROWD)
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE mine (x INTEGER)")
        CrowdStore(url).close()  # another application's table is no change of the store's
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE projects ADD COLUMN owner TEXT")
    finally:
        engine.dispose()

    with pytest.raises(SchemaMismatch) as refused:
        CrowdStore(url)

    assert f"column projects.owner is not in {HEAD}" in str(refused.value)
    assert "Likely changed by someone by hand, or another program" in str(refused.value)


def test_table_columns_lists_base_tables_in_one_read(target: Target) -> None:
    url = target.migrated_url(QUANTUM)
    engine = create_engine(url, QUANTUM)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE VIEW pending AS SELECT task_id FROM tasks")
        with engine.connect() as connection:
            backend = backend_for(connection)
            every = backend.table_columns(connection)
            named = backend.table_columns(connection, ("tasks", "absent"))
    finally:
        engine.dispose()

    assert set(every) == {"tasks", QUANTUM.version_table}
    assert named == {"tasks": every["tasks"]}
    assert {"task_id", "metadata_json"} <= every["tasks"]


def test_a_layout_built_in_memory_says_nothing_a_real_upgrade_still_reports(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    revision_layout.cache_clear()
    with caplog.at_level(logging.INFO):
        revision_layout(CROWD, "crowd_0001")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == []
    caplog.clear()
    with caplog.at_level(logging.INFO):
        CrowdStore(f"sqlite:///{tmp_path / 'crowd.sqlite'}").close()
    said = [r.getMessage() for r in caplog.records if r.name == "alembic.runtime.migration"]
    assert any(line.startswith("Running upgrade  -> crowd_0001") for line in said)
