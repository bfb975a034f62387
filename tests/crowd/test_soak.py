"""Soak: 8 threads and 2 processes write and read one SQLite file; the processes get SIGKILLed.

For ``TASKDB_SOAK_SECONDS`` (default 60) eight threads share one CrowdStore while two
child processes (spawned, each with its own store) do the same; every 2-6 s one child,
picked at random, is killed with SIGKILL and a new one started in its place. Afterwards
the file passes ``integrity_check`` and ``foreign_key_check``, every unit of work is
whole, every logged commit is there with its values, and only a killed process's last
commit may be missing from its log. The figures go to the terminal summary
(``record_property("soak", ...)``); ``TASKDB_SOAK_SEED`` repeats a run's choices.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import random
import sqlite3
import statistics
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import closing, suppress
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest

from taskdb.crowd import CrowdStore
from taskdb.engine import database_file
from taskdb.spec import CROWD
from tests.support.crowd_world import build_world
from tests.support.engines import Target
from tests.support.soak import WRITES, Record, Targets, Writer, read_log, run_child, verify

SECONDS = float(os.environ.get("TASKDB_SOAK_SECONDS", "60"))
THREADS = 8
PROCESSES = 2
KILL_EVERY_S = (2.0, 6.0)
# How long stopping may take on a loaded machine (a child may still be starting).
JOIN_TIMEOUT_S = 120


@dataclass
class Child:
    slot: int
    generation: int
    process: BaseProcess
    log: Path

    @property
    def name(self) -> str:
        return f"p{self.slot}g{self.generation}"


@dataclass
class Supervisor:
    """Starts the child processes, kills one at random intervals and starts its successor."""

    url: str
    wal: Path
    targets: Targets
    folder: Path
    rng: random.Random
    children: list[Child] = field(default_factory=list)
    killed: list[Child] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # The largest the -wal file was seen during the run, in bytes.
    wal_peak: int = 0

    def __post_init__(self) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.stop_file = self.folder / "stop"
        self.children = [self._start(slot, 0) for slot in range(PROCESSES)]

    def _start(self, slot: int, generation: int) -> Child:
        name = f"p{slot}g{generation}"
        log = self.folder / f"{name}.log"
        process = self.context.Process(
            target=run_child,
            args=(
                self.url,
                self.targets,
                name,
                str(log),
                str(self.stop_file),
                self.rng.randrange(2**32),
            ),
            name=name,
            daemon=True,
        )
        process.start()
        return Child(slot, generation, process, log)

    def run_until(self, deadline: float, failed: Callable[[], bool]) -> None:
        next_kill = time.monotonic() + self.rng.uniform(*KILL_EVERY_S)
        while (now := time.monotonic()) < deadline and not failed() and not self.errors:
            for child in self.children:
                if child.process.exitcode is not None:
                    self.errors.append(f"{child.name} exited by itself: {self._outcome(child)}")
            if now >= next_kill:
                victim = self.children[self.rng.randrange(PROCESSES)]
                victim.process.kill()
                victim.process.join(timeout=JOIN_TIMEOUT_S)
                self.killed.append(victim)
                self.children[victim.slot] = self._start(victim.slot, victim.generation + 1)
                next_kill = now + self.rng.uniform(*KILL_EVERY_S)
            self._measure_wal()
            time.sleep(min(0.05, max(0.0, deadline - now)))

    def _measure_wal(self) -> None:
        with suppress(FileNotFoundError):
            self.wal_peak = max(self.wal_peak, self.wal.stat().st_size)

    def stop(self) -> None:
        """Ask the running children to finish; each must exit 0 (kill it if it hangs)."""
        self.stop_file.touch()
        for child in self.children:
            child.process.join(timeout=JOIN_TIMEOUT_S)
            if child.process.exitcode != 0:
                self.errors.append(f"{child.name} did not stop cleanly: {self._outcome(child)}")

    def kill_all(self) -> None:
        for child in self.children:
            if child.process.is_alive():
                child.process.kill()
                child.process.join(timeout=JOIN_TIMEOUT_S)

    def _outcome(self, child: Child) -> str:
        error = Path(f"{child.log}.err")
        detail = error.read_text() if error.exists() else "no traceback"
        return f"exit code {child.process.exitcode}\n{detail}"

    @property
    def generations(self) -> list[Child]:
        return sorted([*self.killed, *self.children], key=lambda c: (c.slot, c.generation))


def open_files_of(file: Path) -> list[str]:
    """This process's file descriptors on the database, its -wal or its -shm (Linux)."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return []
    file = file.resolve()
    names = {str(file), f"{file}-wal", f"{file}-shm"}
    found = []
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target in names:
            found.append(target)
    return found


def figures(
    records: list[Record], supervisor: Supervisor, reads: dict[str, int]
) -> tuple[list[str], list[float]]:
    """One line per writer (threads, then process slots over their generations)."""
    by_writer: dict[str, Counter[str]] = defaultdict(Counter)
    worst: dict[str, float] = defaultdict(float)
    latencies: list[float] = []
    for record in records:
        writer = record["writer"]
        row = writer if writer.startswith("t") else writer.split("g")[0]
        by_writer[row][record["op"]] += 1
        if record["op"] in WRITES:
            latencies.append(record["ms"])
            worst[row] = max(worst[row], record["ms"])
    lines = []
    for row in [f"t{n}" for n in range(THREADS)] + [f"p{n}" for n in range(PROCESSES)]:
        counts = by_writer[row]
        if row.startswith("p"):
            gens = [c for c in supervisor.generations if c.slot == int(row[1:])]
            row_reads = sum(reads.get(c.name, 0) for c in gens)
            label = f"{row} ({len(gens)} runs)"
        else:
            row_reads = reads.get(row, 0)
            label = row
        lines.append(
            f"  {label}: {counts['uow']} units of work (+{counts['rollback']} rolled back), "
            f"{counts['worker'] + counts['grant']} single writes ({counts['worker']} workers, "
            f"{counts['grant']} grants), {row_reads} reads, worst write {worst[row]:.0f} ms"
        )
    return lines, latencies


@pytest.mark.slow
def test_soak_threads_and_killed_processes_on_one_file(
    sqlite_target: Target, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    seed = int(os.environ.get("TASKDB_SOAK_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    url = sqlite_target.migrated_url(CROWD, "soak")
    file = database_file(url)
    assert file is not None
    logs = tmp_path / "logs"
    logs.mkdir()

    with CrowdStore(url) as store:
        world = build_world(store)
        qualifications = tuple(store.qualifications.make(f"soak-{n}") for n in range(3))
        targets = Targets(world.task, world.task_run, world.requester, qualifications)
        assert open_files_of(file)  # the pool holds the file open (so the check below can see)
        thread_records: list[Record] = []  # list.append is atomic: the threads share it
        thread_errors: list[str] = []
        reads: dict[str, int] = {}
        stop = threading.Event()

        seeds = [rng.randrange(2**32) for _ in range(THREADS)]

        def run_thread(index: int) -> None:
            writer = Writer(f"t{index}", store, targets, thread_records.append, seeds[index])
            try:
                while not stop.is_set():
                    writer.step()
            except BaseException:
                thread_errors.append(f"t{index}: {traceback.format_exc()}")
            finally:
                reads[writer.name] = writer.reads

        started = time.monotonic()
        supervisor = Supervisor(url, Path(f"{file}-wal"), targets, logs, rng)
        threads = [threading.Thread(target=run_thread, args=(n,)) for n in range(THREADS)]
        try:
            for thread in threads:
                thread.start()
            supervisor.run_until(started + SECONDS, failed=lambda: bool(thread_errors))
        finally:
            stop.set()
            supervisor.stop()
            supervisor.kill_all()
            for thread in threads:
                thread.join(timeout=JOIN_TIMEOUT_S)
        elapsed = time.monotonic() - started
        assert thread_errors == [], thread_errors[0]
        assert supervisor.errors == [], supervisor.errors[0]
        assert not any(thread.is_alive() for thread in threads)
    # The store closed: none of its connections may still hold the file.
    assert open_files_of(file) == []

    child_records: list[Record] = []
    finished = {f"t{n}" for n in range(THREADS)}
    kills_while_writing = 0
    for child in supervisor.generations:
        records = read_log(child.log)
        started_writing = any(r["op"] in WRITES for r in records)
        if child in supervisor.killed:
            kills_while_writing += started_writing
        else:
            assert records and records[-1]["op"] == "end", f"{child.name} did not log its end"
            finished.add(child.name)
        reads[child.name] = max((r["reads"] for r in records if "reads" in r), default=0)
        child_records += [r for r in records if r["op"] not in ("start", "end")]
    records = thread_records + child_records

    verdict = verify(file, records, finished, targets)
    wal = Path(f"{file}-wal")
    wal_at_end = wal.stat().st_size if wal.exists() else 0
    with closing(sqlite3.connect(file)) as db:
        busy, _log_frames, _moved = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    wal_size = wal.stat().st_size if wal.exists() else 0

    lines, latencies = figures(records, supervisor, reads)
    commits = Counter(r["op"] for r in records)
    summary = "\n".join(
        [
            f"soak: {elapsed:.1f} s, {THREADS} threads + {PROCESSES} processes, seed {seed}",
            *lines,
            f"  SIGKILLs: {len(supervisor.killed)} ({kills_while_writing} after the process "
            f"had committed), {len(supervisor.generations)} processes in all; "
            f"commits left unlogged by a kill: {sum(map(len, verdict.unlogged.values()))}",
            f"  logged commits: {commits['uow']} units of work, "
            f"{commits['worker'] + commits['grant']} single writes, "
            f"{commits['rollback']} units of work rolled back; reads: {sum(reads.values())}",
            f"  write latency: worst {max(latencies, default=0):.0f} ms, "
            f"p99 {_percentile(latencies, 99):.1f} ms, "
            f"median {_percentile(latencies, 50):.1f} ms",
            f"  rows: {verdict.rows}",
            f"  integrity_check: {', '.join(verdict.integrity)}; foreign_key_check: "
            f"{verdict.foreign_key_violations} violation(s); problems: {len(verdict.problems)}; "
            f"-wal at most {supervisor.wal_peak} bytes during the run, {wal_at_end} at the "
            f"end, {wal_size} after wal_checkpoint(TRUNCATE) "
            f"(busy={busy})",
        ]
    )
    record_property("soak", summary)
    print(summary)

    assert verdict.integrity == ["ok"]
    assert verdict.foreign_key_violations == 0
    assert verdict.problems == [], "\n".join(verdict.problems[:20])
    assert busy == 0 and wal_size == 0
    assert commits["uow"] > 0 and any(r["writer"].startswith("p") for r in records)
    assert len(supervisor.killed) >= int(SECONDS // KILL_EVERY_S[1])


def _percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100)[percent - 1]


def test_the_soak_check_finds_what_it_looks_for(sqlite_target: Target) -> None:
    """verify() on a short single-writer run: clean, then each kind of damage is reported."""
    url = sqlite_target.migrated_url(CROWD, "check")
    file = database_file(url)
    assert file is not None
    records: list[Record] = []
    with CrowdStore(url) as store:
        world = build_world(store)
        qualifications = (store.qualifications.make("soak-0"),)
        targets = Targets(world.task, world.task_run, world.requester, qualifications)
        writer = Writer("t0", store, targets, records.append, seed=7)
        while not {"uow", "worker", "grant", "rollback"} <= {r["op"] for r in records} or not any(
            r["op"] == "uow" and r["agent"] for r in records
        ):
            writer.step()
    assert verify(file, records, {"t0"}, targets).problems == []

    copies = itertools.count()

    def problems_after(*statements: str, finished: frozenset[str] = frozenset({"t0"})) -> str:
        copy = file.with_name(f"{file.stem}-{next(copies)}.sqlite")
        with closing(sqlite3.connect(file)) as source, closing(sqlite3.connect(copy)) as target:
            source.backup(target)
            for statement in statements:
                target.execute(statement)
            target.commit()
        return "\n".join(verify(copy, records, set(finished), targets).problems)

    uow = next(r for r in records if r["op"] == "uow" and r["agent"])
    single = next(r for r in records if r["op"] == "worker")
    rolled_back = next(r for r in records if r["op"] == "rollback")
    grant = next(r for r in records if r["op"] == "grant")
    off = "PRAGMA foreign_keys = OFF"
    # A unit of work that lost a unit: half a unit of work, and a logged unit missing.
    found = problems_after(off, f"DELETE FROM units WHERE unit_id = {uow['units'][-1]}")
    assert "unit indexes" in found and "logged unit" in found
    # One that lost its agent.
    found = problems_after(off, f"DELETE FROM agents WHERE agent_id = {uow['agent']}")
    assert f"assignment {uow['assignment']}" in found and "worker or agent missing" in found
    # A logged single write that is not there.
    found = problems_after(off, f"DELETE FROM workers WHERE worker_id = {single['worker']}")
    assert "logged worker missing" in found
    # A grant older than the one logged.
    found = problems_after(
        f"UPDATE granted_qualifications SET value = {grant['value'] - 1}"
        f" WHERE worker_id = {grant['worker']} AND qualification_id = {grant['qualification']}"
    )
    assert f"logged {grant['value']}" in found
    # Rows of a rolled-back unit of work.
    found = problems_after(
        f"INSERT INTO assignments (task_id, task_run_id, requester_id, task_type, provider_type,"
        f" sandbox) VALUES ({world.task}, {world.task_run}, {world.requester},"
        f" '{rolled_back['tag']}:u0:a0', 'mock', 1)"
    )
    assert "left rows" in found

    # A commit nobody logged: refused for a writer that finished, allowed as a killed one's last.
    def new_worker(name: str) -> str:
        return f"INSERT INTO workers (worker_name, provider_type) VALUES ('{name}', 'mock')"

    unlogged = new_worker(f"t0:{writer.seq + 1}")
    assert "without logging" in problems_after(unlogged)
    assert problems_after(unlogged, finished=frozenset()) == ""
    two = new_worker(f"t0:{writer.seq + 2}")
    assert "without logging" in problems_after(unlogged, two, finished=frozenset())
    # An orphan worker of a unit of work.
    found = problems_after(new_worker(f"t0:{writer.seq + 9}:uow"))
    assert "half a unit of work" in found
