"""Interleaved timing: taskdb and the raw driver take turns, medians per operation."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["write", "get", "finder", "bulk", "seed", "open", "orm"]
Op = Callable[[], object]

# What each kind of workload aims at (issue acceptance item 4).
AIMS: dict[Kind, str] = {
    "write": "taskdb <= 1.3x raw",
    "get": "taskdb <= 2.5x raw",
    "finder": "taskdb <= 1.5x raw",
    "bulk": "taskdb >= 0.5x raw rows/s",
    "seed": "taskdb >= 5x faster",
    "open": "none: measured (issue 14)",
    "orm": "none: reported (ORM query against the repository calls)",
}
LIMITS: dict[Kind, float] = {
    "write": 1.3,
    "get": 2.5,
    "finder": 1.5,
    "bulk": 2.0,
    "seed": 0.2,
    "open": float("inf"),
    "orm": float("inf"),
}
# Kinds measured without an aim: nothing to meet or miss.
UNJUDGED: frozenset[Kind] = frozenset({"open", "orm"})


@dataclass
class Side:
    """One implementation of a workload: the timed operation and untimed preparation."""

    op: Op
    prepare: Op | None = None


@dataclass
class Workload:
    """The same work done by taskdb and by a baseline (the raw driver, or the seed's way).

    For the ORM cookbook (kind ``orm``), "taskdb" is the ORM query and the baseline the
    repository calls that answer the same question.
    """

    name: str
    kind: Kind
    taskdb: Side
    baseline: Side
    ops: int = 20  # operations per sample
    rows: int = 1  # rows written or read per operation, for throughput
    note: str = ""


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

    @property
    def ratio(self) -> float:
        """taskdb time / baseline time: below 1 means taskdb is faster."""
        return self.taskdb_us / self.baseline_us

    @property
    def met(self) -> bool:
        return self.ratio <= LIMITS[self.kind]


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
    """Warm both sides up, then alternate them (AB, BA, AB, ...) and keep the medians."""
    for _ in range(warmup):
        _sample(workload.taskdb, max(1, workload.ops // 4))
        _sample(workload.baseline, max(1, workload.ops // 4))
    mine: list[float] = []
    theirs: list[float] = []
    gc.collect()
    gc.disable()
    try:
        for round_number in range(repeat):
            if round_number % 2 == 0:
                mine.append(_sample(workload.taskdb, workload.ops))
                theirs.append(_sample(workload.baseline, workload.ops))
            else:
                theirs.append(_sample(workload.baseline, workload.ops))
                mine.append(_sample(workload.taskdb, workload.ops))
            gc.collect()
    finally:
        gc.enable()
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
    )
