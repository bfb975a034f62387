"""Functions run in child processes by the concurrency tests (importable under spawn)."""

from __future__ import annotations

import logging
from multiprocessing import Queue
from multiprocessing.synchronize import Barrier

from taskdb.crowd import CrowdStore
from taskdb.engine import create_engine
from taskdb.lifecycle import open_engine, read_status, upgrade
from taskdb.spec import CROWD


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _collect() -> _Collect:
    collected = _Collect()
    logger = logging.getLogger("taskdb")
    logger.addHandler(collected)
    logger.setLevel(logging.INFO)
    return collected


def open_at_once(url: str, barrier: Barrier, results: Queue[tuple[bool, str]]) -> None:
    """Open the crowd store once every sibling is ready; put (ran migrations, state)."""
    collected = _collect()
    barrier.wait(timeout=60)
    if url.startswith("sqlite"):
        engine = open_engine(CROWD, url)
    else:
        engine = create_engine(url, CROWD)
        upgrade(engine, CROWD)
    try:
        state = read_status(engine, CROWD).state
    finally:
        engine.dispose()
    ran = any(message.startswith("upgrading") for message in collected.messages)
    results.put((ran, state.value))


def open_store_upgrading_at_once(
    url: str, barrier: Barrier, results: Queue[tuple[bool, str]]
) -> None:
    """Open ``CrowdStore(url, upgrade=True)`` once every sibling is ready; as open_at_once."""
    collected = _collect()
    barrier.wait(timeout=60)
    with CrowdStore(url, upgrade=True) as store:
        state = read_status(store.engine, CROWD).state
    ran = any(message.startswith("upgrading") for message in collected.messages)
    results.put((ran, state.value))
