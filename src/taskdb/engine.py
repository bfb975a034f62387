"""Engine factory: per-family options, per-connection SQLite settings, the application_id guard."""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Dialect
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from taskdb import checkpoints
from taskdb.backends import READ_ONLY, UNBOUNDED_OVERFLOW, Backend, backend_for, parse_url
from taskdb.errors import DatabaseError, ForeignDatabase, InvalidEntry, InvalidType
from taskdb.files import prepare_sqlite_file, refuse_foreign_tag
from taskdb.spec import StoreSpec

BUSY_TIMEOUT_MS = 30_000
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024

# The store each engine made here was made for, by its dialect: shared with the engine's
# execution_options() copies and kept across dispose(), which replaces the pool.
_MADE_FOR: weakref.WeakKeyDictionary[Dialect, StoreSpec] = weakref.WeakKeyDictionary()
# SQLite file engines whose pool has no upper bound (taskdb's sizing, not the caller's).
_GROWING_POOL: weakref.WeakSet[Dialect] = weakref.WeakSet()


@dataclass(frozen=True)
class Database:
    """A store's database, resolved once: its engine and the facts the lifecycle asks about."""

    spec: StoreSpec
    engine: Engine
    backend: Backend
    # The SQLite file; None for an in-memory database or a server.
    file: Path | None
    # For messages and logs: the password hidden.
    url: str

    @classmethod
    def of(cls, engine: Engine, spec: StoreSpec) -> Database:
        backend = backend_for(engine)
        file = _file_of(engine.url, backend)
        return cls(spec, engine, backend, file, engine.url.render_as_string(hide_password=True))

    @classmethod
    def given(cls, engine: object, spec: StoreSpec) -> Database:
        """A caller's engine: a server's is used as it is; an embedded one only if taskdb made it.

        An embedded engine needs the per-connection settings and ``BEGIN IMMEDIATE`` that
        only an engine made by :func:`create_engine` for the same store has; adding them
        to someone else's engine would miss the connections already in its pool.
        """
        if not isinstance(engine, Engine):
            raise InvalidType(f"engine= takes a sqlalchemy.Engine, not {type(engine).__name__}")
        backend = backend_for(engine)
        if backend.embedded:
            made_for = _MADE_FOR.get(engine.dialect)
            if made_for is None:
                raise InvalidEntry(
                    f"the {spec.name} store cannot use a SQLite engine taskdb did not make "
                    "(it lacks the pragmas and BEGIN IMMEDIATE every connection needs): give "
                    "url= with engine_options= instead, or make the engine with "
                    f"taskdb.engine.create_engine(url, taskdb.spec.{spec.name.upper()}, ...)"
                )
            if made_for != spec:
                raise InvalidEntry(
                    f"this SQLite engine was made for the {made_for.name} store, "
                    f"not the {spec.name} store"
                )
        return cls.of(engine, spec)


def connect_database(
    url: str | URL, spec: StoreSpec, *, durability: object = "normal", **options: Any
) -> Database:
    """Resolve ``url`` once (engine family, file) and create the store's engine for it.

    ``options`` are keyword arguments of ``sqlalchemy.create_engine``, laid over taskdb's
    own for the engine family (:meth:`Backend.engine_options`); ``connect_args`` are
    merged key by key, so a caller's connect arguments replace only the keys they name.
    ``durability`` is SQLite's: ``"normal"`` or ``"full"`` (see :data:`DURABILITY`).
    """
    synchronous = sqlite_synchronous(durability)
    parsed = parse_url(url)
    backend = backend_for(parsed)
    file = _file_of(parsed, backend)
    if file is not None and parsed.database != str(file) and not _is_uri(parsed):
        parsed = parsed.set(database=str(file))  # the driver opens what taskdb checked: ~ expanded
    public = parsed.render_as_string(hide_password=True)
    arguments = merge_engine_options(backend.engine_options(parsed), options)
    try:
        engine = sa_create_engine(parsed, **arguments)
    except (ImportError, sa_exc.NoSuchModuleError) as error:
        raise DatabaseError(
            f"no usable driver for {parsed.drivername} ({error}); taskdb supports "
            "sqlite://, postgresql+psycopg:// (pip install 'taskdb[postgresql]') and "
            "mysql+pymysql:// (pip install 'taskdb[mysql]')"
        ) from error
    except (TypeError, sa_exc.ArgumentError) as error:
        kind = InvalidType if isinstance(error, TypeError) else InvalidEntry
        raise kind(
            f"engine options not accepted for {parsed.drivername} ({error}); they are "
            "keyword arguments of sqlalchemy.create_engine"
        ) from error
    except ValueError as error:  # the dialect reads the URL's query: ?connect_timeout=abc
        raise InvalidEntry(f"the URL's query is not accepted for {public} ({error})") from error
    _install_events(engine, backend, spec, file, str(file or public), synchronous)
    _MADE_FOR[engine.dialect] = spec
    if file is not None and _pool_grows(arguments):
        _GROWING_POOL.add(engine.dialect)
    return Database(spec, engine, backend, file, public)


def engine_options_of(given: object) -> dict[str, Any]:
    """A caller's engine options as keyword arguments, or InvalidType."""
    if given is None:
        return {}
    if not isinstance(given, Mapping) or not all(isinstance(key, str) for key in given):
        raise InvalidType(
            f"engine_options is a dict of sqlalchemy.create_engine keyword arguments, not {given!r}"
        )
    return dict(given)


_QUEUE_POOL_SIZING = frozenset({"pool_size", "max_overflow", "pool_timeout"})


def merge_engine_options(ours: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` over ``ours``; their ``connect_args`` merged key by key."""
    connect_args = given.get("connect_args") or {}
    if not isinstance(connect_args, Mapping):
        raise InvalidEntry(
            f"connect_args in the engine options is a dict of driver connect arguments, "
            f"not {type(connect_args).__name__}"
        )
    if "poolclass" in given or "pool" in given:
        # Pool sizing is QueuePool's: another pool the caller chose would refuse it.
        ours = {name: value for name, value in ours.items() if name not in _QUEUE_POOL_SIZING}
    merged = {**ours, **given}
    merged["connect_args"] = {**ours.get("connect_args", {}), **connect_args}
    return merged


def create_engine(
    url: str | URL, spec: StoreSpec, *, durability: object = "normal", **options: Any
) -> Engine:
    """Create an engine for one store, with the settings taskdb relies on for its engine.

    ``options`` and ``durability`` as for :func:`connect_database`. The stores accept
    such an engine as ``engine=`` (the only kind of SQLite engine they accept).
    """
    return connect_database(url, spec, durability=durability, **options).engine


Durability = Literal["normal", "full"]
# What each durability setting makes SQLite do on commit, in WAL mode.
DURABILITY: dict[str, str] = {
    # Safe against the application crashing; a power loss may undo the last commits.
    "normal": "NORMAL",
    # Also safe against power loss and OS crashes: every commit waits for an fsync.
    "full": "FULL",
}


def sqlite_synchronous(durability: object) -> str:
    """The ``PRAGMA synchronous`` value of a durability setting, or InvalidEntry."""
    if not isinstance(durability, str):
        raise InvalidType(f"durability is 'normal' or 'full', got {durability!r}")
    try:
        return DURABILITY[durability]
    except KeyError:
        raise InvalidEntry(f"durability is 'normal' or 'full', got {durability!r}") from None


def database_file(source: str | Engine) -> Path | None:
    """The file behind an embedded database's URL or engine; None for memory or a server."""
    url = source.url if isinstance(source, Engine) else parse_url(source)
    return _file_of(url, backend_for(url))


def _file_of(url: URL, backend: Backend) -> Path | None:
    if not backend.embedded or url.database in (None, "", ":memory:"):
        return None
    name = url.database
    if "\x00" in name:
        raise InvalidEntry(f"{name!r}: a file name cannot hold a NUL character")
    if _is_uri(url):
        return _file_of_uri(name, url.query.get("mode"))
    return Path(name).expanduser()


def _is_uri(url: URL) -> bool:
    return str(url.query.get("uri", "")).lower() in ("true", "1")


def _file_of_uri(name: str, mode: object) -> Path | None:
    """The file a SQLite ``file:`` URI names (``sqlite:///file:path?mode=ro&uri=true``).

    ``mode``: the URL's own ``mode``, which SQLAlchemy hands on inside the URI.
    """
    parts = urlsplit(name)
    if parts.scheme != "file":
        return Path(name)  # SQLite reads a name without file: as a plain file name
    path = unquote(parts.path)
    if "memory" in (mode, *parse_qs(parts.query).get("mode", ())) or path in ("", ":memory:"):
        return None
    return Path(path)


def public_url(source: str | Engine) -> str:
    """A URL fit for messages and logs: the password hidden."""
    url = source.url if isinstance(source, Engine) else parse_url(source)
    return url.render_as_string(hide_password=True)


def _pool_grows(arguments: Mapping[str, Any]) -> bool:
    chosen = "poolclass" in arguments or "pool" in arguments
    return not chosen and arguments.get("max_overflow") == UNBOUNDED_OVERFLOW


def holds_reads(engine: Engine) -> bool:
    """Whether each thread may hold a read connection: a SQLite file whose pool grows."""
    return engine.dialect in _GROWING_POOL


def single_statement_reader(engine: Engine) -> Engine:
    """The engine for calls that read with one statement: no write lock, no extra round trips."""
    return engine.execution_options(**backend_for(engine).read_options())


# What drivers raise, before any connection, for an argument they cannot use
# (PyMySQL: ?charset=bogus, ?connect_timeout=abc, ?ssl_ca=/missing).
_REFUSED_ARGUMENTS = (ValueError, TypeError, AttributeError, LookupError, FileNotFoundError)


def _install_events(
    engine: Engine,
    backend: Backend,
    spec: StoreSpec,
    file: Path | None,
    where: str,
    synchronous: str,
) -> None:
    """The listeners every engine taskdb makes carries: how to connect, SQLite's settings."""

    @event.listens_for(engine, "do_connect")
    def _connect(
        dialect: Dialect,
        _record: ConnectionPoolEntry,
        cargs: list[Any],
        cparams: dict[str, Any],
    ) -> DBAPIConnection:
        if file is not None:
            prepare_sqlite_file(file, spec)
        try:
            return backend.connect(dialect, cargs, cparams)
        except _REFUSED_ARGUMENTS as error:
            raise InvalidEntry(
                f"the {dialect.driver} driver refused the connection arguments for {where} "
                f"(the URL's query or connect_args): {type(error).__name__}: {error}"
            ) from error

    if not backend.embedded:
        return

    # On a SQLite with the WAL-reset bug, checkpoints no commit can race (taskdb.checkpoints).
    guarded = checkpoints.Checkpoints() if checkpoints.AFFECTED else None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        configure_sqlite_connection(dbapi_connection, spec, where, synchronous)
        if guarded is not None:
            dbapi_connection.execute("PRAGMA wal_autocheckpoint = 0")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY, False):
            return  # reads run in autocommit: each SELECT is its own consistent snapshot
        # A writer takes the write lock up front, so it never fails upgrading a read lock.
        # Sent on the driver's connection: this runs on every write, SQLAlchemy adds nothing.
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        if guarded is not None:
            guarded.before_write(driver)
        try:
            driver.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise sa_exc.OperationalError("BEGIN IMMEDIATE", None, error) from error


def configure_sqlite_connection(
    connection: sqlite3.Connection, spec: StoreSpec, where: str, synchronous: str = "NORMAL"
) -> None:
    """Check the file's tag, then apply the settings every taskdb connection needs."""
    cursor = connection.cursor()
    try:
        # Wait for a competing writer instead of failing at once with "database is locked".
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        found = check_application_id(cursor, spec, where)
        if found == spec.application_id or _is_empty(cursor):
            # Readers and the writer no longer block each other; commits append to a log.
            # (An untagged file with content is left as it is until it has been adopted.)
            enable_wal(connection)
        # NORMAL: with WAL still safe against application crashes, and skips most fsyncs;
        # FULL also survives a power loss (an fsync per commit), as the seed's journal did.
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        # A busy file's WAL can grow by tens of MiB between checkpoints; SQLite keeps that
        # size forever unless told to truncate it back after a checkpoint.
        cursor.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}")
        # SQLite leaves foreign keys unenforced per connection unless asked (the seed forgot).
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def enable_wal(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA journal_mode = WAL")


def _is_empty(cursor: sqlite3.Cursor) -> bool:
    return int(cursor.execute("PRAGMA page_count").fetchone()[0]) == 0


def check_application_id(cursor: sqlite3.Cursor, spec: StoreSpec, where: str) -> int:
    """Refuse, before any write, a file that is not SQLite or carries another application's tag."""
    try:
        found = int(cursor.execute("PRAGMA application_id").fetchone()[0])
    except sqlite3.DatabaseError as error:
        if (
            getattr(error, "sqlite_errorcode", sqlite3.SQLITE_NOTADB) & 0xFF
            != sqlite3.SQLITE_NOTADB
        ):
            # A SQLite file that cannot be read here (READONLY, CANTOPEN): not someone else's.
            raise DatabaseError(
                f"cannot read {where} ({error}); a file in WAL mode also needs its folder "
                "writable, for the -shm file beside it"
            ) from error
        raise ForeignDatabase(
            f"{where} is not a SQLite database ({error}); taskdb left it untouched"
        ) from error
    refuse_foreign_tag(found, spec, where)
    return found
