"""Functions run in child processes by the concurrency tests (importable under spawn)."""

from __future__ import annotations

from multiprocessing import Queue
from multiprocessing.synchronize import Barrier

from taskdb.engine import create_engine
from taskdb.migrate import open_engine, read_status, upgrade
from taskdb.stores import CROWD


def open_at_once(url: str, barrier: Barrier, results: Queue[tuple[bool, str]]) -> None:
    """Open the crowd store once every sibling is ready; put (ran migrations, state)."""
    messages: list[str] = []
    barrier.wait(timeout=60)
    if url.startswith("sqlite"):
        engine = open_engine(CROWD, url, progress=messages.append)
    else:
        engine = create_engine(url, CROWD)
        upgrade(engine, CROWD, progress=messages.append)
    try:
        state = read_status(engine, CROWD).state
    finally:
        engine.dispose()
    ran = any(message.startswith("upgrading") for message in messages)
    results.put((ran, state.value))
