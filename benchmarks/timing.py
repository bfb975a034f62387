"""Interleaved timing: taskdb and the raw driver take turns, medians per operation."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["write", "graph", "get", "finder", "bulk", "seed", "open", "orm", "durable"]
Op = Callable[[], object]

# What each kind of workload aims at (issue 11's aims; writes against the reference run).
AIMS: dict[Kind, str] = {
    "write": "ratio <= 1.05x the reference run's",
    "graph": "taskdb <= 3x raw",
    "get": "taskdb <= 4x raw and <= 1.4x Core",
    "finder": "taskdb <= 1.5x raw",
    "bulk": "ratio <= 1.05x the reference run's",
    "seed": "taskdb >= 5x faster",
    "open": "none: measured (issue 14)",
    "orm": "none: reported (ORM query against the repository calls)",
    "durable": "none: measured (the cost of durability=full)",
}
LIMITS: dict[Kind, float] = {
    "write": float("inf"),  # judged against the reference run when the report is rendered
    "graph": 3.0,
    "get": 4.0,
    "finder": 1.5,
    "bulk": float("inf"),
    "seed": 0.2,
    "open": float("inf"),
    "orm": float("inf"),
    "durable": float("inf"),
}
# Kinds measured without an aim: nothing to meet or miss.
UNJUDGED: frozenset[Kind] = frozenset({"open", "orm", "durable"})
# Kinds judged by their change against a reference run, not by a fixed limit.
AGAINST_REFERENCE: frozenset[Kind] = frozenset({"write", "bulk"})
REGRESSION_LIMIT = 1.05
# Point reads are also judged against SQLAlchemy Core on a held connection; a finder's
# floor (the raw rows made into the same records) is reported, not judged.
FLOOR_LIMIT = 1.4
JUDGED_BY_FLOOR: frozenset[Kind] = frozenset({"get"})


@dataclass
class Side:
    """One implementation of a workload: the timed operation and untimed preparation."""

    op: Op
    prepare: Op | None = None


@dataclass
class Workload:
    """The same work done by taskdb and by a baseline (the raw driver, or the seed's way).

    For the ORM cookbook (kind ``orm``), "taskdb" is the ORM query and the baseline the
    repository calls that answer the same question. ``floor``, where given, is the least
    the same answer can cost another way: for a point read the same statement as
    SQLAlchemy Core executes it on a held connection (the least any SQLAlchemy-based call
    can cost), for a finder the raw driver's rows made into the same pydantic records by
    pydantic's validation (what validated records cost; taskdb skips it for rows already
    of the right types).
    """

    name: str
    kind: Kind
    taskdb: Side
    baseline: Side
    ops: int = 20  # operations per sample
    rows: int = 1  # rows written or read per operation, for throughput
    note: str = ""
    floor: Side | None = None


@dataclass
class Result:
    name: str
    kind: Kind
    taskdb_us: float  # median microseconds per operation
    baseline_us: float
    ops: int
    samples: int
    rows: int
    note: str = ""
    taskdb_samples: list[float] = field(default_factory=list)
    baseline_samples: list[float] = field(default_factory=list)
    floor_us: float | None = None

    @property
    def ratio(self) -> float:
        """taskdb time / baseline time: below 1 means taskdb is faster."""
        return self.taskdb_us / self.baseline_us

    @property
    def floor_ratio(self) -> float | None:
        """taskdb time / the floor's time, where the floor was measured."""
        return None if self.floor_us is None else self.taskdb_us / self.floor_us

    @property
    def met(self) -> bool:
        floor = self.floor_ratio if self.kind in JUDGED_BY_FLOOR else None
        return self.ratio <= LIMITS[self.kind] and (floor is None or floor <= FLOOR_LIMIT)


def _sample(side: Side, ops: int) -> float:
    """Seconds per operation over ``ops`` operations; preparation is not timed."""
    total = 0.0
    for _ in range(ops):
        if side.prepare is not None:
            side.prepare()
        started = time.perf_counter()
        side.op()
        total += time.perf_counter() - started
    return total / ops


def measure(workload: Workload, repeat: int, warmup: int = 2) -> Result:
    """Warm every side up, then rotate them (ABC, CAB, BCA, ...) and keep the medians."""
    sides = [workload.taskdb, workload.baseline]
    if workload.floor is not None:
        sides.append(workload.floor)
    for _ in range(warmup):
        for side in sides:
            _sample(side, max(1, workload.ops // 4))
    samples: list[list[float]] = [[] for _ in sides]
    gc.collect()
    gc.disable()
    try:
        for round_number in range(repeat):
            # Each side goes first as often as the others: no side always runs warm.
            shift = round_number % len(sides)
            for position in [*range(shift, len(sides)), *range(shift)]:
                samples[position].append(_sample(sides[position], workload.ops))
            gc.collect()
    finally:
        gc.enable()
    mine, theirs = samples[0], samples[1]
    return Result(
        name=workload.name,
        kind=workload.kind,
        taskdb_us=statistics.median(mine) * 1e6,
        baseline_us=statistics.median(theirs) * 1e6,
        ops=workload.ops,
        samples=repeat,
        rows=workload.rows,
        note=workload.note,
        taskdb_samples=[round(value * 1e6, 2) for value in mine],
        baseline_samples=[round(value * 1e6, 2) for value in theirs],
        floor_us=statistics.median(samples[2]) * 1e6 if len(samples) > 2 else None,
    )
