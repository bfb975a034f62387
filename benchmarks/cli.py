"""``python -m benchmarks``: run every workload on every engine, write JSON and RESULTS.md.

The crowd finders run at every size; the point operations, the quantum store and the
ORM cookbook (docs/orm.md, against the repository calls) at the smallest.

    python -m benchmarks                                  # sizes 10k and 100k, all engines
    python -m benchmarks --sizes 10000,100000,1000000     # add the opt-in 1M size
    python -m benchmarks --engines sqlite --repeat 7      # one engine, fewer samples

Servers are found at ``TASKDB_BENCH_POSTGRESQL_URL`` / ``TASKDB_BENCH_MYSQL_URL``
(defaults: this machine's servers); the benchmark creates and drops its own databases.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import crowd, dataset, memory, opening, orm, quantum, report
from benchmarks.backends import ENGINES, Backend, CoreFloor, Raw
from benchmarks.timing import Result, Workload, measure
from taskdb.crowd import CrowdStore
from taskdb.quantum import TaskStore
from taskdb.spec import CROWD, QUANTUM
from tests.support import cookbook_data

HERE = Path(__file__).resolve().parent
DEFAULT_SIZES = (10_000, 100_000)
# Units one find() call lists in the memory measurement, against iterate() over all.
MEMORY_LISTED = 200_000


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="taskdb against the raw drivers (sqlite3, psycopg, PyMySQL), interleaved.",
    )
    parser.add_argument(
        "--sizes",
        default=",".join(str(size) for size in DEFAULT_SIZES),
        help="units in the finder databases, comma-separated (default 10000,100000; "
        "add 1000000 to check the 1M growth aim: a few more minutes per engine); "
        "the ORM cookbook's data set has as many units as the smallest",
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="comma-separated subset of " + ",".join(ENGINES),
    )
    parser.add_argument("--repeat", type=int, default=15, help="samples per side (default 15)")
    parser.add_argument(
        "--memory-units",
        type=int,
        default=1_000_000,
        help="units walked by the SQLite memory measurement (default 1000000; 0 skips it)",
    )
    parser.add_argument(
        "--json", type=Path, default=HERE / "results.json", help="machine-readable output"
    )
    parser.add_argument(
        "--markdown", type=Path, default=HERE / "RESULTS.md", help="the report (from the JSON)"
    )
    parser.add_argument(
        "--reference",
        type=Path,
        default=HERE / "reference.json",
        help="an earlier run's JSON whose ratios writes are judged against "
        "(default: benchmarks/reference.json, the run before issue 11's changes)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="render the markdown again from the existing JSON, without measuring",
    )
    return parser.parse_args(argv)


def _run(workloads: list[Workload], repeat: int, label: str) -> list[Result]:
    results = []
    for workload in workloads:
        result = measure(workload, repeat)
        floor = "" if result.floor_us is None else f", floor {result.floor_us:,.1f} us"
        print(
            f"  [{label}] {workload.name}: taskdb {result.taskdb_us:,.1f} us, "
            f"baseline {result.baseline_us:,.1f} us{floor}, x{result.ratio:.2f}",
            flush=True,
        )
        results.append(result)
    return results


def _as_json(results: list[Result]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "kind": r.kind,
            "taskdb_us": round(r.taskdb_us, 2),
            "baseline_us": round(r.baseline_us, 2),
            "ratio": round(r.ratio, 3),
            "met": r.met,
            "ops_per_sample": r.ops,
            "samples": r.samples,
            "rows_per_op": r.rows,
            "note": r.note,
            "taskdb_samples_us": r.taskdb_samples,
            "baseline_samples_us": r.baseline_samples,
            "floor_us": None if r.floor_us is None else round(r.floor_us, 2),
        }
        for r in results
    ]


def _crowd(backend: Backend, sizes: list[int], repeat: int) -> dict[str, Any]:
    finders: dict[str, list[dict[str, Any]]] = {}
    operations: list[Result] = []
    loads: dict[str, float] = {}
    for position, size in enumerate(sizes):
        url = backend.migrated_url(CROWD, f"crowd{size}")
        raw = Raw(url)
        started = time.perf_counter()
        loaded = dataset.load(raw, size)
        loads[str(size)] = round(time.perf_counter() - started, 1)
        print(f"[{backend.name}] loaded {size:,} units in {loads[str(size)]} s", flush=True)
        store = CrowdStore(url)
        try:
            label = f"{backend.name} {size:,}"
            finders[str(size)] = _as_json(
                _run(crowd.finder_workloads(store, raw, loaded), repeat, label)
            )
            if position == 0:
                floor = CoreFloor(store.engine)
                try:
                    workloads = crowd.point_workloads(store, raw, loaded, floor)
                    operations = _run(workloads, repeat, label)
                finally:
                    floor.close()
                if backend.name == "sqlite":
                    durable, close = crowd.durability_workloads(url, loaded)
                    try:
                        operations += _run(durable, repeat, label)
                    finally:
                        close()
        finally:
            store.close()
            raw.close()
    return {"operations": _as_json(operations), "finders": finders, "load_seconds": loads}


def _quantum(backend: Backend, repeat: int) -> dict[str, Any]:
    url = backend.migrated_url(QUANTUM, "quantum")
    raw = Raw(url)
    quantum.preload(raw)
    store = TaskStore(url=url)
    floor = CoreFloor(store.engine)
    try:
        workloads = quantum.raw_workloads(store, raw, floor)
        results = _run(workloads, repeat, f"{backend.name} quantum")
        if backend.name == "sqlite":
            seed_url = backend.migrated_url(QUANTUM, "quantum-seed")
            seed_raw = Raw(seed_url)
            quantum.preload(seed_raw)
            seed_raw.close()
            path = seed_url.removeprefix("sqlite:///")
            seed = quantum.SeedStyleStore(path)
            results += _run(quantum.seed_workloads(store, seed), repeat, "sqlite seed-style")
    finally:
        floor.close()
        store.close()
        raw.close()
    return {"operations": _as_json(results)}


def _open(backend: Backend, repeat: int) -> dict[str, Any]:
    crowd_url = backend.migrated_url(CROWD, "crowd_open")
    quantum_url = backend.migrated_url(QUANTUM, "quantum_open")
    workloads = opening.open_workloads(crowd_url, quantum_url)
    return {"operations": _as_json(_run(workloads, repeat, f"{backend.name} open"))}


def _orm(backend: Backend, size: int, repeat: int) -> dict[str, Any]:
    """The ORM cookbook against the repositories, on the cookbook data set at ``size`` units."""
    data = cookbook_data.generate(units=size, quantum_tasks=quantum.PRELOADED)
    store = CrowdStore(backend.migrated_url(CROWD, f"cookbook{size}"))
    tasks = TaskStore(url=backend.migrated_url(QUANTUM, "cookbook_q"))
    try:
        started = time.perf_counter()
        cookbook_data.load_crowd(store.engine, data)
        cookbook_data.load_quantum(tasks.engine, data)
        seconds = round(time.perf_counter() - started, 1)
        print(f"[{backend.name}] loaded the cookbook data set in {seconds} s", flush=True)
        results = _run(orm.workloads(store, tasks, data), repeat, f"{backend.name} orm")
    finally:
        store.close()
        tasks.close()
    return {
        "units": len(data.rows("units")),
        "task_runs": len(data.rows("task_runs")),
        "workers": len(data.rows("workers")),
        "agents": len(data.rows("agents")),
        "quantum_tasks": len(data.quantum),
        "load_seconds": seconds,
        "questions": _as_json(results),
    }


def _machine() -> dict[str, Any]:
    import sqlite3

    import psycopg
    import pydantic
    import pymysql
    import sqlalchemy

    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "pydantic": pydantic.__version__,
        "psycopg": psycopg.__version__,
        "pymysql": pymysql.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.report_only:
        args.markdown.write_text(report.render(json.loads(args.json.read_text())))
        print(f"wrote {args.markdown} from {args.json}")
        return 0
    sizes = sorted(int(size) for size in args.sizes.split(","))
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = set(engines) - set(ENGINES)
    if unknown or not sizes or args.repeat < 3:
        print(f"bad --engines {sorted(unknown)} / --sizes / --repeat (>= 3)", file=sys.stderr)
        return 2
    command = "python -m benchmarks" + (" " + shlex.join(argv or sys.argv[1:])).rstrip()
    output: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "sizes": sizes,
        "repeat": args.repeat,
        "machine": _machine(),
        "engines": {},
    }
    if args.reference.exists():
        earlier = json.loads(args.reference.read_text())
        output["reference"] = {
            "command": earlier["command"],
            "date": earlier["date"],
            "label": earlier.get("label", args.reference.name),
            "ratios": report.reference_ratios(earlier),
        }
    started = time.perf_counter()
    for name in engines:
        variable = f"TASKDB_BENCH_{name.upper()}_URL"
        backend = Backend(name, os.environ.get(variable))
        reason = backend.reachable()
        if reason is not None:
            print(f"[{name}] skipped: {reason} (set {variable})", file=sys.stderr)
            output["engines"][name] = {"skipped": reason}
            continue
        try:
            output["engines"][name] = {
                "version": backend.version(),
                "crowd": _crowd(backend, sizes, args.repeat),
                "quantum": _quantum(backend, args.repeat),
                "open": _open(backend, args.repeat),
                "orm": _orm(backend, sizes[0], args.repeat),
            }
            if name == "sqlite" and args.memory_units > 0:
                url = backend.migrated_url(CROWD, "memory")
                output["engines"][name]["memory"] = memory.measure(
                    url, args.memory_units, MEMORY_LISTED
                )
        finally:
            backend.cleanup()
    output["seconds"] = round(time.perf_counter() - started)
    args.json.write_text(json.dumps(output, indent=1) + "\n")
    args.markdown.write_text(report.render(output))
    print(f"wrote {args.json} and {args.markdown} in {output['seconds']} s")
    return 0
