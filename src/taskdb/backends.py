"""Everything that differs per engine family, in one record each.

taskdb runs one code path on SQLite, PostgreSQL and MySQL/MariaDB. Where the
engines genuinely differ (connect arguments and timeouts, how a read runs, the
upsert clause, what orders rows as inserted, the migration lock, sequences, where
table and column names are listed), the difference is a method or attribute of one
:class:`Backend` here; the rest of the library asks :func:`backend_for` and never
tests a dialect name itself.
Revisions keep their own frozen copies of what they need.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Collection, Iterable, Sequence
from typing import Any, ClassVar, Protocol

from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.types import TypeEngine

from taskdb.errors import DatabaseError, InvalidEntry, InvalidType

# Execution option that marks a connection as read-only: SQLite then takes no write lock.
READ_ONLY = "taskdb_read_only"
# QueuePool's max_overflow for "no limit": the SQLite pool of a file taskdb opens.
UNBOUNDED_OVERFLOW = -1
SERVER_POOL_RECYCLE_S = 1_800
LOCK_TIMEOUT_S = 600
# Seconds a server may take to accept a connection and answer its handshake, per address
# tried. Overridden by the URL (``?connect_timeout=3``) or ``connect_args`` in engine options.
CONNECT_TIMEOUT_S = 10
# The connect argument that carries it: libpq (psycopg) and PyMySQL both take seconds.
CONNECT_TIMEOUT = "connect_timeout"

_URL_EXAMPLES = (
    "sqlite:///path/file.sqlite, postgresql+psycopg://user@host/db or mysql+pymysql://user@host/db"
)
# The forms people type for a family taskdb runs, and the URL that works instead.
_HINTS = {
    "postgres": "postgresql+psycopg://",
    "mysql": "mysql+pymysql://",
    "mariadb": "mysql+pymysql://",
}


class StatementWitness(Protocol):
    """A driver connection that tells whether its transaction is open and how many rows
    its finished statements changed: ``sqlite3.Connection`` does."""

    @property
    def in_transaction(self) -> bool: ...

    @property
    def total_changes(self) -> int: ...


class Backend:
    """One engine family. Subclasses override only what their engines do differently."""

    family: ClassVar[str]
    # SQLAlchemy dialect names of the family (mysql+pymysql:// to MariaDB is "mysql").
    dialects: ClassVar[tuple[str, ...]]
    # The DB-API driver taskdb runs and tests this family with, as a URL names it.
    driver: ClassVar[str]
    # What SQLAlchemy picks when a URL names no driver (``postgresql://``).
    default_driver: ClassVar[str]
    # A file beside the application: upgraded and adopted on open, backed up, flock-ed.
    embedded: ClassVar[bool] = False
    # What orders the rows of a text-keyed table as they were inserted.
    insertion_order: ClassVar[str]
    # INSERT ... RETURNING hands ids back in parameter order for a whole executemany.
    returns_ids_in_order: ClassVar[bool] = True
    # After a statement fails, the transaction can still run statements (PostgreSQL aborts it).
    reads_after_a_failed_statement: ClassVar[bool] = True

    def engine_options(self, url: URL) -> dict[str, Any]:
        """Keyword arguments for ``sqlalchemy.create_engine`` beyond ``url``: taskdb's own.

        SQLAlchemy lets ``connect_args`` override the URL's query, so a connect argument
        the URL names is left out here: ``?connect_timeout=3`` wins over the default.
        """
        connect_args = {
            name: value for name, value in self.connect_args().items() if name not in url.query
        }
        return {**self.pool_options(url), "connect_args": connect_args}

    def connect_args(self) -> dict[str, Any]:
        """Driver connect arguments taskdb sets unless the URL or the caller sets them."""
        return {}

    def pool_options(self, _url: URL) -> dict[str, Any]:
        return {}

    def connect(
        self, dialect: Dialect, cargs: Sequence[Any], cparams: dict[str, Any]
    ) -> DBAPIConnection:
        """Open one driver connection with the arguments SQLAlchemy assembled.

        A driver that refuses its arguments (an unknown or ill-typed connect argument)
        raises InvalidEntry, not the driver's TypeError.
        """
        try:
            return dialect.connect(*cargs, **cparams)
        except (TypeError, ValueError) as error:
            raise _refused_arguments(dialect, error) from error

    def read_options(self) -> dict[str, Any]:
        """Execution options for calls that read with one statement."""
        return {READ_ONLY: True}

    def statement_witness(self, _connection: Connection) -> StatementWitness | None:
        """What shows, after a call with one write failed, that it left nothing behind.

        Where there is one, a unit of work runs such a call without a savepoint. None: only
        a savepoint makes sure (PostgreSQL aborts the transaction on a failed statement;
        MySQL may roll the whole transaction back, on a deadlock, without PyMySQL saying).
        """
        return None

    def upsert(self, table: Table, keys: Sequence[str], updated: Sequence[str]) -> Insert:
        """One INSERT that updates ``updated`` when a row with the same ``keys`` exists."""
        statement = sqlite.insert(table)
        return statement.on_conflict_do_update(
            index_elements=[table.c[name] for name in keys],
            set_={name: statement.excluded[name] for name in updated},
        )

    def key_text(self, _dialect: Dialect) -> TypeEngine[Any]:
        """The column type of text that takes part in a key or an index."""
        return Text()

    def acquire_lock(self, connection: Connection, key: str) -> None:
        """Take the server-wide migration lock named ``key`` (servers only)."""
        raise NotImplementedError(f"{self.family} has no server lock")

    def release_lock(self, connection: Connection, key: str) -> None:
        raise NotImplementedError(f"{self.family} has no server lock")

    def continue_sequences(self, connection: Connection, tables: Sequence[Table]) -> None:
        """After rows were copied with explicit ids, make new ids continue after them."""
        # SQLite's AUTOINCREMENT and MySQL's AUTO_INCREMENT follow explicit ids by themselves.

    def table_columns(
        self, connection: Connection, tables: Collection[str] | None = None
    ) -> dict[str, frozenset[str]]:
        """Each table of the default schema, or each of ``tables`` that exists: its columns.

        One query, cheap enough for every open: names only, no types or constraints.
        """
        sql = self._table_columns_sql(named=tables is not None)
        if tables is None:
            rows = connection.execute(text(sql)).all()
        else:
            statement = text(sql).bindparams(bindparam("names", expanding=True))
            rows = connection.execute(statement, {"names": list(tables)}).all()
        return _grouped((str(table), str(column)) for table, column in rows)

    def _table_columns_sql(self, *, named: bool) -> str:
        """(table, column) rows; ``named``: only the tables in the expanding ``:names``."""
        raise NotImplementedError(f"{self.family} reads its tables another way")


class SQLiteBackend(Backend):
    family = "sqlite"
    dialects = ("sqlite",)
    driver = default_driver = "pysqlite"
    embedded = True
    insertion_order = "rowid"
    # SQLite cannot order RETURNING rows of an executemany: bulk inserts count ids instead.
    returns_ids_in_order = False

    def connect_args(self) -> dict[str, Any]:
        # The driver's own transaction handling is off; taskdb's engine emits BEGIN itself.
        return {"isolation_level": None}

    def pool_options(self, url: URL) -> dict[str, Any]:
        if url.database in (None, "", ":memory:"):
            return {}  # SQLAlchemy's one-connection-per-thread pool: nothing to size
        # Each thread holds a read connection (taskdb.connections): the pool grows as needed.
        return {"max_overflow": UNBOUNDED_OVERFLOW}

    def statement_witness(self, connection: Connection) -> StatementWitness | None:
        # SQLite undoes a failed statement alone (or, on a full disk, the whole transaction,
        # which in_transaction shows), and counts only the rows of statements that finished.
        driver = connection.connection.driver_connection
        return driver if isinstance(driver, sqlite3.Connection) else None

    def table_columns(
        self, connection: Connection, tables: Collection[str] | None = None
    ) -> dict[str, frozenset[str]]:
        # A table's columns follow from its CREATE statement, so the statements (one read of
        # sqlite_master) key a cache: a schema seen before costs no pragma_table_info.
        statements = frozenset(
            (str(name), str(sql)) for name, sql in connection.exec_driver_sql(_SQLITE_STATEMENTS)
        )
        found = _SQLITE_COLUMNS.get(statements)
        if found is None:
            # Statements and columns from one query, so the cached pair is consistent.
            rows = connection.exec_driver_sql(_SQLITE_COLUMNS_READ).all()
            found = _grouped((str(name), str(column)) for name, _, column in rows)
            if len(_SQLITE_COLUMNS) >= _SQLITE_COLUMNS_KEPT:
                _SQLITE_COLUMNS.clear()
            _SQLITE_COLUMNS[frozenset((str(name), str(sql)) for name, sql, _ in rows)] = found
        if tables is None:
            return dict(found)
        return {table: found[table] for table in tables if table in found}


class PostgreSQLBackend(Backend):
    family = "postgresql"
    dialects = ("postgresql",)
    driver = default_driver = "psycopg"
    # Servers have no rowid: revision quantum_0002 gives text-keyed tables this counter.
    insertion_order = "insert_seq"
    reads_after_a_failed_statement = False

    def _table_columns_sql(self, *, named: bool) -> str:
        # The catalog: several times cheaper than information_schema; tables, no views.
        return (
            "SELECT c.relname, a.attname FROM pg_catalog.pg_class AS c"
            " JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid"
            " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')"
            " AND a.attnum > 0 AND NOT a.attisdropped"
            + (" AND c.relname IN :names" if named else "")
        )

    def connect_args(self) -> dict[str, Any]:
        # Sessions in UTC so CURRENT_TIMESTAMP defaults match SQLite's UTC text.
        # psycopg bounds the whole attempt (TCP, TLS, startup) by connect_timeout, at least 2 s.
        return {"options": "-c timezone=UTC", CONNECT_TIMEOUT: CONNECT_TIMEOUT_S}

    def pool_options(self, _url: URL) -> dict[str, Any]:
        return _server_pool()

    def connect(
        self, dialect: Dialect, cargs: Sequence[Any], cparams: dict[str, Any]
    ) -> DBAPIConnection:
        try:
            return super().connect(dialect, cargs, cparams)
        except dialect.loaded_dbapi.ProgrammingError as error:
            # psycopg's word for a connection string it cannot parse (unknown option, bad value).
            raise _refused_arguments(dialect, error) from error

    def read_options(self) -> dict[str, Any]:
        # Autocommit saves the BEGIN and ROLLBACK round trips around a single SELECT.
        return {READ_ONLY: True, "isolation_level": "AUTOCOMMIT"}

    def upsert(self, table: Table, keys: Sequence[str], updated: Sequence[str]) -> Insert:
        statement = postgresql.insert(table)
        return statement.on_conflict_do_update(
            index_elements=[table.c[name] for name in keys],
            set_={name: statement.excluded[name] for name in updated},
        )

    def acquire_lock(self, connection: Connection, key: str) -> None:
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _lock_number(key)})

    def release_lock(self, connection: Connection, key: str) -> None:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_number(key)})

    def continue_sequences(self, connection: Connection, tables: Sequence[Table]) -> None:
        # Sequences do not see explicit ids: move each past the largest copied one.
        for table in tables:
            (key,) = table.primary_key.columns
            if not isinstance(key.type, Integer):
                continue
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                    f"COALESCE(MAX({key.name}), 1), MAX({key.name}) IS NOT NULL) "
                    f"FROM {table.name}"
                ),
                {"table": table.name, "column": key.name},
            )


# Each session in UTC, and strict: where a server's own sql_mode is not, an over-long
# value would be cut to fit with a warning, and two long names could become one row.
MYSQL_SESSION = (
    "SET time_zone = '+00:00', "
    "sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES')"
)


class MySQLBackend(Backend):
    family = "mysql"
    dialects = ("mysql", "mariadb")
    driver = "pymysql"
    default_driver = "mysqldb"
    insertion_order = "insert_seq"

    def connect_args(self) -> dict[str, Any]:
        return {
            "init_command": MYSQL_SESSION,
            "charset": "utf8mb4",
            CONNECT_TIMEOUT: CONNECT_TIMEOUT_S,
        }

    def pool_options(self, _url: URL) -> dict[str, Any]:
        return _server_pool()

    def connect(
        self, dialect: Dialect, cargs: Sequence[Any], cparams: dict[str, Any]
    ) -> DBAPIConnection:
        # PyMySQL's connect_timeout bounds only the TCP connect; the handshake then reads
        # with read_timeout, unbounded by default, so a server that accepts and never
        # answers would hang the open. The handshake reads with the connect timeout, and
        # the connection then goes back to unbounded reads: a query (or GET_LOCK's wait)
        # may take longer than connecting may. A caller's own read_timeout is left alone.
        timeout = cparams.get(CONNECT_TIMEOUT)
        if not timeout or "read_timeout" in cparams:
            return super().connect(dialect, cargs, cparams)
        connection = super().connect(dialect, cargs, {**cparams, "read_timeout": timeout})
        # PyMySQL has no public setter; tests/lifecycle/test_connections.py runs a query
        # longer than the connect timeout to catch a PyMySQL that renamed this attribute.
        connection._read_timeout = None
        return connection

    # No autocommit for reads: PyMySQL spends more round trips switching it than it saves.

    def _table_columns_sql(self, *, named: bool) -> str:
        # information_schema.columns lists views too. A name given is a table's (tables and
        # views share one namespace), so only the read of every table leaves views out.
        schema = "table_schema = DATABASE()"
        views = f"SELECT table_name FROM information_schema.views WHERE {schema}"
        which = "table_name IN :names" if named else f"table_name NOT IN ({views})"
        return (
            "SELECT table_name, column_name FROM information_schema.columns"
            f" WHERE {schema} AND {which}"
        )

    def upsert(self, table: Table, keys: Sequence[str], updated: Sequence[str]) -> Insert:
        statement = mysql.insert(table)
        return statement.on_duplicate_key_update(
            {name: statement.inserted[name] for name in updated}
        )

    def key_text(self, dialect: Dialect) -> TypeEngine[Any]:
        # No index on TEXT without a prefix length, and the default collation would make
        # "abc" equal "ABC ": a VARCHAR compared byte for byte, without padding.
        mariadb = getattr(dialect, "is_mariadb", False)
        collation = "utf8mb4_nopad_bin" if mariadb else "utf8mb4_0900_bin"
        return String(255, collation=collation)

    def acquire_lock(self, connection: Connection, key: str) -> None:
        # Named locks are server-wide and at most 64 characters.
        got = connection.execute(
            text("SELECT GET_LOCK(:k, :t)"), {"k": key[:64], "t": LOCK_TIMEOUT_S}
        ).scalar_one()
        if got != 1:
            raise DatabaseError(f"could not take the migration lock {key[:64]!r} in time")

    def release_lock(self, connection: Connection, key: str) -> None:
        connection.execute(text("SELECT RELEASE_LOCK(:k)"), {"k": key[:64]})


def _server_pool() -> dict[str, Any]:
    # No pre-ping (a round trip per call); recycle before servers drop idle connections.
    return {"pool_recycle": SERVER_POOL_RECYCLE_S}


def _refused_arguments(dialect: Dialect, error: Exception) -> InvalidEntry:
    return InvalidEntry(
        f"the {dialect.driver} driver refused its connect arguments ({str(error).strip()}); "
        "check the URL's query and connect_args in the engine options"
    )


# Every table SQLite keeps for an application (sqlite_sequence, sqlite_stat1 are its own).
_APPLICATION_TABLES = "m.type = 'table' AND m.name NOT LIKE 'sqlite~_%' ESCAPE '~'"
_SQLITE_STATEMENTS = f"SELECT m.name, m.sql FROM sqlite_master AS m WHERE {_APPLICATION_TABLES}"
_SQLITE_COLUMNS_READ = (
    "SELECT m.name, m.sql, p.name FROM sqlite_master AS m"
    f" JOIN pragma_table_info(m.name) AS p WHERE {_APPLICATION_TABLES}"
)
# Column names by the CREATE statements they follow from; a few schemas per process.
_SQLITE_COLUMNS: dict[frozenset[tuple[str, str]], dict[str, frozenset[str]]] = {}
_SQLITE_COLUMNS_KEPT = 32


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    grouped: dict[str, set[str]] = {}
    for table, column in pairs:
        grouped.setdefault(table, set()).add(column)
    return {table: frozenset(columns) for table, columns in grouped.items()}


def _lock_number(key: str) -> int:
    return zlib.crc32(key.encode())


SQLITE = SQLiteBackend()
POSTGRESQL = PostgreSQLBackend()
MYSQL = MySQLBackend()
BACKENDS: tuple[Backend, ...] = (SQLITE, POSTGRESQL, MYSQL)
_BY_DIALECT = {name: backend for backend in BACKENDS for name in backend.dialects}


def parse_url(url: str | URL) -> URL:
    """A SQLAlchemy URL, or InvalidEntry (InvalidType for a non-str) with examples."""
    if isinstance(url, URL):
        return url
    if not isinstance(url, str):
        raise InvalidType(f"{url!r} is not a database URL; expected e.g. {_URL_EXAMPLES}")
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError) as error:  # ValueError: a port that is no number
        raise InvalidEntry(
            f"{url!r} is not a database URL; expected e.g. {_URL_EXAMPLES}"
        ) from error
    if parsed.port is not None and not 0 < parsed.port < 65536:
        shown = parsed.render_as_string(hide_password=True)
        raise InvalidEntry(f"{shown}: port {parsed.port} is not a TCP port (1 to 65535)")
    return parsed


def backend_for(source: Engine | Connection | Dialect | URL | str) -> Backend:
    """The family of an engine, connection, dialect or URL; a URL must name taskdb's driver."""
    if isinstance(source, Engine | Connection):
        return _BY_DIALECT[source.dialect.name]
    if isinstance(source, Dialect):
        return _BY_DIALECT[source.name]
    url = parse_url(source)
    name = url.get_backend_name()
    backend = _BY_DIALECT.get(name)
    driver = url.drivername.partition("+")[2] or (backend.default_driver if backend else "")
    if backend is None or driver != backend.driver:
        scheme = url.drivername
        hint = _HINTS.get(scheme) or _HINTS.get(name, "")
        instead = f": use {hint} instead" if hint else ""
        raise InvalidEntry(
            f"taskdb does not run on {scheme}:// URLs{instead}; it takes {_URL_EXAMPLES}"
        )
    return backend
