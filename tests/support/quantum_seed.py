"""Quantum test data: seed-made files with rows in them, and the seed's read path.

The file layout itself (table, indexes, header, WAL) comes from ``tests/seed_files.py``;
the rows below are what the seed's ``save`` writes for a few telling cases.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from tests.support.seed_files import (
    QUANTUM_APPLICATION_ID,
    QUANTUM_USER_VERSION,
    make_quantum_seed_file,
)

UNIC = QUANTUM_APPLICATION_ID
COLUMNS = (
    "task_id",
    "backend",
    "status",
    "shots",
    "submit_time",
    "update_time",
    "result_json",
    "metadata_json",
)

# Rows as the seed stores them: equal submit_times, NULL result, non-ASCII metadata,
# escaped non-ASCII result, a status outside TaskStatus.
SEED_ROWS: tuple[tuple[Any, ...], ...] = (
    ("t-1", "sim", "success", 1000, "2024-01-01T10:00:00", "2024-01-01T10:05:00",
     '{"counts": {"00": 512, "11": 488}}', "{}"),
    ("t-2", "ibm", "running", 2048, "2024-01-02T09:00:00", "2024-01-02T09:00:01",
     None, '{"note": "量子 ünïcode"}'),
    ("t-3", "sim", "failed", 0, "2024-01-02T09:00:00", "2024-01-02T09:30:00",
     '{"error": "\\u00e9chec"}', '{"retry": 2}'),
    ("t-4", "ibm", "queued", 10, "2024-01-02T09:00:00", "2024-01-02T09:00:00",
     "[1, 2.5, null]", "{}"),
    ("t-5", "sim", "pending", 1, "2023-12-31T23:59:59.999999", "2024-01-01T00:00:00",
     None, "{}"),
)  # fmt: skip


def make_seed_file(path: Path, rows: Iterable[tuple[Any, ...]] = SEED_ROWS) -> None:
    """Create ``path`` the way the seed's first open does, then insert ``rows``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    make_quantum_seed_file(path)
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.executemany(
            f"INSERT INTO tasks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * 8)})",
            list(rows),
        )


def dump(path: Path) -> list[tuple[Any, ...]]:
    """Every row with its rowid and each column's storage class, in rowid order."""
    kinds = ", ".join(f"typeof({name})" for name in COLUMNS)
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(
            f"SELECT rowid, {', '.join(COLUMNS)}, {kinds} FROM tasks ORDER BY rowid"
        ).fetchall()


def header(path: Path) -> tuple[int, int]:
    """(application_id, user_version) as the seed reads them."""
    with closing(sqlite3.connect(path)) as connection:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        user_version = connection.execute("PRAGMA user_version").fetchone()[0]
    return int(application_id), int(user_version)


# The seed's save(): its parameters and its upsert, as uniqc.task.store writes them.
SEED_UPSERT = (
    "INSERT INTO tasks (task_id, backend, status, shots, submit_time, update_time,"
    " result_json, metadata_json) VALUES (:task_id, :backend, :status, :shots, :submit_time,"
    " :update_time, :result_json, :metadata_json) ON CONFLICT(task_id) DO UPDATE SET"
    " backend = excluded.backend, status = excluded.status, shots = excluded.shots,"
    " update_time = excluded.update_time, result_json = excluded.result_json,"
    " metadata_json = excluded.metadata_json"
)


def seed_params(
    task_id: Any,
    backend: Any,
    status: Any = "pending",
    result: Any = None,
    shots: Any = 1000,
    submit_time: Any = None,
    metadata: Any = None,
) -> dict[str, Any]:
    """What the seed's save() binds for a TaskInfo with these fields (its dataclass checked none).

    Status: an enum's value, else ``str()`` of it. Shots: ``int()`` of it. Result: JSON
    unless None. Metadata: JSON of ``metadata or {}`` keeping non-ASCII. SQLite's column
    affinity then does the rest (a TEXT column stores 123 as '123').
    """
    now = datetime.now().isoformat()
    return {
        "task_id": task_id,
        "backend": backend,
        "status": status.value if isinstance(status, Enum) else str(status),
        "shots": int(shots),
        "submit_time": now if submit_time is None else submit_time,
        "update_time": now,
        "result_json": json.dumps(result) if result is not None else None,
        "metadata_json": json.dumps(metadata or {}, ensure_ascii=False),
    }


def seed_save(path: Path, tasks: Iterable[dict[str, Any]]) -> None:
    """Save each task (``seed_params`` keyword arguments) as the seed's TaskStore.save does."""
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
        for task in tasks:
            with connection:
                connection.execute(SEED_UPSERT, seed_params(**task))


class SeedReader:
    """The seed's open checks and read queries, on a raw sqlite3 connection."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path)
        self.connection.row_factory = sqlite3.Row
        application_id, user_version = header(path)
        # The seed refuses a foreign tag and migrates anything below its schema version.
        if application_id not in (0, UNIC):
            raise RuntimeError(f"foreign application_id 0x{application_id:08x}")
        if user_version < QUANTUM_USER_VERSION:
            raise AssertionError(f"the seed would re-run its migrations (v{user_version})")

    def list(self, status: str | None = None, limit: int | None = None) -> list[str]:
        sql, params = "SELECT * FROM tasks", []
        if status is not None:
            sql, params = sql + " WHERE status = ?", [status]
        sql += " ORDER BY submit_time DESC, rowid DESC"
        if limit is not None:
            sql, params = sql + " LIMIT ?", [*params, limit]
        return [row["task_id"] for row in self.connection.execute(sql, params)]

    def get(self, task_id: str) -> dict[str, Any] | None:
        row = self.connection.execute("SELECT * FROM tasks WHERE task_id = ?", (task_id,))
        found = row.fetchone()
        return dict(found) if found is not None else None

    def count(self) -> int:
        return int(self.connection.execute("SELECT COUNT(*) AS c FROM tasks").fetchone()["c"])

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> SeedReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
