"""A deterministic crowd and quantum data set for the ORM cookbook (docs/orm.md).

Shared by tests/crowd/test_cookbook.py (a few hundred units) and benchmarks/orm.py
(the benchmark's size). Rows are plain dicts with their ids given, so a test can
work out every answer in Python from them, independently of SQL. The shape:

- 2 projects, 3 tasks, 2 requesters; task runs of ``units // runs`` units each
  (``runs = max(6, units // 1000)``), plus one run with no unit at all; every third
  run is finished (no unit ``created`` or ``launched`` is left in it).
- 4 units per assignment, pay 0.25 to 1.00 times the task's rate; statuses cycle
  through all of Mephisto's but ``mixed``.
- Held units (assigned, completed, accepted, rejected, soft_rejected) have a worker
  and a current agent whose status follows the unit's; some launched units have a
  ``returned`` agent that is not their current one. Each run is worked by a window
  of workers; a wider window of workers onboarded for it (approved, rejected or
  waiting), so some approved workers hold no unit in the run.
- 4 qualifications granted with values 0 to 5; every seventh worker holds none.
- Quantum tasks on 5 backends in the five statuses, with random ids and submit
  times that tie now and then (a seeded ``random.Random``: the same rows every run).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from taskdb.crowd.models import CrowdBase
from taskdb.quantum.models import QuantumBase

Row = dict[str, Any]

PROVIDER = "mock"
PROJECTS = ("vision", "language")
# (task_name, task_type, project number, pay rate per unit)
TASKS = (
    ("label-images", "static", 0, 1.0),
    ("draw-boxes", "static", 0, 2.0),
    ("rate-replies", "chat", 1, 0.5),
)
REQUESTERS = ("lab", "lab-backup")
QUALIFICATIONS = ("english", "math", "art", "vision")
UNITS_PER_ASSIGNMENT = 4
ASSIGNABLE = ("created", "launched")
OPEN_RUN_STATUSES = (
    "created", "launched", "launched", "assigned", "completed",
    "accepted", "accepted", "rejected", "soft_rejected", "expired",
)  # fmt: skip
FINISHED_RUN_STATUSES = (
    "accepted", "completed", "accepted", "rejected", "expired",
    "soft_rejected", "accepted", "completed", "accepted", "expired",
)  # fmt: skip
# A held unit's current agent has the status that goes with the unit's.
AGENT_STATUS = {
    "assigned": "in task",
    "completed": "completed",
    "accepted": "approved",
    "rejected": "rejected",
    "soft_rejected": "soft_rejected",
}
BACKENDS = ("dummy", "ibm:brisbane", "ibm:kyiv", "originq:wukong", "quafu:scq-p18")
QUANTUM_STATUSES = ("pending", "running", "success", "failed", "cancelled")
QUANTUM_WEIGHTS = (1, 2, 4, 2, 1)
SEED = 15


@dataclass(frozen=True)
class CookbookData:
    """The rows of each table, in insertion order, with their ids."""

    crowd: dict[str, list[Row]] = field(default_factory=dict)
    quantum: list[Row] = field(default_factory=list)

    def rows(self, table: str) -> list[Row]:
        return self.crowd[table]

    def by_id(self, table: str) -> dict[int, Row]:
        key = next(iter(CrowdBase.metadata.tables[table].primary_key.columns)).name
        return {row[key]: row for row in self.crowd[table]}


def generate(units: int = 600, quantum_tasks: int = 300) -> CookbookData:
    """The data set for about ``units`` units and exactly ``quantum_tasks`` quantum tasks."""
    data = CookbookData()
    _crowd(data.crowd, units)
    data.quantum.extend(_quantum(quantum_tasks))
    return data


def _crowd(tables: dict[str, list[Row]], units: int) -> None:
    runs = max(6, units // 1000)
    per_run = max(
        UNITS_PER_ASSIGNMENT, units // runs // UNITS_PER_ASSIGNMENT * UNITS_PER_ASSIGNMENT
    )
    workers = max(12, units // 20)
    window = max(4, workers // 3)

    tables["projects"] = [
        {"project_id": n + 1, "project_name": name} for n, name in enumerate(PROJECTS)
    ]
    tables["tasks"] = [
        {"task_id": n + 1, "task_name": name, "task_type": kind, "project_id": project + 1}
        for n, (name, kind, project, _rate) in enumerate(TASKS)
    ]
    tables["requesters"] = [
        {"requester_id": n + 1, "requester_name": name, "provider_type": PROVIDER}
        for n, name in enumerate(REQUESTERS)
    ]
    tables["workers"] = [
        {"worker_id": n + 1, "worker_name": f"worker-{n + 1:04d}", "provider_type": PROVIDER}
        for n in range(workers)
    ]
    tables["qualifications"] = [
        {"qualification_id": n + 1, "qualification_name": name}
        for n, name in enumerate(QUALIFICATIONS)
    ]
    grants = tables["granted_qualifications"] = []
    for worker in range(1, workers + 1):
        if worker % 7 == 0:
            continue  # holds no qualification
        for number in range(len(QUALIFICATIONS)):
            if (worker + number) % 3 != 2:
                grants.append(
                    {
                        "granted_qualification_id": len(grants) + 1,
                        "worker_id": worker,
                        "qualification_id": number + 1,
                        "value": (worker * (number + 2) + number) % 6,
                    }
                )

    task_runs = tables["task_runs"] = []
    assignments = tables["assignments"] = []
    unit_rows = tables["units"] = []
    agents = tables["agents"] = []
    onboarding = tables["onboarding_agents"] = []
    for run in range(runs + 1):  # the last run has no unit yet
        task = run % len(TASKS) + 1
        task_type, rate = TASKS[task - 1][1], TASKS[task - 1][3]
        finished = run % 3 == 0
        run_id = run + 1
        task_runs.append(
            {
                "task_run_id": run_id,
                "task_id": task,
                "requester_id": run % len(REQUESTERS) + 1,
                "init_params": "{}",
                "is_completed": finished,
                "provider_type": PROVIDER,
                "task_type": task_type,
                "sandbox": True,
            }
        )
        start = run * (window // 2)
        for offset in range(window + window // 2):
            worker = (start + offset) % workers + 1
            status = "approved" if (worker + run) % 3 else "rejected"
            if (worker + run) % 5 == 0:
                status = "waiting"
            onboarding.append(
                {
                    "onboarding_agent_id": len(onboarding) + 1,
                    "worker_id": worker,
                    "task_id": task,
                    "task_run_id": run_id,
                    "task_type": task_type,
                    "status": status,
                }
            )
        if run == runs:
            break
        statuses = FINISHED_RUN_STATUSES if finished else OPEN_RUN_STATUSES
        for index in range(per_run):
            unit_index = index % UNITS_PER_ASSIGNMENT
            if unit_index == 0:
                assignments.append(
                    {
                        "assignment_id": len(assignments) + 1,
                        "task_id": task,
                        "task_run_id": run_id,
                        "requester_id": run % len(REQUESTERS) + 1,
                        "task_type": task_type,
                        "provider_type": PROVIDER,
                        "sandbox": True,
                    }
                )
            status = statuses[index % len(statuses)]
            unit = {
                "unit_id": len(unit_rows) + 1,
                "assignment_id": len(assignments),
                "unit_index": unit_index,
                "pay_amount": rate * 0.25 * (unit_index + 1),
                "provider_type": PROVIDER,
                "status": status,
                "agent_id": None,
                "worker_id": None,
                "task_type": task_type,
                "task_id": task,
                "task_run_id": run_id,
                "sandbox": True,
                "requester_id": run % len(REQUESTERS) + 1,
            }
            unit_rows.append(unit)
            worker = (start + index * 7 % window) % workers + 1
            if status in AGENT_STATUS:
                unit["worker_id"] = worker
                unit["agent_id"] = _agent(agents, unit, worker, AGENT_STATUS[status])
            elif status == "launched" and index % 20 == 2:
                _agent(agents, unit, worker, "returned")  # gave it back: not its agent


def _agent(agents: list[Row], unit: Row, worker: int, status: str) -> int:
    agent_id = len(agents) + 1
    agents.append(
        {
            "agent_id": agent_id,
            "worker_id": worker,
            "unit_id": unit["unit_id"],
            "task_id": unit["task_id"],
            "task_run_id": unit["task_run_id"],
            "assignment_id": unit["assignment_id"],
            "task_type": unit["task_type"],
            "provider_type": PROVIDER,
            "status": status,
        }
    )
    return agent_id


def _quantum(count: int) -> list[Row]:
    rng = random.Random(SEED)
    start = datetime(2025, 3, 1, 9, 0, 0)
    ids: set[str] = set()
    rows: list[Row] = []
    while len(rows) < count - 2:
        task_id = f"q-{rng.getrandbits(32):08x}"
        if task_id in ids:
            continue
        ids.add(task_id)
        # About one task in five shares its second with another: ties are real.
        submitted = (start + timedelta(seconds=rng.randrange(count * 4))).isoformat()
        rows.append(
            {
                "task_id": task_id,
                "backend": rng.choice(BACKENDS),
                "status": rng.choices(QUANTUM_STATUSES, QUANTUM_WEIGHTS)[0],
                "shots": rng.choice((100, 1000, 4000)),
                "submit_time": submitted,
                "update_time": submitted,
                "result_json": None,
                "metadata_json": "{}",
            }
        )
    # The newest two failed tasks of one backend share their second; inserted in the
    # opposite order of their ids, so only a tiebreak on task_id orders them the same
    # on every engine (insertion order is rowid on SQLite, insert_seq on servers).
    latest = max(row["submit_time"] for row in rows)
    tied = (datetime.fromisoformat(latest) + timedelta(seconds=1)).isoformat()
    for task_id in ("q-tied-b", "q-tied-a"):
        rows.append(
            {
                "task_id": task_id,
                "backend": BACKENDS[0],
                "status": "failed",
                "shots": 1000,
                "submit_time": tied,
                "update_time": tied,
                "result_json": None,
                "metadata_json": "{}",
            }
        )
    return rows


CROWD_ORDER = (
    "projects", "tasks", "requesters", "task_runs", "workers", "qualifications",
    "granted_qualifications", "onboarding_agents", "assignments", "units", "agents",
)  # fmt: skip


def load_crowd(engine: sa.Engine, data: CookbookData) -> None:
    """Insert the crowd rows into an empty, migrated crowd database, in one transaction.

    Units go in without their agent, then the agents, then each held unit gets its
    agent: units and agents point at each other.
    """
    tables = CrowdBase.metadata.tables
    units = tables["units"]
    with engine.begin() as connection:
        for name in CROWD_ORDER:
            rows = data.crowd[name]
            if name == "units":
                rows = [{**row, "agent_id": None} for row in rows]
            if rows:
                connection.execute(tables[name].insert(), rows)
        held = [
            {"b_unit": row["unit_id"], "b_agent": row["agent_id"]}
            for row in data.crowd["units"]
            if row["agent_id"] is not None
        ]
        if held:
            connection.execute(
                units.update()
                .where(units.c.unit_id == sa.bindparam("b_unit"))
                .values(agent_id=sa.bindparam("b_agent")),
                held,
            )
        if connection.dialect.name == "postgresql":
            _move_sequences(connection)


def _move_sequences(connection: sa.Connection) -> None:
    """PostgreSQL's sequences past the given ids, so later inserts do not collide."""
    for table in CrowdBase.metadata.sorted_tables:
        key = next(iter(table.primary_key.columns)).name
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key}'), "
            f"(SELECT COALESCE(MAX({key}), 0) + 1 FROM {table.name}), false)"
        )


def load_quantum(engine: sa.Engine, data: CookbookData) -> None:
    """Insert the quantum rows into an empty, migrated quantum database, in one transaction."""
    with engine.begin() as connection:
        connection.execute(QuantumBase.metadata.tables["tasks"].insert(), data.quantum)
