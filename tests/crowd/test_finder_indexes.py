"""Every finder the seed serves from an index is served from that index: checked with EXPLAIN.

Each case calls the real finder (``store.units.find(...)``, ``TaskStore.list(...)``),
captures the SQL and parameters it sends to the driver with a ``before_cursor_execute``
listener, and asks the database for the plan of exactly that statement:

* SQLite: ``EXPLAIN QUERY PLAN`` on a populated database, without ``ANALYZE``: taskdb
  (like the seed) never gathers statistics, so the planner's heuristics choose here
  exactly as they do for users, whatever the table size. (With ``sqlite_stat1`` it may
  trade a 1-in-5 status filter for the ``submit_time`` index that avoids a sort.)
* PostgreSQL: ``EXPLAIN`` after ``ANALYZE``, with ``SET enable_seqscan = off`` on the
  explaining connection. A test-sized table is cheaper to scan than to probe, and
  the planner rightly scans it; switching sequential scans off makes the plan answer
  the question this test asks (can the statement the finder emits use that index:
  right columns, no casts on the column side) independently of table size. Growth
  with table size is measured in ``benchmarks/`` instead.

An index is accepted when it serves the filter; where two indexes lead with the same
columns (``unit_by_task_run_index`` and the seed's three-column index), either is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from taskdb.crowd import CrowdStore
from taskdb.quantum import TaskInfo, TaskStatus, TaskStore
from taskdb.spec import CROWD, QUANTUM
from tests.support.engines import Target, server_url

UNITS_PER_RUN = 200
RUNS = 5
UNITS_PER_ASSIGNMENT = 4
WORKERS = 40
UNIT_STATUSES = ("created", "launched", "assigned", "completed", "accepted", "expired")
AGENT_STATUSES = ("none", "in task", "completed", "approved", "disconnect")

# MariaDB runs the same finders in the rest of the suite; its plans are not checked here.
EXPLAINED_ENGINES = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Crowd:
    """A populated crowd store and a few ids to look up."""

    store: CrowdStore
    task: int
    requester: int
    task_run: int
    assignment: int
    worker: int
    qualification: int
    assigned_unit: int


Finder = Callable[[Crowd], object]


# (case id, the finder call, indexes that serve it; "unique:..." names a unique constraint)
CROWD_CASES: list[tuple[str, Finder, set[str]]] = [
    (
        "units by task_run_id",
        lambda c: c.store.units.find(task_run_id=c.task_run),
        {"unit_by_task_run_index", "unit_by_task_run_by_worker_by_status_index"},
    ),
    (
        "units by task_run_id and status",
        lambda c: c.store.units.find(task_run_id=c.task_run, status="launched"),
        {"unit_by_task_run_index", "unit_by_task_run_by_worker_by_status_index"},
    ),
    (
        "units by task_run_id, worker_id and status",
        lambda c: c.store.units.find(task_run_id=c.task_run, worker_id=c.worker, status="assigned"),
        {"unit_by_task_run_by_worker_by_status_index"},
    ),
    (
        "units by assignment_id",
        lambda c: c.store.units.find(assignment_id=c.assignment),
        {"unit_by_assignment_id_index", "unique:units"},
    ),
    (
        "units by status",
        lambda c: c.store.units.find(status="launched"),
        {"unit_by_status_index"},
    ),
    (
        "units by task_id and worker_id",
        lambda c: c.store.units.find(task_id=c.task, worker_id=c.worker),
        {"unit_by_task_by_worker_index"},
    ),
    (
        "units by worker_id",
        lambda c: c.store.units.find(worker_id=c.worker),
        {"unit_by_worker_index"},
    ),
    (
        "agents by worker_id",
        lambda c: c.store.agents.find(worker_id=c.worker),
        {"agent_by_worker_by_status_index"},
    ),
    (
        "agents by worker_id and status",
        lambda c: c.store.agents.find(worker_id=c.worker, status="completed"),
        {"agent_by_worker_by_status_index"},
    ),
    (
        "agents by task_run_id",
        lambda c: c.store.agents.find(task_run_id=c.task_run),
        {"agent_by_task_run_index"},
    ),
    (
        "agents by unit_id",
        lambda c: c.store.agents.find(unit_id=c.assigned_unit),
        {"agent_by_unit_index"},
    ),
    (
        "onboarding agents by worker_id",
        lambda c: c.store.onboarding_agents.find(worker_id=c.worker),
        {"onboarding_agent_by_worker_index"},
    ),
    (
        "grants by qualification_id",
        lambda c: c.store.granted_qualifications.check(qualification_id=c.qualification),
        {"granted_qualification_by_qualification_index"},
    ),
    (
        "grants by worker_id",
        lambda c: c.store.granted_qualifications.check(worker_id=c.worker),
        {"unique:granted_qualifications"},
    ),
    (
        "grant by qualification_id and worker_id",
        lambda c: c.store.granted_qualifications.get(c.qualification, c.worker),
        {"unique:granted_qualifications", "granted_qualification_by_qualification_index"},
    ),
    (
        "assignments by task_run_id",
        lambda c: c.store.assignments.find(task_run_id=c.task_run),
        {"assignment_by_task_run_index"},
    ),
    (
        "task runs by task_id",
        lambda c: c.store.task_runs.find(task_id=c.task),
        {"task_run_by_task_index"},
    ),
    (
        "task runs by requester_id",
        lambda c: c.store.task_runs.find(requester_id=c.requester),
        {"task_run_by_requester_index"},
    ),
    (
        "requesters by provider_type",
        lambda c: c.store.requesters.find(provider_type="mturk"),
        {"requesters_by_provider_index"},
    ),
]

QuantumFinder = Callable[[TaskStore], object]

QUANTUM_CASES: list[tuple[str, QuantumFinder, set[str]]] = [
    ("tasks list by status", lambda s: s.list(status="running"), {"tasks_status_idx"}),
    ("tasks list by backend", lambda s: s.list(backend="backend-3"), {"tasks_backend_idx"}),
    ("tasks count by status", lambda s: s.count(status="running"), {"tasks_status_idx"}),
    ("tasks count by backend", lambda s: s.count(backend="backend-3"), {"tasks_backend_idx"}),
]


# -- populating ---------------------------------------------------------------------------


def _populate_crowd(store: CrowdStore) -> Crowd:
    """Task runs of many units, workers holding some of them, agents, grants: varied keys."""
    project = store.projects.new("project")
    task = store.tasks.new("task", "mock", project)
    other_task = store.tasks.new("other-task", "mock", project)
    requesters = [store.requesters.new(f"requester-{n}", "mock") for n in range(8)]
    store.requesters.new("requester-mturk", "mturk")
    workers = [store.workers.new(f"worker-{n}", "mock") for n in range(WORKERS)]
    qualifications = [store.qualifications.make(f"qualification-{n}") for n in range(10)]
    runs = [
        store.task_runs.new(
            task if n % 2 else other_task, requesters[n % len(requesters)], "{}", "mock", "mock"
        )
        for n in range(RUNS)
    ]
    first_assignment = 0
    for run_number, run in enumerate(runs):
        run_task = task if run_number % 2 else other_task
        assignments = store.assignments.new_many(
            [
                {
                    "task_id": run_task,
                    "task_run_id": run,
                    "requester_id": requesters[0],
                    "task_type": "mock",
                    "provider_type": "mock",
                }
                for _ in range(UNITS_PER_RUN // UNITS_PER_ASSIGNMENT)
            ]
        )
        first_assignment = first_assignment or assignments[0]
        units = store.units.new_many(
            [
                {
                    "task_id": run_task,
                    "task_run_id": run,
                    "requester_id": requesters[0],
                    "assignment_id": assignment,
                    "unit_index": index,
                    "pay_amount": 0.5,
                    "provider_type": "mock",
                    "task_type": "mock",
                }
                for assignment in assignments
                for index in range(UNITS_PER_ASSIGNMENT)
            ]
        )
        with store.unit_of_work() as work:
            for number, unit in enumerate(units):
                if number % 3:
                    work.units.update_status(unit, UNIT_STATUSES[number % len(UNIT_STATUSES)])
                    continue
                worker = workers[number % WORKERS]
                agent = work.agents.new(
                    worker, unit, run_task, run, assignments[number // 4], "mock", "mock"
                )
                work.agents.update_status(agent, AGENT_STATUSES[number % len(AGENT_STATUSES)])
            for number, worker in enumerate(workers):
                work.onboarding_agents.new(worker, run_task, run, "mock")
                work.granted_qualifications.grant(
                    qualifications[(number + run_number) % len(qualifications)], worker, number
                )
    assigned_unit = store.agents.find(worker_id=workers[0])[0].unit_id
    return Crowd(
        store,
        task,
        requesters[0],
        runs[0],
        first_assignment,
        workers[0],
        qualifications[0],
        assigned_unit,
    )


def _populate_quantum(store: TaskStore) -> None:
    statuses = list(TaskStatus)
    for number in range(400):
        store.save(
            TaskInfo(
                task_id=f"task-{number:04d}",
                backend=f"backend-{number % 12}",
                status=statuses[number % len(statuses)],
                submit_time=f"2024-01-01T00:{number // 60:02d}:{number % 60:02d}",
            )
        )


# -- explaining -----------------------------------------------------------------------------


@dataclass
class Captured:
    statement: str
    parameters: Any


def _capture(engine: sa.Engine, call: Callable[[], object]) -> Captured:
    """The one SELECT the finder sent to the driver, with its parameters."""
    seen: list[Captured] = []

    def listen(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(Captured(statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert len(seen) == 1, f"expected one SELECT, saw {[c.statement for c in seen]}"
    return seen[0]


def _plan(engine: sa.Engine, captured: Captured) -> str:
    """The plan the database chooses for the captured statement, as one text."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + captured.statement, captured.parameters
            ).all()
            return "\n".join(str(row[-1]) for row in rows)
        connection.exec_driver_sql("SET enable_seqscan = off")
        rows = connection.exec_driver_sql(
            "EXPLAIN " + captured.statement, captured.parameters
        ).all()
        connection.rollback()
        return "\n".join(str(row[0]) for row in rows)


def _used_indexes(engine_name: str, plan: str) -> set[str]:
    if engine_name == "sqlite":
        return set(re.findall(r"USING (?:COVERING )?INDEX (\w+)", plan))
    pattern = r"Index (?:Only )?Scan (?:Backward )?using (\w+)|Bitmap Index Scan on (\w+)"
    return {name for match in re.findall(pattern, plan) for name in match if name}


def _resolve(engine_name: str, wanted: set[str], engine: sa.Engine) -> set[str]:
    """Turn ``unique:<table>`` into the name the engine gives that table's unique index."""
    resolved = set()
    for name in wanted:
        if not name.startswith("unique:"):
            resolved.add(name)
            continue
        table = name.removeprefix("unique:")
        if engine_name == "sqlite":
            resolved.add(f"sqlite_autoindex_{table}_1")
        else:
            for constraint in sa.inspect(engine).get_unique_constraints(table):
                resolved.add(str(constraint["name"]))
    return resolved


def _analyze(engine: sa.Engine) -> None:
    """Statistics where the engine keeps them in use (PostgreSQL's autovacuum does)."""
    if engine.dialect.name == "sqlite":
        return
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


@pytest.fixture(scope="module", params=EXPLAINED_ENGINES)
def explained(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """One engine per module run: populating is the slow part, so the stores are shared."""
    name: str = request.param
    if name != "sqlite":
        server_url(name)
    made = Target(name, tmp_path_factory.mktemp(f"explain-{name}"))
    yield made
    made.drop_created()


@pytest.fixture(scope="module")
def crowd(explained: Target) -> Iterator[Crowd]:
    with CrowdStore(explained.migrated_url(CROWD)) as store:
        populated = _populate_crowd(store)
        _analyze(store.engine)
        yield populated


@pytest.fixture(scope="module")
def quantum(explained: Target) -> Iterator[TaskStore]:
    with TaskStore(url=explained.migrated_url(QUANTUM)) as store:
        _populate_quantum(store)
        _analyze(store.engine)
        yield store


def _check(engine: sa.Engine, call: Callable[[], object], wanted: set[str]) -> None:
    engine_name = engine.dialect.name
    captured = _capture(engine, call)
    plan = _plan(engine, captured)
    expected = _resolve(engine_name, wanted, engine)
    used = _used_indexes(engine_name, plan)
    assert used & expected, (
        f"expected the plan to use one of {sorted(expected)}, it uses {sorted(used)}:\n{plan}\n"
        f"for {captured.statement}"
    )


@pytest.mark.parametrize(
    ("finder", "wanted"),
    [case[1:] for case in CROWD_CASES],
    ids=[case[0] for case in CROWD_CASES],
)
def test_crowd_finder_uses_its_index(crowd: Crowd, finder: Finder, wanted: set[str]) -> None:
    _check(crowd.store.engine, lambda: finder(crowd), wanted)


@pytest.mark.parametrize(
    ("finder", "wanted"),
    [case[1:] for case in QUANTUM_CASES],
    ids=[case[0] for case in QUANTUM_CASES],
)
def test_quantum_finder_uses_its_index(
    quantum: TaskStore, finder: QuantumFinder, wanted: set[str]
) -> None:
    _check(quantum.engine, lambda: finder(quantum), wanted)
