"""Opening a current store: what every ``CrowdStore(...)`` / ``TaskStore(...)`` pays up front.

taskdb's side is the whole open and close: a new engine, the header guard, the status
read (version row, SQLite header, the layout check of issue 14: tables, column names,
user_version) and disposing the engine. ``PRAGMA quick_check`` runs on a process's first
open of the file only (it is unchanged afterwards), so it is not in the row. The
baseline opens a raw connection with the same settings, reads what a check-less open
would read (SQLite's header and the version row) and closes it. No aim: the row shows
what the checks cost, to keep them cheap.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.backends import Raw
from benchmarks.timing import Side, Workload
from taskdb.crowd import CrowdStore
from taskdb.quantum import TaskStore
from taskdb.spec import CROWD, QUANTUM, StoreSpec

NOTE = "baseline: a raw connection reading the version row (and SQLite's header), closed"


def raw_open(url: str, spec: StoreSpec) -> None:
    """The least an open can do: connect, read the header and the version row, close."""
    raw = Raw(url)
    try:
        if raw.dialect == "sqlite":
            raw.query("PRAGMA application_id", ())
            raw.query("PRAGMA user_version", ())
        raw.query(f"SELECT version_num FROM {spec.version_table}", ())
    finally:
        raw.close()


def _workload(name: str, spec: StoreSpec, url: str, open_store: Callable[[], None]) -> Workload:
    # A server open costs milliseconds (new connections): fewer per sample.
    ops = 20 if url.startswith("sqlite") else 5
    return Workload(
        f"{name} open (current store)",
        "open",
        Side(open_store),
        Side(lambda: raw_open(url, spec)),
        ops=ops,
        note=NOTE,
    )


def open_workloads(crowd_url: str, quantum_url: str) -> list[Workload]:
    """Both stores, each on a database already at head."""
    return [
        _workload("crowd", CROWD, crowd_url, lambda: CrowdStore(crowd_url).close()),
        _workload("quantum", QUANTUM, quantum_url, lambda: TaskStore(url=quantum_url).close()),
    ]
