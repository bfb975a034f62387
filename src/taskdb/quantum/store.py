"""``TaskStore``: the seed's task cache on the quantum model, on SQLite, PostgreSQL or MariaDB.

The store keeps one pooled engine for its life (no connect per call). A SQLite file
is created, upgraded or adopted through the quantum Alembic history on open; a server
database must already be at head (``taskdb upgrade --store quantum``).
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import os
import threading
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from taskdb.backends import backend_for
from taskdb.engine import database_file, public_url, single_statement_reader
from taskdb.errors import InvalidEntry, translated
from taskdb.lifecycle.lock import lock_file_for
from taskdb.lifecycle.open import open_engine
from taskdb.quantum.models import QuantumBase
from taskdb.quantum.records import (
    TERMINAL_STATUSES,
    TaskInfo,
    check_key,
    check_limit,
    from_row,
    normalize_status,
    normalize_statuses,
    to_row,
)
from taskdb.spec import QUANTUM

DEFAULT_CACHE_DIR: Path = QUANTUM.default_path().parent
DB_FILENAME: str = "tasks.sqlite"
# The seed's "UNIC" header tag, stamped on every SQLite file and checked on every open.
APPLICATION_ID: int = QUANTUM.application_id
# The seed's schema version in the SQLite header; taskdb's own revision is in its version table.
CURRENT_SCHEMA_VERSION: int = 1

_IMPORTED_DEFAULT_CACHE_DIR = DEFAULT_CACHE_DIR

TASKS: sa.Table = QuantumBase.metadata.tables["tasks"]
_COLUMNS = tuple(TASKS.c)
# Kept as the first save set it, as the seed's ON CONFLICT clause does.
_KEPT_ON_UPDATE = frozenset({"task_id", "submit_time"})


def default_cache_dir() -> Path:
    """``~/.uniqc/cache``, read when a store opens so a changed HOME is honoured."""
    # A caller who reassigned DEFAULT_CACHE_DIR (as the seed's tests do) wins.
    if DEFAULT_CACHE_DIR is not _IMPORTED_DEFAULT_CACHE_DIR:
        return DEFAULT_CACHE_DIR
    return QUANTUM.default_path().parent


# Statements are built once and reused, so SQLAlchemy keeps their compiled form.
_GET = sa.select(*_COLUMNS).where(TASKS.c.task_id == sa.bindparam("task_id"))


def _where(filters: tuple[str, ...]) -> list[sa.ColumnElement[bool]]:
    return [TASKS.c[name] == sa.bindparam(name) for name in filters]


@functools.cache
def _list_query(tiebreak: str, filters: tuple[str, ...], limited: bool) -> sa.Select[Any]:
    query = (
        sa.select(*_COLUMNS)
        .where(*_where(filters))
        .order_by(TASKS.c.submit_time.desc(), sa.column(tiebreak).desc())
    )
    return query.limit(sa.bindparam("limit", type_=sa.Integer)) if limited else query


@functools.cache
def _count_query(filters: tuple[str, ...]) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(TASKS).where(*_where(filters))


def _upsert(engine: Engine) -> sa.Executable:
    """The seed's save: insert, or update everything but the key and the first submit_time."""
    changed = [column.name for column in _COLUMNS if column.name not in _KEPT_ON_UPDATE]
    return backend_for(engine).upsert(TASKS, ("task_id",), changed)


class TaskStore:
    """Storage for task records, a drop-in for the seed's ``TaskStore``.

    Args:
        cache_dir: Directory that holds ``tasks.sqlite`` (created if missing).
            Defaults to ``~/.uniqc/cache``.
        url: A database URL instead (``postgresql+psycopg://...``,
            ``mysql+pymysql://...``, or ``sqlite:///...``). Without ``cache_dir`` and
            ``url``, ``TASKDB_QUANTUM_URL`` is used when set.

    Raises:
        ForeignDatabase: (a ``RuntimeError``) the file belongs to another application.
        DatabaseBehind: a server database is not at the current revision.
    """

    def __init__(self, cache_dir: Path | str | None = None, *, url: str | None = None) -> None:
        with translated("opening the quantum task store"):
            if url and cache_dir:
                raise InvalidEntry("give TaskStore either cache_dir or url, not both")
            if not url and not cache_dir:
                url = os.environ.get(QUANTUM.url_env) or None
            self.cache_dir: Path | None
            self.db_path: Path | None
            if url:
                self.db_path = database_file(url)
                self.cache_dir = self.db_path.parent if self.db_path is not None else None
                self._url = url
            else:
                self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                self.db_path = self.cache_dir / DB_FILENAME
                self._url = f"sqlite:///{self.db_path.absolute()}"
            self._lock = threading.RLock()
            self._engine: Engine | None = None
            self._reader: Engine | None = None
            self._upsert: sa.Executable | None = None
            self._identity: tuple[int, int] | None = None
            # Open now, as the seed does, so a foreign file is refused at construction.
            self._writer()

    # -- engine -------------------------------------------------------------

    def _open(self) -> tuple[Engine, sa.Executable]:
        """The engine and its upsert, taken together so a concurrent clear_all cannot split them.

        A file replaced or removed behind the store's back (another store's clear_all)
        is noticed here and opened afresh, instead of writing to the deleted file.
        """
        with self._lock:
            if self._engine is not None and self._file_changed():
                self.close()
            if self._engine is None or self._upsert is None:
                engine = open_engine(QUANTUM, self._url)
                self._upsert = _upsert(engine)
                self._reader = single_statement_reader(engine)
                self._engine = engine
                self._identity = self._file_identity()
            return self._engine, self._upsert

    def _file_identity(self) -> tuple[int, int] | None:
        if self.db_path is None:
            return None
        try:
            found = os.stat(self.db_path)
        except FileNotFoundError:
            return None
        return found.st_dev, found.st_ino

    def _file_changed(self) -> bool:
        return self.db_path is not None and self._file_identity() != self._identity

    def _writer(self) -> Engine:
        return self._open()[0]

    def _read_engine(self) -> Engine:
        with self._lock:
            self._open()
            assert self._reader is not None
            return self._reader

    @property
    def engine(self) -> Engine:
        """The store's pooled engine, opening the database if a clear_all closed it."""
        with translated("opening the quantum task store"):
            return self._writer()

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return public_url(self._url)

    def close(self) -> None:
        """Release the pooled connections; a later call opens them again."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine = self._reader = self._upsert = None

    def __enter__(self) -> TaskStore:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TaskStore(url={self.url!r})"

    # -- CRUD ---------------------------------------------------------------

    def save(self, task_info: TaskInfo) -> None:
        """Insert or update a task by ``task_id``; stamps ``update_time`` on ``task_info`` too.

        ``submit_time`` keeps the value of the first save. Nothing is written, and the
        object is left alone, when a field cannot be stored (``InvalidEntry``).
        """
        with translated("saving a task"):
            now = datetime.now().isoformat()
            row = to_row(task_info, now)
            engine, upsert = self._open()
            with engine.begin() as connection:
                connection.execute(upsert, row)
            task_info.update_time = now

    def get(self, task_id: str) -> TaskInfo | None:
        """The task with this id, or None."""
        with translated("reading a task"):
            if not isinstance(task_id, str):
                raise InvalidEntry(f"task_id must be a string, got {task_id!r}")
            with self._read_engine().connect() as connection:
                row = connection.execute(_GET, {"task_id": task_id}).mappings().first()
            return from_row(row) if row is not None else None

    def list(
        self,
        *,
        status: str | None = None,
        backend: str | None = None,
        limit: int | None = None,
    ) -> builtins.list[TaskInfo]:
        """Tasks newest first by ``submit_time``, ties in insertion order (newest first)."""
        with translated("listing tasks"):
            values = self._filter_values(status, backend)
            checked_limit = check_limit(limit)
            reader = self._read_engine()
            order = backend_for(reader).insertion_order
            query = _list_query(order, tuple(values), checked_limit is not None)
            if checked_limit is not None:
                values["limit"] = checked_limit
            with reader.connect() as connection:
                return [from_row(row) for row in connection.execute(query, values).mappings()]

    def count(self, *, status: str | None = None, backend: str | None = None) -> int:
        """How many tasks match the filters."""
        with translated("counting tasks"):
            values = self._filter_values(status, backend)
            with self._read_engine().connect() as connection:
                return int(connection.execute(_count_query(tuple(values)), values).scalar_one())

    @staticmethod
    def _filter_values(status: object, backend: object) -> dict[str, object]:
        values: dict[str, object] = {}
        if status is not None:
            values["status"] = normalize_status(status)
        if backend is not None:
            values["backend"] = check_key(backend, "backend")
        return values

    def delete(self, task_id: str) -> bool:
        """Remove one task; True if it existed."""
        with translated("deleting a task"):
            if not isinstance(task_id, str):
                raise InvalidEntry(f"task_id must be a string, got {task_id!r}")
            with self._writer().begin() as connection:
                result = connection.execute(TASKS.delete().where(TASKS.c.task_id == task_id))
            return result.rowcount > 0

    def clear_completed(self, terminal_statuses: tuple[str, ...] = TERMINAL_STATUSES) -> int:
        """Delete tasks whose status is one of ``terminal_statuses``; how many went."""
        with translated("clearing completed tasks"):
            statuses = normalize_statuses(terminal_statuses, "terminal_statuses")
            with self._writer().begin() as connection:
                result = connection.execute(TASKS.delete().where(TASKS.c.status.in_(statuses)))
            return int(result.rowcount)

    def clear_all(self) -> None:
        """Remove every task: a SQLite file goes with its -wal / -shm siblings.

        The next call creates a fresh database through the migrations. A server
        database (or an in-memory one) keeps its schema and loses its rows.
        """
        with self._lock, translated("clearing all tasks"):
            if self.db_path is None:
                with self._writer().begin() as connection:
                    connection.execute(TASKS.delete())
                return
            self.close()
            database = self.db_path
            for path in (
                database,
                database.with_name(database.name + "-wal"),
                database.with_name(database.name + "-shm"),
                lock_file_for(database),
            ):
                # As the seed: a file that cannot be removed is left, not an error.
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)


__all__ = [
    "APPLICATION_ID",
    "CURRENT_SCHEMA_VERSION",
    "DB_FILENAME",
    "DEFAULT_CACHE_DIR",
    "TaskStore",
]
