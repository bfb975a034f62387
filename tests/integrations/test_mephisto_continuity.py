"""Continuity with Mephisto's own LocalMephistoDB, on the same SQLite file, both ways.

A file filled by LocalMephistoDB through Mephisto's API opens with TaskdbMephistoDB
(adopted in place: every row identical, byte for byte in SQLite's own dump), and
LocalMephistoDB still reads and writes it afterwards; a file made by TaskdbMephistoDB
opens with LocalMephistoDB, and taskdb opens it again after LocalMephistoDB wrote.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.support.mephisto_compat import require_mephisto

require_mephisto()

from mephisto.abstractions.databases.local_database import LocalMephistoDB  # noqa: E402

from taskdb.integrations.mephisto import TaskdbMephistoDB  # noqa: E402
from tests.support.mephisto_world import World, plain, populate, rows  # noqa: E402

TABLES = (
    "projects",
    "tasks",
    "requesters",
    "task_runs",
    "assignments",
    "units",
    "workers",
    "agents",
    "onboarding_agents",
    "qualifications",
    "granted_qualifications",
)


def raw(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the eleven tables as sqlite3 reads them (typed as stored), by rowid."""
    connection = sqlite3.connect(path)
    try:
        return {
            table: connection.execute(
                f"SELECT *, typeof(creation_date) FROM {table} ORDER BY rowid"
            ).fetchall()
            for table in TABLES
        }
    finally:
        connection.close()


def more(db: Any, world: World, label: str) -> World:
    """A second round of writes on an existing world: each kind of call once more."""
    later = World()
    new = later.add
    task_id, run_id, requester_id = world.ids["tasks"][0], world.ids["task_runs"][0], "1"
    new("projects", db.new_project(f"later-{label}"))
    assignment = new(
        "assignments", db.new_assignment(task_id, run_id, requester_id, "mock", "mock", True)
    )
    unit = new(
        "units",
        db.new_unit(task_id, run_id, requester_id, assignment, 0, 3.0, "mock", "mock", True),
    )
    worker = new("workers", db.new_worker(f"worker-{label}", "mock"))
    new("agents", db.new_agent(worker, unit, task_id, run_id, assignment, "mock", "mock"))
    db.update_unit(unit, status="completed")
    db.clear_unit_agent_assignment(world.ids["units"][0])
    qualification = world.ids["qualifications"][0]
    db.grant_qualification(qualification, worker, value=7)
    later.grants.append((qualification, worker))
    other = world.ids["qualifications"][1]
    db.grant_qualification(other, worker, value=2)
    db.revoke_qualification(other, worker)
    return later


def test_a_local_mephisto_db_file_is_adopted_in_place_and_stays_theirs(tmp_path: Path) -> None:
    path = tmp_path / "data" / "database.db"
    path.parent.mkdir()
    local = LocalMephistoDB(str(path))
    world = populate(local)
    theirs = rows(local, world)
    local.shutdown()
    stored = raw(path)

    ours = TaskdbMephistoDB(path)
    try:
        assert (tmp_path / "data" / "database.db.legacy.bak").exists()
        assert raw(path) == stored  # adopted in place: no row touched
        assert rows(ours, world) == theirs  # every row identical, creation_date included
        assert [p.db_id for p in ours.find_projects()] == world.ids["projects"]
        written = more(ours, world, "taskdb")
        ours_after = rows(ours, world)
        ours_later = rows(ours, written)
    finally:
        ours.shutdown()

    # LocalMephistoDB still reads it, what taskdb wrote included, and writes it.
    again = LocalMephistoDB(str(path))
    try:
        assert rows(again, world) == ours_after
        assert rows(again, written) == ours_later
        assert plain(again.get_unit(world.ids["units"][0]))["status"] == "launched"
        theirs_later = more(again, world, "local")
        theirs_rows = rows(again, theirs_later)
        everything = rows(again, world)
    finally:
        again.shutdown()

    reopened = TaskdbMephistoDB(path)
    try:
        assert rows(reopened, theirs_later) == theirs_rows
        assert rows(reopened, world) == everything
        assert len(reopened.find_units()) == 5
    finally:
        reopened.shutdown()


def test_a_taskdb_made_file_opens_with_local_mephisto_db(tmp_path: Path) -> None:
    path = tmp_path / "data" / "database.db"
    ours = TaskdbMephistoDB(path)
    world = populate(ours)
    made = rows(ours, world)
    ours.shutdown()

    local = LocalMephistoDB(str(path))  # runs its CREATE ... IF NOT EXISTS on taskdb's file
    try:
        assert rows(local, world) == made  # same values, same types
        assert sorted(p.db_id for p in local.find_projects()) == world.ids["projects"]
        written = more(local, world, "local")
        theirs = rows(local, written)
        everything = rows(local, world)
    finally:
        local.shutdown()

    reopened = TaskdbMephistoDB(path)  # taskdb's schema check still passes
    try:
        assert rows(reopened, written) == theirs
        assert rows(reopened, world) == everything
    finally:
        reopened.shutdown()
