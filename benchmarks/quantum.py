"""Quantum store workloads: TaskStore against the raw driver, and against the seed's way."""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from benchmarks.backends import CoreFloor, Raw
from benchmarks.timing import Side, Workload
from taskdb.quantum import TaskInfo, TaskStatus, TaskStore
from taskdb.quantum.models import QuantumBase

TASKS = QuantumBase.metadata.tables["tasks"]
COLUMNS = tuple(column.name for column in TASKS.columns)
SELECT = f"SELECT {', '.join(COLUMNS)} FROM tasks"
INSERT = f"INSERT INTO tasks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_CHANGED = [name for name in COLUMNS if name not in ("task_id", "submit_time")]
PRELOADED = 10_000
BACKENDS = 20
LIST_LIMIT = 50
TERMINAL = ("success", "failed", "cancelled")
CLEARED_PER_CALL = 10


def upsert(dialect: str) -> str:
    """The statement TaskStore.save emits on this engine (and the seed's, on SQLite)."""
    if dialect == "mysql":
        changes = ", ".join(f"{name} = VALUES({name})" for name in _CHANGED)
        return f"{INSERT} ON DUPLICATE KEY UPDATE {changes}"
    changes = ", ".join(f"{name} = excluded.{name}" for name in _CHANGED)
    return f"{INSERT} ON CONFLICT (task_id) DO UPDATE SET {changes}"


def params(info: TaskInfo, now: str) -> tuple[Any, ...]:
    """What the seed's save() binds: the status's value, result and metadata as JSON."""
    status = info.status.value if isinstance(info.status, TaskStatus) else str(info.status)
    result = json.dumps(info.result) if info.result is not None else None
    metadata = json.dumps(info.metadata or {}, ensure_ascii=False)
    return (info.task_id, info.backend, status, info.shots, info.submit_time, now, result, metadata)


def _row(number: int, status: str, prefix: str = "pre") -> tuple[Any, ...]:
    submit = f"2024-01-01T{number // 3600 % 24:02d}:{number // 60 % 60:02d}:{number % 60:02d}"
    metadata = json.dumps({"circuit": f"c{number}", "qubits": number % 20})
    return (
        f"{prefix}-{number}",
        f"backend-{number % BACKENDS}",
        status,
        1000,
        submit,
        submit,
        None,
        metadata,
    )


def preload(raw: Raw) -> None:
    """10,000 tasks, pending or running (clear_completed deletes only what each call adds)."""
    rows = [_row(n, "running" if n % 4 else "pending") for n in range(PRELOADED)]
    statement = raw.sql(INSERT)
    raw.write(lambda cursor: cursor.executemany(statement, rows))
    if raw.dialect == "postgresql":
        raw.write(lambda cursor: cursor.execute("ANALYZE tasks"))


def _infos(prefix: str) -> Callable[[], TaskInfo]:
    counter = itertools.count()

    def make() -> TaskInfo:
        number = next(counter)
        return TaskInfo(
            task_id=f"{prefix}-{number}",
            backend=f"backend-{number % BACKENDS}",
            status=TaskStatus.RUNNING,
            metadata={"circuit": f"c{number}", "qubits": number % 20},
        )

    return make


def _existing() -> Callable[[], TaskInfo]:
    numbers = itertools.cycle(range(0, PRELOADED, 7))

    def make() -> TaskInfo:
        number = next(numbers)
        return TaskInfo(
            task_id=f"pre-{number}",
            backend=f"backend-{number % BACKENDS}",
            status=TaskStatus.RUNNING,
            result={"counts": {"00": 500, "11": 500}},
            metadata={"circuit": f"c{number}"},
        )

    return make


class _Queue:
    """Objects made before an operation (untimed) and handed to it."""

    def __init__(self, make: Callable[[], TaskInfo]) -> None:
        self._make = make
        self._ready: list[TaskInfo] = []

    def prepare(self) -> None:
        self._ready.append(self._make())

    def take(self) -> TaskInfo:
        return self._ready.pop()


def _now() -> str:
    from datetime import datetime

    return datetime.now().isoformat()


def raw_workloads(store: TaskStore, raw: Raw, floor: CoreFloor) -> list[Workload]:
    save = raw.sql(upsert(raw.dialect))
    tiebreak = "rowid" if raw.dialect == "sqlite" else "insert_seq"
    listing = f"{SELECT} WHERE backend = ? ORDER BY submit_time DESC, {tiebreak} DESC LIMIT ?"
    new_mine, new_theirs = _Queue(_infos("t-new")), _Queue(_infos("r-new"))
    old_mine, old_theirs = _Queue(_existing()), _Queue(_existing())
    ids = itertools.cycle(range(0, PRELOADED, 3))
    backends = itertools.cycle(range(BACKENDS))
    cleared = itertools.count()
    insert = raw.sql(INSERT)

    def raw_save(queue: _Queue) -> None:
        row = params(queue.take(), _now())
        raw.write(lambda cursor: cursor.execute(save, row))

    def add_terminal() -> None:
        base = next(cleared) * CLEARED_PER_CALL
        rows = [_row(base + n, TERMINAL[n % 3], prefix="done") for n in range(CLEARED_PER_CALL)]
        raw.write(lambda cursor: cursor.executemany(insert, rows))

    delete = raw.sql("DELETE FROM tasks WHERE status IN (?, ?, ?)")
    return [
        Workload(
            "quantum save (insert)",
            "write",
            Side(lambda: store.save(new_mine.take()), new_mine.prepare),
            Side(lambda: raw_save(new_theirs), new_theirs.prepare),
        ),
        Workload(
            "quantum save (update)",
            "write",
            Side(lambda: store.save(old_mine.take()), old_mine.prepare),
            Side(lambda: raw_save(old_theirs), old_theirs.prepare),
        ),
        Workload(
            "quantum get",
            "get",
            Side(lambda: store.get(f"pre-{next(ids)}")),
            Side(lambda: raw.query(f"{SELECT} WHERE task_id = ?", (f"pre-{next(ids)}",))),
            floor=floor.rows(
                sa.select(*TASKS.c).where(TASKS.c.task_id == sa.bindparam("task_id")),
                lambda: {"task_id": f"pre-{next(ids)}"},
            ),
        ),
        Workload(
            f"quantum list (backend, limit {LIST_LIMIT})",
            "finder",
            Side(lambda: store.list(backend=f"backend-{next(backends)}", limit=LIST_LIMIT)),
            Side(lambda: raw.query(listing, (f"backend-{next(backends)}", LIST_LIMIT))),
            ops=10,
        ),
        Workload(
            "quantum count (status)",
            "get",
            Side(lambda: store.count(status="pending")),
            Side(lambda: raw.query("SELECT count(*) FROM tasks WHERE status = ?", ("pending",))),
            ops=10,
            floor=floor.rows(
                sa.select(sa.func.count())
                .select_from(TASKS)
                .where(TASKS.c.status == sa.bindparam("status")),
                lambda: {"status": "pending"},
            ),
        ),
        Workload(
            f"quantum clear_completed ({CLEARED_PER_CALL} rows)",
            "write",
            Side(store.clear_completed, add_terminal),
            Side(lambda: raw.write(lambda cursor: cursor.execute(delete, TERMINAL)), add_terminal),
        ),
    ]


class SeedStyleStore:
    """The seed's way: a new sqlite3 connection per operation, its pragmas, its statements."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.RLock()
        self._save = upsert("sqlite")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    def save(self, info: TaskInfo) -> None:
        now = _now()
        info.update_time = now
        row = params(info, now)
        with self._lock:
            connection = self._connect()
            try:
                connection.execute(self._save, row)
                connection.commit()
            finally:
                connection.close()

    def _read(self, statement: str, parameters: tuple[Any, ...]) -> list[sqlite3.Row]:
        with self._lock:
            connection = self._connect()
            try:
                return connection.execute(statement, parameters).fetchall()
            finally:
                connection.close()

    @staticmethod
    def _info(row: sqlite3.Row) -> TaskInfo:
        return TaskInfo(
            task_id=row["task_id"],
            backend=row["backend"],
            status=row["status"],
            shots=int(row["shots"]),
            submit_time=row["submit_time"],
            update_time=row["update_time"],
            result=json.loads(row["result_json"]) if row["result_json"] else None,
            metadata=json.loads(row["metadata_json"]) if row["metadata_json"] else {},
        )

    def get(self, task_id: str) -> TaskInfo | None:
        rows = self._read(f"{SELECT} WHERE task_id = ?", (task_id,))
        return self._info(rows[0]) if rows else None

    def list(self, backend: str, limit: int) -> list[TaskInfo]:
        statement = f"{SELECT} WHERE backend = ? ORDER BY submit_time DESC, rowid DESC LIMIT ?"
        return [self._info(row) for row in self._read(statement, (backend, limit))]

    def count(self, status: str) -> int:
        statement = "SELECT COUNT(*) FROM tasks WHERE status = ?"
        return int(self._read(statement, (status,))[0][0])


def seed_workloads(store: TaskStore, seed: SeedStyleStore) -> list[Workload]:
    """taskdb's pooled store against a connect-per-operation store on its own file."""
    new_mine, new_theirs = _Queue(_infos("t-seed")), _Queue(_infos("s-seed"))
    old_mine, old_theirs = _Queue(_existing()), _Queue(_existing())
    ids = itertools.cycle(range(1, PRELOADED, 3))
    backends = itertools.cycle(range(BACKENDS))
    note = "baseline: the seed's connect-per-operation store (own file, same rows)"
    return [
        Workload(
            "quantum save (insert) vs seed",
            "seed",
            Side(lambda: store.save(new_mine.take()), new_mine.prepare),
            Side(lambda: seed.save(new_theirs.take()), new_theirs.prepare),
            note=note,
        ),
        Workload(
            "quantum save (update) vs seed",
            "seed",
            Side(lambda: store.save(old_mine.take()), old_mine.prepare),
            Side(lambda: seed.save(old_theirs.take()), old_theirs.prepare),
            note=note,
        ),
        Workload(
            "quantum get vs seed",
            "seed",
            Side(lambda: store.get(f"pre-{next(ids)}")),
            Side(lambda: seed.get(f"pre-{next(ids)}")),
            note=note,
        ),
        Workload(
            f"quantum list (backend, limit {LIST_LIMIT}) vs seed",
            "seed",
            Side(lambda: store.list(backend=f"backend-{next(backends)}", limit=LIST_LIMIT)),
            Side(lambda: seed.list(f"backend-{next(backends)}", LIST_LIMIT)),
            ops=10,
            note=note,
        ),
        Workload(
            "quantum count (status) vs seed",
            "seed",
            Side(lambda: store.count(status="pending")),
            Side(lambda: seed.count("pending")),
            ops=10,
            note=note,
        ),
    ]
