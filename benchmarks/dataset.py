"""A crowd database of a given size, loaded with the raw driver (not timed, not via taskdb).

Shapes stay constant as the size grows, so a finder's latency measures the lookup,
not a bigger answer: every task run has 1,000 units (4 per assignment), every worker
holds 25 units and 25 agents (5 per agent status), every unit status is 1/6 of a run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.backends import Raw

UNITS_PER_RUN = 1_000
UNITS_PER_ASSIGNMENT = 4
UNITS_PER_WORKER = 50  # half of them held: 25 units and 25 agents per worker
WORKER_STATUSES = ("assigned", "completed", "accepted")
OPEN_STATUSES = ("created", "launched", "expired")
AGENT_STATUSES = ("none", "in task", "completed", "approved", "disconnect")
QUALIFICATIONS = 10
CHUNK = 10_000
PROVIDER = "mock"
TASK_TYPE = "mock"


@dataclass(frozen=True)
class Crowd:
    """What was loaded: sizes and the ids of the single project, task and requester."""

    units: int
    task_runs: int
    assignments: int
    workers: int
    agents: int
    project: int = 1
    task: int = 1
    requester: int = 1


def shape(units: int) -> Crowd:
    return Crowd(
        units=units,
        task_runs=max(1, units // UNITS_PER_RUN),
        assignments=units // UNITS_PER_ASSIGNMENT,
        workers=max(1, units // UNITS_PER_WORKER),
        agents=units // 2,
    )


def _units(crowd: Crowd) -> Iterator[tuple[Any, ...]]:
    for index in range(crowd.units):
        unit_id = index + 1
        assignment = index // UNITS_PER_ASSIGNMENT + 1
        run = index // UNITS_PER_RUN % crowd.task_runs + 1
        held = index % 2 == 0
        cycle = (index // 2) % 3
        status = WORKER_STATUSES[cycle] if held else OPEN_STATUSES[cycle]
        worker = (index // 2) % crowd.workers + 1 if held else None
        yield (
            unit_id,
            assignment,
            index % UNITS_PER_ASSIGNMENT,
            0.5,
            PROVIDER,
            status,
            None,
            worker,
            TASK_TYPE,
            crowd.task,
            run,
            True,
            crowd.requester,
        )


UNIT_COLUMNS = (
    "unit_id, assignment_id, unit_index, pay_amount, provider_type, status, agent_id, "
    "worker_id, task_type, task_id, task_run_id, sandbox, requester_id"
)
AGENT_COLUMNS = (
    "agent_id, worker_id, unit_id, task_id, task_run_id, assignment_id, task_type, "
    "provider_type, status"
)


def _agents(crowd: Crowd) -> Iterator[tuple[Any, ...]]:
    for number in range(crowd.agents):
        index = number * 2  # the held units
        worker = number % crowd.workers + 1
        status = AGENT_STATUSES[(number // crowd.workers) % len(AGENT_STATUSES)]
        yield (
            number + 1,
            worker,
            index + 1,
            crowd.task,
            index // UNITS_PER_RUN % crowd.task_runs + 1,
            index // UNITS_PER_ASSIGNMENT + 1,
            TASK_TYPE,
            PROVIDER,
            status,
        )


def _chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _load(raw: Raw, table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> None:
    width = columns.count(",") + 1
    if raw.dialect == "postgresql":
        # COPY is PostgreSQL's bulk path; executemany would take minutes at 1M rows.
        cursor = raw.connection.cursor()
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.connection.commit()
        return
    statement = raw.sql(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * width)})")
    cursor = raw.connection.cursor()
    for chunk in _chunks(rows):
        if raw.dialect == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
        cursor.executemany(statement, chunk)
        raw.connection.commit()


def _simple(raw: Raw, table: str, columns: str, rows: Sequence[tuple[Any, ...]]) -> None:
    _load(raw, table, columns, iter(rows))


def load(raw: Raw, units: int) -> Crowd:
    """Fill an empty, migrated crowd database; ids are given, starting at 1."""
    crowd = shape(units)
    _simple(raw, "projects", "project_id, project_name", [(1, "bench-project")])
    _simple(
        raw,
        "tasks",
        "task_id, task_name, task_type, project_id",
        [(1, "bench-task", TASK_TYPE, 1)],
    )
    _simple(
        raw,
        "requesters",
        "requester_id, requester_name, provider_type",
        [(1, "bench-requester", PROVIDER)],
    )
    _simple(
        raw,
        "task_runs",
        "task_run_id, task_id, requester_id, init_params, is_completed, provider_type, "
        "task_type, sandbox",
        [(n + 1, 1, 1, "{}", False, PROVIDER, TASK_TYPE, True) for n in range(crowd.task_runs)],
    )
    _load(
        raw,
        "workers",
        "worker_id, worker_name, provider_type",
        ((n + 1, f"bench-worker-{n}", PROVIDER) for n in range(crowd.workers)),
    )
    _simple(
        raw,
        "qualifications",
        "qualification_id, qualification_name",
        [(n + 1, f"bench-qualification-{n}") for n in range(QUALIFICATIONS)],
    )
    _load(
        raw,
        "granted_qualifications",
        "worker_id, qualification_id, value",
        (
            (worker + 1, (worker + shift) % QUALIFICATIONS + 1, shift)
            for worker in range(crowd.workers)
            for shift in (0, 1)
        ),
    )
    _load(
        raw,
        "assignments",
        "assignment_id, task_id, task_run_id, requester_id, task_type, provider_type, sandbox",
        (
            (
                n + 1,
                1,
                n * UNITS_PER_ASSIGNMENT // UNITS_PER_RUN % crowd.task_runs + 1,
                1,
                TASK_TYPE,
                PROVIDER,
                True,
            )
            for n in range(crowd.assignments)
        ),
    )
    _load(raw, "units", UNIT_COLUMNS, _units(crowd))
    _load(raw, "agents", AGENT_COLUMNS, _agents(crowd))
    _after_load(raw)
    return crowd


def _after_load(raw: Raw) -> None:
    """Sequences past the given ids (PostgreSQL), and planner statistics on servers.

    SQLite gets no ANALYZE: taskdb never runs one, so its planner's heuristics are
    what users get. PostgreSQL's autovacuum and MariaDB's persistent statistics
    would gather them in use; they are gathered here at once.
    """
    if raw.dialect == "postgresql":
        tables = [
            "projects",
            "tasks",
            "requesters",
            "task_runs",
            "workers",
            "qualifications",
            "granted_qualifications",
            "assignments",
            "units",
            "agents",
        ]
        for table in tables:
            key = (
                f"{table[:-1]}_id"
                if table != "granted_qualifications"
                else "granted_qualification_id"
            )
            raw.connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{key}'), "
                f"(SELECT COALESCE(MAX({key}), 0) + 1 FROM {table}), false)"
            )
        raw.connection.commit()
        raw.connection.autocommit = True
        raw.connection.execute("ANALYZE")
        raw.connection.autocommit = False
    elif raw.dialect == "mysql":
        raw.write(
            lambda cursor: cursor.execute(
                "ANALYZE TABLE units, agents, assignments, workers, granted_qualifications"
            )
        )
