"""A Mephisto world built through Mephisto's own API, and what any MephistoDB holds of it.

``populate`` writes the same entries into any ``MephistoDB`` (Mephisto's
``LocalMephistoDB`` or taskdb's ``TaskdbMephistoDB``) with every column varied, so
that each finder filter tells entries apart. ``rows`` reads every entry back through
the ``get_*`` methods as plain dicts, in the order and with the types the database
returned them. Only test modules that have imported Mephisto (through
tests/support/mephisto_compat.py) use this.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# What each finder returns and how its entries are read back: (table, getter, key).
FINDERS: dict[str, tuple[str, str, str]] = {
    "find_projects": ("projects", "get_project", "project_id"),
    "find_tasks": ("tasks", "get_task", "task_id"),
    "find_requesters": ("requesters", "get_requester", "requester_id"),
    "find_task_runs": ("task_runs", "get_task_run", "task_run_id"),
    "find_assignments": ("assignments", "get_assignment", "assignment_id"),
    "find_units": ("units", "get_unit", "unit_id"),
    "find_workers": ("workers", "get_worker", "worker_id"),
    "find_agents": ("agents", "get_agent", "agent_id"),
    "find_onboarding_agents": (
        "onboarding_agents",
        "get_onboarding_agent",
        "onboarding_agent_id",
    ),
    "find_qualifications": ("qualifications", "get_qualification", "qualification_id"),
    "check_granted_qualifications": ("granted_qualifications", "", ""),
}


@dataclass
class World:
    """The ids ``populate`` made, by table, in creation order (as Mephisto returns them)."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    grants: list[tuple[str, str]] = field(default_factory=list)

    def add(self, table: str, entry_id: str) -> str:
        self.ids.setdefault(table, []).append(entry_id)
        return entry_id


def populate(db: Any) -> World:
    """Two or three of everything, linked as Mephisto links them, with statuses moved on."""
    world = World()
    new = world.add
    p1 = new("projects", db.new_project("project-1"))
    p2 = new("projects", db.new_project("project-2"))
    t1 = new("tasks", db.new_task("task-1", "mock", project_id=p1))
    t2 = new("tasks", db.new_task("task-2", "other", project_id=p2))
    new("tasks", db.new_task("task-3", "mock"))
    r1 = new("requesters", db.new_requester("requester-1", "mock"))
    r2 = new("requesters", db.new_requester("requester-2_sandbox", "mturk_sandbox"))
    run1 = new("task_runs", db.new_task_run(t1, r1, json.dumps({"a": 1}), "mock", "mock"))
    run2 = new("task_runs", db.new_task_run(t2, r2, "{}", "mturk_sandbox", "other", sandbox=False))
    db.update_task_run(run2, is_completed=True)
    a1 = new("assignments", db.new_assignment(t1, run1, r1, "mock", "mock", True))
    a2 = new("assignments", db.new_assignment(t2, run2, r2, "other", "mturk_sandbox", False))
    u1 = new("units", db.new_unit(t1, run1, r1, a1, 0, 1.5, "mock", "mock", True))
    new("units", db.new_unit(t1, run1, r1, a1, 1, 2.0, "mock", "mock", True))
    u3 = new("units", db.new_unit(t2, run2, r2, a2, 0, 0.25, "mturk_sandbox", "other", False))
    w1 = new("workers", db.new_worker("worker-1", "mock"))
    w2 = new("workers", db.new_worker("worker-2", "mturk_sandbox"))
    g1 = new("agents", db.new_agent(w1, u1, t1, run1, a1, "mock", "mock"))
    g2 = new("agents", db.new_agent(w2, u3, t2, run2, a2, "other", "mturk_sandbox"))
    db.update_agent(g1, status="in task")
    db.update_agent(g2, status="completed")
    db.update_unit(u3, status="completed")
    new("onboarding_agents", db.new_onboarding_agent(w1, t1, run1, "mock"))
    o2 = new("onboarding_agents", db.new_onboarding_agent(w2, t2, run2, "other"))
    db.update_onboarding_agent(o2, status="approved")
    q1 = new("qualifications", db.make_qualification("qualification-1"))
    q2 = new("qualifications", db.make_qualification("qualification-2"))
    for qualification, worker, value in ((q1, w1, 1), (q2, w1, 5), (q1, w2, 5)):
        db.grant_qualification(qualification, worker, value=value)
        world.grants.append((qualification, worker))
    return world


def plain(row: Any) -> dict[str, Any]:
    """A returned row as a dict, read key by key as Mephisto reads it."""
    return {key: row[key] for key in row.keys()}  # noqa: SIM118  (sqlite3.Row is no dict)


def rows(db: Any, world: World) -> dict[str, list[dict[str, Any]]]:
    """Every entry of ``world`` read back through the ``get_*`` methods."""
    read: dict[str, list[dict[str, Any]]] = {}
    for table, getter, _key in FINDERS.values():
        if table == "granted_qualifications":
            read[table] = [plain(db.get_granted_qualification(q, w)) for q, w in world.grants]
        else:
            get: Callable[[str], Any] = getattr(db, getter)
            read[table] = [plain(get(entry_id)) for entry_id in world.ids.get(table, [])]
    return read


def typed(table_rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Rows with each value paired with its type, ``creation_date`` left out."""
    return {
        table: [
            {key: (type(value), value) for key, value in row.items() if key != "creation_date"}
            for row in entries
        ]
        for table, entries in table_rows.items()
    }


def found_ids(found: list[Any]) -> list[Any]:
    """What a finder returned, as comparable ids (granted qualifications have two)."""
    return [
        (item.qualification_id, item.worker_id) if not hasattr(item, "db_id") else item.db_id
        for item in found
    ]
