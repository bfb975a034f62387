"""``TaskStore``: the seed's task cache on the quantum model, on SQLite, PostgreSQL or MariaDB.

The store keeps one pooled engine for its life (no connect per call). A SQLite file
is created, upgraded or adopted through the quantum Alembic history on open; a server
database must already be at head (``taskdb upgrade --store quantum``).
"""

from __future__ import annotations

import builtins
import contextlib
import os
import re
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine

from taskdb.backends import backend_for
from taskdb.connections import AutocommitRunner, store_runner
from taskdb.engine import Database, Durability, database_file, public_url
from taskdb.errors import DatabaseError, InvalidEntry, InvalidType, operation, translated
from taskdb.lifecycle.open import open_engine
from taskdb.quantum.records import TERMINAL_STATUSES, TaskInfo, is_storable, to_row
from taskdb.quantum.repository import TaskInfoRepository
from taskdb.spec import QUANTUM

DEFAULT_CACHE_DIR: Path = QUANTUM.default_path().parent
DB_FILENAME: str = "tasks.sqlite"
# The seed's "UNIC" header tag, stamped on every SQLite file and checked on every open.
APPLICATION_ID: int = QUANTUM.application_id
# The seed's schema version in the SQLite header; taskdb's own revision is in its version table.
CURRENT_SCHEMA_VERSION: int = QUANTUM.user_version

_IMPORTED_DEFAULT_CACHE_DIR = DEFAULT_CACHE_DIR


def default_cache_dir() -> Path:
    """``~/.uniqc/cache``, read when a store opens so a changed HOME is honoured."""
    # A caller who reassigned DEFAULT_CACHE_DIR (as the seed's tests do) wins.
    if DEFAULT_CACHE_DIR is not _IMPORTED_DEFAULT_CACHE_DIR:
        return DEFAULT_CACHE_DIR
    return QUANTUM.default_path().parent


class TaskStore:
    """Storage for task records, a drop-in for the seed's ``TaskStore``.

    Args:
        cache_dir: Directory that holds ``tasks.sqlite`` (created if missing).
            Defaults to ``~/.uniqc/cache``.
        url: A database URL instead (``postgresql+psycopg://...``,
            ``mysql+pymysql://...``, or ``sqlite:///...``). Without ``cache_dir``,
            ``url`` and ``engine``, ``TASKDB_QUANTUM_URL`` is used when set.
        engine_options: Keyword arguments of ``sqlalchemy.create_engine`` laid over
            taskdb's own (``connect_args`` merged key by key).
        engine: An existing engine instead of ``cache_dir`` or ``url``: any PostgreSQL
            or MariaDB engine, or a SQLite one made by
            ``taskdb.engine.create_engine(url, QUANTUM)``. The store never disposes it
            (``close()`` leaves it to the caller), and ``clear_all()`` deletes the rows
            instead of removing the file its pool may still hold open.
        upgrade: Bring a PostgreSQL or MariaDB database to head on open, under the
            migration lock, instead of raising ``DatabaseBehind`` (as ``CrowdStore``).
        durability: SQLite's commit guarantee, as ``CrowdStore``'s: ``"normal"`` (the
            default, safe if the application crashes) or ``"full"`` (an fsync per
            commit, also safe against power loss, as the seed's journal was).

    Raises:
        ForeignDatabase: (a ``RuntimeError``) the file belongs to another application.
        DatabaseBehind: a server database is not at the current revision (and
            ``upgrade`` was not asked for).
        InvalidEntry: more than one of ``cache_dir``, ``url`` and ``engine``; bad
            engine options; a ``cache_dir`` holding NUL or a lone surrogate, or
            starting like a database URL (``sqlite:///...``: that goes to ``url``).
        InvalidType: (an ``InvalidEntry`` and a ``TypeError``) an argument of the
            wrong type, such as a ``cache_dir`` that is not a str or path.
        DatabaseError: ``cache_dir`` cannot be created.
    """

    def __init__(
        self,
        cache_dir: Path | str | None = None,
        *,
        url: str | None = None,
        engine_options: Mapping[str, Any] | None = None,
        engine: Engine | None = None,
        upgrade: bool = False,
        durability: Durability = "normal",
    ) -> None:
        self._upgrade = upgrade
        self._durability = durability
        with translated("opening the quantum task store"):
            if url and cache_dir:
                raise InvalidEntry("give TaskStore either cache_dir or url, not both")
            if engine is not None and (url or cache_dir):
                raise InvalidEntry("give TaskStore either an engine or cache_dir / url, not both")
            if not url and not cache_dir and engine is None:
                url = os.environ.get(QUANTUM.url_env) or None
            self.cache_dir: Path | None
            self.db_path: Path | None
            # The caller's engine, which the store uses but never disposes.
            self._given_engine = engine
            self._engine_options = engine_options
            if engine is not None:
                given = Database.given(engine, QUANTUM)
                self.db_path = given.file
                self.cache_dir = self.db_path.parent if self.db_path is not None else None
                self._url = given.url
            elif url:
                self.db_path = database_file(url)
                self.cache_dir = self.db_path.parent if self.db_path is not None else None
                self._url = url
            else:
                self.cache_dir = _cache_dir(cache_dir) if cache_dir else default_cache_dir()
                try:
                    self.cache_dir.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    raise DatabaseError(
                        f"cannot create the cache directory {self.cache_dir}: {error}"
                    ) from error
                self.db_path = self.cache_dir / DB_FILENAME
                self._url = f"sqlite:///{self.db_path.absolute()}"
            self._lock = threading.RLock()
            self._engine: Engine | None = None
            self._runner: AutocommitRunner | None = None
            self._tasks: TaskInfoRepository | None = None
            self._identity: tuple[int, int] | None = None
        # Open now, as the seed does, so a foreign file is refused at construction.
        self._repository()

    # -- engine -------------------------------------------------------------

    def _repository(self) -> TaskInfoRepository:
        """The repository on the store's engine, (re)opening the database when needed.

        A file replaced or removed behind the store's back (another store's clear_all)
        is noticed here and opened afresh, instead of writing to the deleted file.
        """
        with self._lock:
            if self._engine is not None and self._file_changed():
                self.close()
            if self._tasks is None:
                with translated("opening the quantum task store"):
                    engine = open_engine(
                        QUANTUM,
                        None if self._given_engine is not None else self._url,
                        engine_options=self._engine_options,
                        engine=self._given_engine,
                        upgrade=self._upgrade,
                        durability=self._durability,
                    )
                self._runner = store_runner(engine, owned=self._given_engine is None)
                self._tasks = TaskInfoRepository(self._runner, backend_for(engine))
                self._engine = engine
                self._identity = self._file_identity()
            return self._tasks

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

    @property
    def engine(self) -> Engine:
        """The store's pooled engine, opening the database if a clear_all closed it."""
        self._repository()
        assert self._engine is not None
        return self._engine

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return public_url(self._url)

    @operation("closing the quantum task store")
    def close(self) -> None:
        """Release the pooled connections; a later call opens them again.

        A caller's engine (``engine=``) is left as it is: its owner disposes it.
        """
        with self._lock:
            if self._runner is not None:
                self._runner.close()
            if self._engine is not None and self._given_engine is None:
                self._engine.dispose()
            self._engine = self._runner = self._tasks = None

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

    @operation("saving a task")
    def save(self, task_info: TaskInfo) -> None:
        """Insert or update a task by ``task_id``; stamps ``update_time`` on ``task_info`` too.

        ``submit_time`` keeps the value of the first save. Nothing is written, and the
        object is left alone, when a field cannot be stored (``InvalidEntry``, or
        ``InvalidType``, also a ``TypeError``, when it has the wrong type).
        """
        now = datetime.now().isoformat()
        row = to_row(task_info, now)
        self._repository().save(row)
        task_info.update_time = now

    @operation("reading a task")
    def get(self, task_id: str | int) -> TaskInfo | None:
        """The task with this id, or None; an int id means its text, as in the seed."""
        return self._repository().get(task_id)

    @operation("listing tasks")
    def list(
        self,
        *,
        status: str | None = None,
        backend: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> builtins.list[TaskInfo]:
        """Tasks newest first by ``submit_time``, ties in insertion order (newest first).

        A negative ``limit`` means no limit, as SQLite's ``LIMIT -1`` did for the seed.
        ``offset`` skips that many tasks of the order first: ``limit`` and ``offset``
        page through a long list, and ``count`` with the same filters says how far.
        """
        return self._repository().list(status, backend, limit, offset)

    @operation("counting tasks")
    def count(self, *, status: str | None = None, backend: str | None = None) -> int:
        """How many tasks match the filters."""
        return self._repository().count(status, backend)

    @operation("deleting a task")
    def delete(self, task_id: str | int) -> bool:
        """Remove one task; True if it existed. An int id means its text, as in the seed."""
        return self._repository().delete(task_id)

    @operation("clearing tasks")
    def clear_completed(self, terminal_statuses: tuple[str, ...] = TERMINAL_STATUSES) -> int:
        """Delete tasks whose status is one of ``terminal_statuses``; how many went."""
        return self._repository().delete_statuses(terminal_statuses)

    @operation("clearing all tasks")
    def clear_all(self) -> None:
        """Remove every task: a SQLite file goes with its -wal / -shm siblings.

        The next call creates a fresh database through the migrations. A server
        database (or an in-memory one, or any database on a caller's engine) keeps
        its schema and loses its rows.
        """
        with self._lock, translated("clearing all tasks"):
            if self.db_path is None or self._given_engine is not None:
                self._repository().delete_all()
                return
            self.close()
            database = self.db_path
            for path in (
                database,
                database.with_name(database.name + "-wal"),
                database.with_name(database.name + "-shm"),
            ):
                # As the seed: a file that cannot be removed is left, not an error.
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)


_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _cache_dir(value: object) -> Path:
    """A folder name the file system can take: a str or path without NUL or lone surrogates."""
    if not isinstance(value, str | os.PathLike) or isinstance(os.fspath(value), bytes):
        raise InvalidType(f"cache_dir must be a str or a pathlib.Path, got {value!r}")
    scheme = _URL_SCHEME.match(value) if isinstance(value, str) else None
    if scheme is not None:
        # Taken as a folder it would become a directory named "sqlite:" in the working one.
        raise InvalidEntry(
            f"cache_dir is a folder, and this one starts like a database URL "
            f"({scheme.group(0)}...): pass a URL as TaskStore(url=...)"
        )
    path = Path(value)
    text = str(path)
    if not is_storable(text):
        raise InvalidEntry(
            f"cache_dir may not contain NUL characters or lone surrogates, got {value!r}"
        )
    return path


__all__ = [
    "APPLICATION_ID",
    "CURRENT_SCHEMA_VERSION",
    "DB_FILENAME",
    "DEFAULT_CACHE_DIR",
    "TaskStore",
]
