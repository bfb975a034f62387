"""The soak test's writer, its child-process entry point, its log and its final check.

A :class:`Writer` runs one loop of mixed calls on a crowd store: units of work (an
assignment, its units and sometimes a worker, an agent and a grant), single writes
(a worker, a grant) and reads of its own earlier writes. After each commit returns
it logs what it committed; the test's threads log to a list, the child processes to
an append-only file, one line per commit written with ``os.write`` and ``fsync``.

Every committed entry carries its writer's name and a sequence number (its tag,
``<writer>:<seq>``), and an assignment's ``task_type`` names how many units its unit
of work made, so :func:`verify` can tell from the database alone whether a unit of
work landed whole, and compare the database with the logs.
"""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taskdb.crowd import CrowdStore

Record = dict[str, Any]
WRITES = ("uow", "worker", "grant")

# An assignment made by a unit of work: <writer>:<seq>:u<units>:a<1 if it made an agent>.
ASSIGNMENT_TYPE = re.compile(
    r"(?P<tag>(?P<writer>[a-z0-9]+):(?P<seq>[0-9]+)):u(?P<units>[0-9]+)"
    r":a(?P<agent>[01])"
)
# A worker made alone is named by its tag; one made in a unit of work is <tag>:uow.
SINGLE_WORKER = re.compile(r"(?P<writer>[a-z0-9]+):(?P<seq>[0-9]+)")
UOW_WORKER = re.compile(r"(?P<tag>[a-z0-9]+:[0-9]+):uow")


@dataclass(frozen=True)
class Targets:
    """The rows every writer attaches to; the first qualification is granted in units of work."""

    task: int
    task_run: int
    requester: int
    qualifications: tuple[int, ...]


class RolledBack(Exception):
    """Raised inside some units of work on purpose: none of their rows may remain."""


class SoakFailure(AssertionError):
    """A writer read back something other than what it had committed."""


@dataclass
class Writer:
    """One writer's loop; ``log`` is called with a record after each commit returned."""

    name: str
    store: CrowdStore
    targets: Targets
    log: Callable[[Record], None]
    seed: int
    seq: int = 0
    reads: int = 0
    # What this writer committed, for its reads: (assignment, unit ids), (worker, name).
    assignments: list[tuple[int, list[int]]] = field(default_factory=list)
    workers: list[tuple[int, str]] = field(default_factory=list)
    grants: dict[tuple[int, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def step(self) -> None:
        self.seq += 1
        tag = f"{self.name}:{self.seq}"
        roll = self.random.random()
        if roll < 0.35:
            self._unit_of_work(tag)
        elif roll < 0.55:
            self._new_worker(tag)
        elif roll < 0.7 and self.workers:
            self._grant()
        else:
            self._read()

    def _logged(self, record: Record, started: float) -> None:
        record.update(
            writer=self.name,
            seq=self.seq,
            ms=round((time.perf_counter() - started) * 1000, 3),
            reads=self.reads,
        )
        self.log(record)

    def _unit_of_work(self, tag: str) -> None:
        t = self.targets
        count = self.random.randint(1, 4)
        with_agent = self.random.random() < 0.5
        bulk = self.random.random() < 0.5
        rollback = self.random.random() < 0.05
        task_type = f"{tag}:u{count}:a{int(with_agent)}"
        worker = agent = None
        started = time.perf_counter()
        try:
            with self.store.unit_of_work() as work:
                assignment = work.assignments.new(
                    t.task, t.task_run, t.requester, task_type, "mock"
                )
                unit_args = [
                    {
                        "task_id": t.task,
                        "task_run_id": t.task_run,
                        "requester_id": t.requester,
                        "assignment_id": assignment,
                        "unit_index": index,
                        "pay_amount": index / 4,
                        "provider_type": "mock",
                        "task_type": task_type,
                    }
                    for index in range(count)
                ]
                if bulk:
                    units = work.units.new_many(unit_args)
                else:
                    units = [work.units.new(**arguments) for arguments in unit_args]
                if with_agent:
                    worker = work.workers.new(f"{tag}:uow", "mock")
                    agent = work.agents.new(
                        worker, units[0], t.task, t.task_run, assignment, task_type, "mock"
                    )
                    work.granted_qualifications.grant(t.qualifications[0], worker, self.seq)
                if rollback:
                    raise RolledBack
        except RolledBack:
            self._logged({"op": "rollback", "tag": tag}, started)
            return
        self._logged(
            {
                "op": "uow",
                "tag": tag,
                "task_type": task_type,
                "assignment": assignment,
                "units": units,
                "worker": worker,
                "agent": agent,
                "grant": self.seq if with_agent else None,
            },
            started,
        )
        self.assignments.append((assignment, units))
        if worker is not None:
            self.workers.append((worker, f"{tag}:uow"))
            self.grants[(t.qualifications[0], worker)] = self.seq

    def _new_worker(self, tag: str) -> None:
        started = time.perf_counter()
        worker = self.store.workers.new(tag, "mock")
        self._logged({"op": "worker", "tag": tag, "worker": worker}, started)
        self.workers.append((worker, tag))

    def _grant(self) -> None:
        worker, _name = self.random.choice(self.workers)
        qualification = self.random.choice(self.targets.qualifications)
        started = time.perf_counter()
        # The value rises with the sequence: a later grant of the same pair replaces it.
        self.store.granted_qualifications.grant(qualification, worker, self.seq)
        self._logged(
            {"op": "grant", "worker": worker, "qualification": qualification, "value": self.seq},
            started,
        )
        self.grants[(qualification, worker)] = self.seq

    def _read(self) -> None:
        store = self.store
        if self.assignments:
            assignment, units = self.random.choice(self.assignments)
            found = [u.unit_id for u in store.units.find(assignment_id=assignment)]
            self._expect(found == units, f"units of assignment {assignment}: {found} != {units}")
        if self.workers:
            worker, name = self.random.choice(self.workers)
            got = store.workers.get(worker).worker_name
            self._expect(got == name, f"worker {worker} is named {got!r}, not {name!r}")
        if self.grants:
            (qualification, worker), value = self.random.choice(list(self.grants.items()))
            got_value = store.granted_qualifications.get(qualification, worker).value
            self._expect(got_value == value, f"grant {qualification}/{worker}: {got_value}")
        if not self.assignments:
            store.tasks.get(self.targets.task)
        self.reads += 1

    def _expect(self, holds: bool, message: str) -> None:
        if not holds:
            raise SoakFailure(f"{self.name} read back another value: {message}")


def run_child(
    url: str, targets: Targets, name: str, log_path: str, stop_path: str, seed: int
) -> None:
    """A child process: write and read until ``stop_path`` exists, logging every commit.

    Its traceback, if it fails, goes to ``<log_path>.err``.
    """
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def log(record: Record) -> None:
        os.write(fd, json.dumps(record, separators=(",", ":")).encode() + b"\n")
        os.fsync(fd)

    try:
        with CrowdStore(url) as store:
            writer = Writer(name, store, targets, log, seed)
            log({"op": "start", "writer": name})
            while not os.path.exists(stop_path):
                writer.step()
            log({"op": "end", "writer": name, "reads": writer.reads})
    except BaseException:
        Path(f"{log_path}.err").write_text(traceback.format_exc())
        raise
    finally:
        os.close(fd)


def read_log(path: Path) -> list[Record]:
    """The complete lines of a child's log (a line cut short by a kill was never logged)."""
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")
    return [json.loads(line) for line in lines[:-1]]


@dataclass
class Tables:
    """The rows the check needs, read with the plain sqlite3 module."""

    assignments: dict[int, str]
    # unit_id: (assignment_id, unit_index, status, agent_id, worker_id, task_type)
    units: dict[int, tuple[int, int, str, int | None, int | None, str]]
    workers: dict[int, str]
    # agent_id: (worker_id, unit_id, assignment_id)
    agents: dict[int, tuple[int, int, int]]
    grants: dict[tuple[int, int], int]

    @classmethod
    def read(cls, db: sqlite3.Connection) -> Tables:
        return cls(
            dict(db.execute("SELECT assignment_id, task_type FROM assignments")),
            {
                row[0]: row[1:]
                for row in db.execute(
                    "SELECT unit_id, assignment_id, unit_index, status, agent_id, worker_id,"
                    " task_type FROM units"
                )
            },
            dict(db.execute("SELECT worker_id, worker_name FROM workers")),
            {
                row[0]: row[1:]
                for row in db.execute(
                    "SELECT agent_id, worker_id, unit_id, assignment_id FROM agents"
                )
            },
            {
                (q, w): v
                for q, w, v in db.execute(
                    "SELECT qualification_id, worker_id, value FROM granted_qualifications"
                )
            },
        )


@dataclass
class Verdict:
    integrity: list[str]
    foreign_key_violations: int
    problems: list[str]
    # Commits that landed but whose log line did not (the writer was killed in between).
    unlogged: dict[str, list[str]]
    rows: dict[str, int]


def verify(file: Path, records: list[Record], finished: set[str], targets: Targets) -> Verdict:
    """Check the file against itself (whole units of work, keys) and against the logs.

    ``finished`` are the writers that stopped on their own: every commit of theirs must be
    logged. A killed writer may have at most one commit more than it logged, its last.
    """
    with closing(sqlite3.connect(file)) as db:
        integrity = [row[0] for row in db.execute("PRAGMA integrity_check")]
        foreign_keys = len(db.execute("PRAGMA foreign_key_check").fetchall())
        tables = Tables.read(db)
        rows = {
            name: db.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            for name in ("assignments", "units", "workers", "agents", "granted_qualifications")
        }
    problems: list[str] = []
    problems += _whole_units_of_work(tables, targets)
    problems += _logged_commits_present(tables, records, finished, targets)
    unlogged, more = _unlogged_commits(tables, records, finished)
    problems += more
    return Verdict(integrity, foreign_keys, problems, unlogged, rows)


def _whole_units_of_work(tables: Tables, targets: Targets) -> list[str]:
    """From the rows alone: every unit of work's assignment has all its units, agent, grant."""
    problems: list[str] = []
    units_of: dict[int, list[int]] = defaultdict(list)
    for unit_id, unit in tables.units.items():
        units_of[unit[0]].append(unit_id)
    agents_of: dict[int, list[int]] = defaultdict(list)
    for agent_id, agent in tables.agents.items():
        agents_of[agent[2]].append(agent_id)
    worker_named = {name: worker for worker, name in tables.workers.items()}
    tags: set[str] = set()
    for assignment, task_type in tables.assignments.items():
        match = ASSIGNMENT_TYPE.fullmatch(task_type)
        if match is None:
            continue  # the world's own assignment
        tag = match["tag"]
        tags.add(tag)
        units = sorted(units_of[assignment], key=lambda u: tables.units[u][1])
        indexes = [tables.units[u][1] for u in units]
        if indexes != list(range(int(match["units"]))):
            problems.append(f"assignment {assignment} ({task_type}) has unit indexes {indexes}")
            continue
        if any(tables.units[u][5] != task_type for u in units):
            problems.append(f"assignment {assignment} has units of another task type")
        worker = worker_named.get(f"{tag}:uow")
        agents = agents_of[assignment]
        if match["agent"] == "0":
            if worker is not None or agents:
                problems.append(f"assignment {assignment} ({task_type}) has a worker or agent")
            if any(tables.units[u][2:5] != ("created", None, None) for u in units):
                problems.append(f"assignment {assignment} has a unit that is not fresh")
            continue
        if worker is None or len(agents) != 1:
            problems.append(f"assignment {assignment} ({task_type}): worker {worker}, {agents}")
            continue
        agent = agents[0]
        if tables.agents[agent][:2] != (worker, units[0]):
            problems.append(f"agent {agent} is {tables.agents[agent]}, not of unit {units[0]}")
        if tables.units[units[0]][2:5] != ("assigned", agent, worker):
            problems.append(f"unit {units[0]} is {tables.units[units[0]]}, not assigned")
        if (targets.qualifications[0], worker) not in tables.grants:
            problems.append(f"worker {worker} of {task_type} lacks its grant")
    for name in worker_named:
        match = UOW_WORKER.fullmatch(name)
        if match is not None and match["tag"] not in tags:
            problems.append(f"worker {name!r} has no assignment: half a unit of work")
    return problems


def _logged_commits_present(
    tables: Tables, records: list[Record], finished: set[str], targets: Targets
) -> list[str]:
    """Every logged commit's rows are there, with the values logged."""
    problems: list[str] = []
    assignment_tags = {
        match["tag"]
        for task_type in tables.assignments.values()
        if (match := ASSIGNMENT_TYPE.fullmatch(task_type)) is not None
    }
    worker_names = set(tables.workers.values())
    # The highest value logged per (qualification, worker), and by whom.
    granted: dict[tuple[int, int], tuple[int, str]] = {}

    def grant_logged(key: tuple[int, int], value: int, writer: str) -> None:
        if key not in granted or granted[key][0] < value:
            granted[key] = (value, writer)

    for record in records:
        op = record["op"]
        if op == "uow":
            problems += _logged_unit_of_work(tables, record)
            if record["worker"] is not None:
                key = (targets.qualifications[0], record["worker"])
                grant_logged(key, record["grant"], record["writer"])
        elif op == "worker":
            if tables.workers.get(record["worker"]) != record["tag"]:
                problems.append(f"logged worker missing: {record}")
        elif op == "grant":
            key = (record["qualification"], record["worker"])
            grant_logged(key, record["value"], record["writer"])
        elif op == "rollback" and (
            record["tag"] in assignment_tags or f"{record['tag']}:uow" in worker_names
        ):
            problems.append(f"rolled-back unit of work {record['tag']} left rows")
    for key, (value, writer) in granted.items():
        found = tables.grants.get(key)
        # A killed writer may have regranted the pair once more without logging it.
        if found is None or found < value or (writer in finished and found != value):
            problems.append(f"grant {key}: logged {value} by {writer}, found {found}")
    return problems


def _logged_unit_of_work(tables: Tables, record: Record) -> list[str]:
    assignment, units = record["assignment"], record["units"]
    if tables.assignments.get(assignment) != record["task_type"]:
        return [f"logged assignment missing: {record}"]
    problems = [
        f"logged unit {unit} (index {index}) missing: {record}"
        for index, unit in enumerate(units)
        if tables.units.get(unit, (None, None))[:2] != (assignment, index)
    ]
    worker, agent = record["worker"], record["agent"]
    if worker is not None and (
        tables.workers.get(worker) != f"{record['tag']}:uow"
        or tables.agents.get(agent) != (worker, units[0], assignment)
    ):
        problems.append(f"logged worker or agent missing: {record}")
    return problems


def _unlogged_commits(
    tables: Tables, records: list[Record], finished: set[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """Commits without a log line: none for a finished writer, its last one for a killed one."""
    committed: dict[str, set[str]] = defaultdict(set)
    for task_type in tables.assignments.values():
        if (match := ASSIGNMENT_TYPE.fullmatch(task_type)) is not None:
            committed[match["writer"]].add(match["tag"])
    for name in tables.workers.values():
        if (match := SINGLE_WORKER.fullmatch(name)) is not None:
            committed[match["writer"]].add(name)
    logged: dict[str, set[str]] = defaultdict(set)
    last_seq: dict[str, int] = defaultdict(int)
    for record in records:
        if "seq" in record:
            last_seq[record["writer"]] = max(last_seq[record["writer"]], record["seq"])
        if record["op"] in ("uow", "worker"):
            logged[record["writer"]].add(record["tag"])
    unlogged: dict[str, list[str]] = {}
    problems: list[str] = []
    for writer, tags in committed.items():
        extra = sorted(tags - logged[writer])
        if not extra:
            continue
        unlogged[writer] = extra
        seqs = [int(tag.split(":")[1]) for tag in extra]
        if writer in finished or len(extra) > 1 or seqs[0] <= last_seq[writer]:
            problems.append(f"{writer} committed {extra} without logging them")
    return unlogged, problems
