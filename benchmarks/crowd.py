"""Crowd store workloads: taskdb's repositories against the same statements on the raw driver."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter

from benchmarks.backends import CoreFloor, Raw
from benchmarks.dataset import PROVIDER, TASK_TYPE, UNITS_PER_RUN, Crowd
from benchmarks.timing import Side, Workload
from taskdb.crowd import CrowdStore
from taskdb.crowd.models import CrowdBase
from taskdb.crowd.records import RECORDS, Record

UNIT_INSERT = (
    "INSERT INTO units (assignment_id, unit_index, pay_amount, provider_type, status, "
    "task_type, task_id, task_run_id, sandbox, requester_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
ASSIGNMENT_INSERT = (
    "INSERT INTO assignments (task_id, task_run_id, requester_id, task_type, provider_type, "
    "sandbox) VALUES (?, ?, ?, ?, ?, ?)"
)
AGENT_INSERT = (
    "INSERT INTO agents (worker_id, unit_id, task_id, task_run_id, assignment_id, task_type, "
    "provider_type, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
UNITS_PER_GRAPH = 4
BULK_ROWS = 1_000


def select(table: str, where: str) -> str:
    """The SELECT a repository's finder emits: every column, the filter, in id order."""
    columns = CrowdBase.metadata.tables[table].columns
    key = next(column.name for column in columns if column.primary_key)
    names = ", ".join(column.name for column in columns)
    return f"SELECT {names} FROM {table} WHERE {where} ORDER BY {key}"


def _cycle(values: range) -> Callable[[], int]:
    iterator = itertools.cycle(values)
    return lambda: next(iterator)


def _names(prefix: str) -> Callable[[], str]:
    counter = itertools.count()
    return lambda: f"{prefix}-{next(counter)}"


def _point_create(
    store: CrowdStore, raw: Raw, table: str, column: str, label: str = ""
) -> Workload:
    repository: Any = getattr(store, table)
    mine, theirs = _names(f"t{label}-{table}"), _names(f"r{label}-{table}")
    key = f"{table[:-1]}_id"
    if table == "projects":
        statement = "INSERT INTO projects (project_name) VALUES (?)"

        def taskdb_op() -> object:
            return repository.new(mine())

        def raw_op() -> object:
            return raw.write(lambda cursor: raw.insert(cursor, statement, (theirs(),), key))
    else:
        statement = f"INSERT INTO {table} ({column}, provider_type) VALUES (?, ?)"

        def taskdb_op() -> object:
            return repository.new(mine(), PROVIDER)

        def raw_op() -> object:
            return raw.write(
                lambda cursor: raw.insert(cursor, statement, (theirs(), PROVIDER), key)
            )

    return Workload(f"create {table[:-1]}{label}", "write", Side(taskdb_op), Side(raw_op))


def core_select(table: str, *keys: str) -> sa.Select[Any]:
    """The Core statement of a repository's read by ``keys``: every column, in id order."""
    columns = CrowdBase.metadata.tables[table].c
    key = next(column for column in columns if column.primary_key)
    return (
        sa.select(*columns)
        .where(*(columns[name] == sa.bindparam(name) for name in keys))
        .order_by(key)
    )


def point_workloads(store: CrowdStore, raw: Raw, crowd: Crowd, floor: CoreFloor) -> list[Workload]:
    """Creates, the task graph, gets, agent assignment, grants, bulk paths."""
    run = 1
    workloads = [
        _point_create(store, raw, "projects", "project_name"),
        _point_create(store, raw, "requesters", "requester_name"),
        _point_create(store, raw, "workers", "worker_name"),
        _task_graph(store, raw, crowd, run),
        _task_graph(store, raw, crowd, run, savepoints=False),
        _agent_assignment(store, raw, crowd),
        _unit_status(store, raw, crowd),
        _grant(store, raw, crowd),
    ]
    next_unit = _cycle(range(1, crowd.units + 1, 7))
    next_worker = _cycle(range(1, crowd.workers + 1, 3))
    unit_sql = select("units", "unit_id = ?")
    worker_sql = select("workers", "worker_id = ?")
    grant_sql = select("granted_qualifications", "qualification_id = ? AND worker_id = ?")
    workloads += [
        Workload(
            "get unit",
            "get",
            Side(lambda: store.units.get(next_unit())),
            Side(lambda: raw.query(unit_sql, (next_unit(),))),
            floor=floor.rows(core_select("units", "unit_id"), lambda: {"unit_id": next_unit()}),
        ),
        Workload(
            "get worker",
            "get",
            Side(lambda: store.workers.get(next_worker())),
            Side(lambda: raw.query(worker_sql, (next_worker(),))),
            floor=floor.rows(
                core_select("workers", "worker_id"), lambda: {"worker_id": next_worker()}
            ),
        ),
        Workload(
            "check qualification (worker, qualification)",
            "get",
            Side(
                lambda: store.granted_qualifications.check(
                    qualification_id=1 + next_worker() % 10, worker_id=next_worker()
                )
            ),
            Side(lambda: raw.query(grant_sql, (1 + next_worker() % 10, next_worker()))),
            floor=floor.rows(
                core_select("granted_qualifications", "qualification_id", "worker_id"),
                lambda: {"qualification_id": 1 + next_worker() % 10, "worker_id": next_worker()},
            ),
        ),
        _bulk_units(store, raw, crowd, run),
        _bulk_assignments(store, raw, crowd, run),
    ]
    return workloads


def _task_graph(
    store: CrowdStore, raw: Raw, crowd: Crowd, run: int, *, savepoints: bool = True
) -> Workload:
    ids = (crowd.task, run, crowd.requester)

    def taskdb_op() -> None:
        with store.unit_of_work(savepoints=savepoints) as work:
            assignment = work.assignments.new(*ids, TASK_TYPE, PROVIDER)
            for index in range(UNITS_PER_GRAPH):
                work.units.new(*ids, assignment, index, 0.5, PROVIDER, TASK_TYPE)

    def graph(cursor: Any) -> None:
        assignment = raw.insert(
            cursor, ASSIGNMENT_INSERT, (*ids, TASK_TYPE, PROVIDER, True), "assignment_id"
        )
        for index in range(UNITS_PER_GRAPH):
            row = (assignment, index, 0.5, PROVIDER, "created", TASK_TYPE, *ids[:2], True, ids[2])
            raw.insert(cursor, UNIT_INSERT, row, "unit_id")

    how = "one transaction" if savepoints else "one transaction, savepoints=False"
    return Workload(
        f"task graph (1 assignment + {UNITS_PER_GRAPH} units, {how})",
        "graph",
        Side(taskdb_op),
        Side(lambda: raw.write(graph)),
        ops=10,
        note=(
            "a savepoint per write on servers, none for SQLite's one-write calls"
            if savepoints
            else "no savepoint: a failed call dooms it"
        ),
    )


def _held_unit(crowd: Crowd) -> Callable[[], tuple[int, int, int]]:
    """Units to give agents to: (unit_id, task_run_id, assignment_id), spread over the table."""
    positions = _cycle(range(0, crowd.units, 11))

    def pick() -> tuple[int, int, int]:
        index = positions()
        return index + 1, index // UNITS_PER_RUN % crowd.task_runs + 1, index // 4 + 1

    return pick


def _agent_assignment(store: CrowdStore, raw: Raw, crowd: Crowd) -> Workload:
    pick = _held_unit(crowd)
    next_worker = _cycle(range(1, crowd.workers + 1))
    update = "UPDATE units SET status = ?, agent_id = ?, worker_id = ? WHERE unit_id = ?"

    def taskdb_op() -> object:
        unit, run, assignment = pick()
        worker = next_worker()
        return store.agents.new(worker, unit, crowd.task, run, assignment, TASK_TYPE, PROVIDER)

    def assign(cursor: Any) -> int:
        unit, run, assignment = pick()
        worker = next_worker()
        row = (worker, unit, crowd.task, run, assignment, TASK_TYPE, PROVIDER, "none")
        agent = raw.insert(cursor, AGENT_INSERT, row, "agent_id")
        raw.execute(cursor, update, ("assigned", agent, worker, unit))
        return agent

    return Workload(
        "assign agent (insert agent + update unit)",
        "write",
        Side(taskdb_op),
        Side(lambda: raw.write(assign)),
    )


def durability_workloads(url: str, crowd: Crowd) -> tuple[list[Workload], Callable[[], None]]:
    """SQLite writes with ``durability="full"`` (an fsync per commit) against raw FULL.

    Returns the workloads and what closes the store and connection they hold.
    """
    store = CrowdStore(url, durability="full")
    raw = Raw(url, synchronous="FULL")
    workloads = [
        _point_create(store, raw, "workers", "worker_name", label=" (durability=full)"),
        _unit_status(store, raw, crowd, label=" (durability=full)"),
    ]
    for workload in workloads:
        workload.kind = "durable"

    def close() -> None:
        store.close()
        raw.close()

    return workloads, close


def _unit_status(store: CrowdStore, raw: Raw, crowd: Crowd, label: str = "") -> Workload:
    next_unit = _cycle(range(1, crowd.units + 1, 13))
    update = "UPDATE units SET status = ? WHERE unit_id = ?"
    return Workload(
        f"update unit status{label}",
        "write",
        Side(lambda: store.units.update_status(next_unit(), "completed")),
        Side(
            lambda: raw.write(
                lambda cursor: raw.execute(cursor, update, ("completed", next_unit()))
            )
        ),
    )


def _grant(store: CrowdStore, raw: Raw, crowd: Crowd) -> Workload:
    next_worker = _cycle(range(1, crowd.workers + 1))
    values = itertools.count()
    if raw.dialect == "mysql":
        conflict = "ON DUPLICATE KEY UPDATE value = VALUES(value)"
    else:
        conflict = "ON CONFLICT (worker_id, qualification_id) DO UPDATE SET value = excluded.value"
    upsert = (
        "INSERT INTO granted_qualifications (worker_id, qualification_id, value) "
        f"VALUES (?, ?, ?) {conflict}"
    )

    def taskdb_op() -> None:
        worker = next_worker()
        store.granted_qualifications.grant(worker % 10 + 1, worker, next(values))

    def raw_op() -> None:
        worker = next_worker()
        row = (worker, worker % 10 + 1, next(values))
        raw.write(lambda cursor: raw.execute(cursor, upsert, row))

    return Workload("grant qualification (upsert)", "write", Side(taskdb_op), Side(raw_op))


def _fresh_assignment(raw: Raw, crowd: Crowd, run: int) -> Callable[[], int]:
    def make() -> int:
        row = (crowd.task, run, crowd.requester, TASK_TYPE, PROVIDER, True)
        return raw.write(lambda cursor: raw.insert(cursor, ASSIGNMENT_INSERT, row, "assignment_id"))

    return make


def _bulk_units(store: CrowdStore, raw: Raw, crowd: Crowd, run: int) -> Workload:
    """units.new_many of 1,000 units against one executemany in one transaction."""
    make = _fresh_assignment(raw, crowd, run)
    mine: list[list[dict[str, Any]]] = []
    theirs: list[list[tuple[Any, ...]]] = []

    def prepare_mine() -> None:
        assignment = make()
        mine.append(
            [
                {
                    "task_id": crowd.task,
                    "task_run_id": run,
                    "requester_id": crowd.requester,
                    "assignment_id": assignment,
                    "unit_index": index,
                    "pay_amount": 0.5,
                    "provider_type": PROVIDER,
                    "task_type": TASK_TYPE,
                }
                for index in range(BULK_ROWS)
            ]
        )

    def prepare_theirs() -> None:
        assignment = make()
        theirs.append(
            [
                (assignment, index, 0.5, PROVIDER, "created", TASK_TYPE, crowd.task, run, True, 1)
                for index in range(BULK_ROWS)
            ]
        )

    statement = raw.sql(UNIT_INSERT)
    return Workload(
        f"bulk create units (new_many, {BULK_ROWS} rows)",
        "bulk",
        Side(lambda: store.units.new_many(mine.pop()), prepare_mine),
        Side(
            lambda: raw.write(lambda cursor: cursor.executemany(statement, theirs.pop())),
            prepare_theirs,
        ),
        ops=3,
        rows=BULK_ROWS,
        note="raw: one executemany without RETURNING; taskdb also returns the ids in order",
    )


def _bulk_assignments(store: CrowdStore, raw: Raw, crowd: Crowd, run: int) -> Workload:
    mine = [
        {
            "task_id": crowd.task,
            "task_run_id": run,
            "requester_id": crowd.requester,
            "task_type": TASK_TYPE,
            "provider_type": PROVIDER,
        }
    ] * BULK_ROWS
    theirs = [(crowd.task, run, crowd.requester, TASK_TYPE, PROVIDER, True)] * BULK_ROWS
    statement = raw.sql(ASSIGNMENT_INSERT)
    return Workload(
        f"bulk create assignments (new_many, {BULK_ROWS} rows)",
        "bulk",
        Side(lambda: store.assignments.new_many(mine)),
        Side(lambda: raw.write(lambda cursor: cursor.executemany(statement, theirs))),
        ops=3,
        rows=BULK_ROWS,
    )


FINDER_STATUS = "launched"
AGENT_STATUS = "completed"


def _as_records(table: str) -> Callable[[list[Any]], list[Record]]:
    """Rows of ``table`` made into its records: one validation of the whole list."""
    names = tuple(CrowdBase.metadata.tables[table].columns.keys())
    validate = TypeAdapter(list[RECORDS[table]]).validate_python  # type: ignore[valid-type]
    # As the repositories build them: no Python loop of our own per row.
    return lambda rows: validate(list(map(dict, map(zip, itertools.repeat(names), rows))))


def finder_workloads(store: CrowdStore, raw: Raw, crowd: Crowd) -> list[Workload]:
    """The indexed finders; answers keep the same size whatever the table size.

    Their floor is the raw query with its rows made into the records taskdb returns.
    """
    next_run = _cycle(range(1, crowd.task_runs + 1))
    next_worker = _cycle(range(1, crowd.workers + 1, max(1, crowd.workers // 97)))
    by_run = select("units", "task_run_id = ? AND status = ?")
    by_worker = select("units", "worker_id = ?")
    agents = select("agents", "worker_id = ? AND status = ?")
    units, agent_records = _as_records("units"), _as_records("agents")
    return [
        Workload(
            "find units by task run and status (~167 rows)",
            "finder",
            Side(lambda: store.units.find(task_run_id=next_run(), status=FINDER_STATUS)),
            Side(lambda: raw.query(by_run, (next_run(), FINDER_STATUS))),
            ops=10,
            floor=Side(lambda: units(raw.query(by_run, (next_run(), FINDER_STATUS)))),
        ),
        Workload(
            "find units by worker (25 rows)",
            "finder",
            Side(lambda: store.units.find(worker_id=next_worker())),
            Side(lambda: raw.query(by_worker, (next_worker(),))),
            floor=Side(lambda: units(raw.query(by_worker, (next_worker(),)))),
        ),
        Workload(
            "find agents by worker and status (5 rows)",
            "finder",
            Side(lambda: store.agents.find(worker_id=next_worker(), status=AGENT_STATUS)),
            Side(lambda: raw.query(agents, (next_worker(), AGENT_STATUS))),
            floor=Side(lambda: agent_records(raw.query(agents, (next_worker(), AGENT_STATUS)))),
        ),
    ]
