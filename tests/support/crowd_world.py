"""Helpers of the crowd store tests: a populated chain of entries, snapshots of every table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from taskdb.crowd import CrowdStore
from taskdb.crowd.models import CrowdBase
from taskdb.engine import create_engine
from taskdb.spec import CROWD

CROWD_TABLES = tuple(CrowdBase.metadata.tables)


@dataclass(frozen=True)
class World:
    """One of each entry, linked as Mephisto links them; ids as ints."""

    project: int
    task: int
    requester: int
    task_run: int
    assignment: int
    unit: int
    worker: int
    agent: int
    onboarding_agent: int
    qualification: int


def build_world(store: CrowdStore, suffix: str = "") -> World:
    """One chain of entries; ``suffix`` on their names lets a test build several."""
    project = store.projects.new(f"project{suffix}")
    task = store.tasks.new(f"task{suffix}", "mock-task", project)
    requester = store.requesters.new(f"requester{suffix}", "mock")
    task_run = store.task_runs.new(task, requester, "{}", "mock", "mock-task")
    assignment = store.assignments.new(task, task_run, requester, "mock-task", "mock")
    unit = store.units.new(task, task_run, requester, assignment, 0, 0.5, "mock", "mock-task")
    worker = store.workers.new(f"worker{suffix}", "mock")
    agent = store.agents.new(worker, unit, task, task_run, assignment, "mock-task", "mock")
    onboarding = store.onboarding_agents.new(worker, task, task_run, "mock-task")
    qualification = store.qualifications.make(f"qualification{suffix}")
    store.granted_qualifications.grant(qualification, worker, 3)
    return World(
        project,
        task,
        requester,
        task_run,
        assignment,
        unit,
        worker,
        agent,
        onboarding,
        qualification,
    )


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the eleven tables, in key order, read on a connection of its own."""
    engine = create_engine(url, CROWD, poolclass=sa.NullPool)
    try:
        tables = CrowdBase.metadata.tables
        with engine.connect() as connection:
            return {
                name: [
                    tuple(row)
                    for row in connection.execute(
                        sa.select(tables[name]).order_by(*tables[name].primary_key.columns)
                    )
                ]
                for name in CROWD_TABLES
            }
    finally:
        engine.dispose()


def counts(url: str) -> dict[str, int]:
    return {name: len(rows) for name, rows in snapshot(url).items()}
