"""The quantum store: a drop-in for UnifiedQuantum's ``TaskStore`` (seed 002).

``from taskdb.quantum import TaskStore, TaskInfo, TaskStatus`` gives the seed's API on
the quantum model and its Alembic history; see docs/quantum.md.
"""

from __future__ import annotations

from taskdb.quantum.records import TERMINAL_STATUSES, TaskInfo, TaskStatus
from taskdb.quantum.store import (
    APPLICATION_ID,
    CURRENT_SCHEMA_VERSION,
    DB_FILENAME,
    DEFAULT_CACHE_DIR,
    TaskStore,
)

__all__ = [
    "APPLICATION_ID",
    "CURRENT_SCHEMA_VERSION",
    "DB_FILENAME",
    "DEFAULT_CACHE_DIR",
    "TERMINAL_STATUSES",
    "TaskInfo",
    "TaskStatus",
    "TaskStore",
]


def __getattr__(name: str) -> object:
    # The seed's MIGRATIONS list has no meaning here: the schema history is Alembic's.
    if name == "MIGRATIONS":
        raise AttributeError(
            "taskdb.quantum has no MIGRATIONS: the schema history is the Alembic revisions "
            "in taskdb/migrations/quantum (run `taskdb upgrade --store quantum` or "
            "`alembic -n quantum upgrade head`)"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
