"""Memory: peak RSS growth while a caller reads every unit, streamed or all at once.

Each walk runs in a process of its own: the store is opened and one unit read first
(imports, engine, pool), then the resident set (``/proc/self/statm``, Linux) is sampled
every 500 rows of the walk (and once the list of ``find`` is built); the growth is the
highest sample less the one before the walk. ``iterate`` reads a batch of records at a time (keyset
pages); ``find`` builds the whole list, as every finder did before issue 11.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from benchmarks.backends import Raw
from benchmarks.dataset import load

_WALK = """
import gc, json, os, sys, time
from taskdb.crowd import CrowdStore

PAGE = os.sysconf("SC_PAGE_SIZE")


def resident() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


url, how, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = CrowdStore(url)
store.units.get(1)
gc.collect()
before = peak = resident()
started = time.perf_counter()
if how == "iterate":
    rows = 0
    for _ in store.units.iterate(batch=1000):
        rows += 1
        if rows % 500 == 0:
            peak = max(peak, resident())
else:
    found = store.units.find(limit=limit)
    rows = len(found)
    peak = max(peak, resident())
seconds = time.perf_counter() - started
store.close()
print(json.dumps({"rows": rows, "growth_mib": (peak - before) / 2**20, "seconds": seconds}))
"""


def _walk(url: str, how: str, limit: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _WALK, url, how, str(limit)],
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def measure(url: str, units: int, listed: int) -> dict[str, Any]:
    """Load ``units`` units at ``url``; walk all with ``iterate``, list ``listed`` with find."""
    raw = Raw(url)
    try:
        started = time.perf_counter()
        load(raw, units)
        loaded = round(time.perf_counter() - started, 1)
    finally:
        raw.close()
    streamed = _walk(url, "iterate", 0)
    listed_all = _walk(url, "find", min(listed, units))
    print(
        f"[memory] iterate over {streamed['rows']:,} units: peak RSS +"
        f"{streamed['growth_mib']:.1f} MiB; find() of {listed_all['rows']:,}: +"
        f"{listed_all['growth_mib']:.1f} MiB",
        flush=True,
    )
    return {"units": units, "load_seconds": loaded, "iterate": streamed, "find": listed_all}
