"""The README's main job: bring both stores to head, then walk through a short end-to-end run."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from taskdb.crowd import CrowdStore
from taskdb.engine import create_engine
from taskdb.lifecycle.status import read_status
from taskdb.lifecycle.upgrade import upgrade
from taskdb.quantum import TaskInfo, TaskStatus, TaskStore
from taskdb.spec import CROWD, QUANTUM, StoreSpec

Printer = Callable[[str], None]


def migrate_store(spec: StoreSpec, url: str, out: Printer) -> None:
    """Run the store's Alembic history up to head and say what changed."""
    engine = create_engine(url, spec)
    try:
        before = read_status(engine, spec)
        after = upgrade(engine, spec)
    finally:
        engine.dispose()
    out(
        f"{spec.name:8} {after.url}\n"
        f"         {before.state.value} ({before.revision or 'no revision'})"
        f" -> {after.state.value} ({after.revision})"
    )


def run_crowd_demo(store: CrowdStore, tag: str, out: Printer) -> None:
    project_id = store.projects.new(f"{tag}-project")
    task_id = store.tasks.new(f"{tag}-task", "mock", project_id)
    requester_id = store.requesters.new(f"{tag}-requester", "mock")
    run_id = store.task_runs.new(task_id, requester_id, '{"units": 4}', "mock", "mock")
    shared = {"task_id": task_id, "task_run_id": run_id, "requester_id": requester_id}
    with store.unit_of_work() as work:
        assignment_ids = work.assignments.new_many(
            [{**shared, "task_type": "mock", "provider_type": "mock"} for _ in range(2)]
        )
        unit_ids = work.units.new_many(
            [
                {
                    **shared,
                    "assignment_id": assignment_id,
                    "unit_index": index,
                    "pay_amount": 0.25,
                    "provider_type": "mock",
                    "task_type": "mock",
                }
                for assignment_id in assignment_ids
                for index in range(2)
            ]
        )
    worker_ids = [store.workers.new(f"{tag}-worker-{n}", "mock") for n in range(2)]
    agent_id = store.agents.new(
        worker_ids[0], unit_ids[0], task_id, run_id, assignment_ids[0], "mock", "mock"
    )
    store.agents.update_status(agent_id, "in task")
    qualification_id = store.qualifications.make(f"{tag}-qualified")
    store.granted_qualifications.grant(qualification_id, worker_ids[0], value=3)

    unit = store.units.get(unit_ids[0])
    granted = store.granted_qualifications.check(qualification_id=qualification_id)
    out(f"project  #{project_id} {tag}-project, task #{task_id}, task run #{run_id}")
    out(f"assignments {assignment_ids}, units {unit_ids}, workers {worker_ids}")
    out(
        f"agent    #{agent_id} in task; unit #{unit.unit_id} is {unit.status} by worker "
        f"#{unit.worker_id}"
    )
    out(
        f"qualification #{qualification_id} granted to {[g.worker_id for g in granted]} "
        f"with value {granted[0].value}"
    )
    waiting = store.units.find(task_run_id=run_id, status="created")
    out(f"units of run #{run_id} still waiting for a worker: {[u.unit_id for u in waiting]}")


def run_quantum_demo(store: TaskStore, tag: str, out: Printer) -> None:
    ids = [f"{tag}-{n}" for n in range(3)]
    for n, task_id in enumerate(ids):
        store.save(TaskInfo(task_id=task_id, backend="demo-backend", shots=100 * (n + 1)))
    finished = store.get(ids[0])
    if finished is None:
        raise LookupError(f"the record {ids[0]} just saved is missing")
    finished.status = TaskStatus.SUCCESS
    finished.result = {"counts": {"00": 61, "11": 39}}
    store.save(finished)
    listed = store.list(backend="demo-backend")
    out(f"quantum  saved {len(ids)} task records; newest first: {[t.task_id for t in listed][:3]}")
    out(
        f"         {store.count(backend='demo-backend', status='pending')} pending, "
        f"{store.count(backend='demo-backend', status=TaskStatus.SUCCESS)} succeeded"
    )
    # The quantum file may be a real cache: leave it as the demo found it.
    removed = sum(store.delete(task_id) for task_id in ids)
    out(f"         removed the demo's {removed} records again")


def run_demo(
    crowd_url: str | None = None,
    quantum_url: str | None = None,
    out: Printer = print,
) -> None:
    crowd_url = CROWD.resolve_url(crowd_url)
    quantum_url = QUANTUM.resolve_url(quantum_url)
    out("taskdb demo: migrating both stores through Alembic")
    migrate_store(CROWD, crowd_url, out)
    migrate_store(QUANTUM, quantum_url, out)
    tag = f"demo-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(2)}"
    out(f"running the end-to-end demo as {tag}")
    with CrowdStore(crowd_url) as crowd:
        run_crowd_demo(crowd, tag, out)
    with TaskStore(url=quantum_url) as quantum:
        run_quantum_demo(quantum, tag, out)
    out("done")
