"""Everything that differs per engine family, in one record each.

taskdb runs one code path on SQLite, PostgreSQL and MySQL/MariaDB. Where the
engines genuinely differ (connect arguments, how a read runs, the upsert
clause, what orders rows as inserted, the migration lock, sequences), the
difference is a method or attribute of one :class:`Backend` here; the rest of
the library asks :func:`backend_for` and never tests a dialect name itself.
Revisions keep their own frozen copies of what they need.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine, Insert, Integer, String, Table, Text, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.types import TypeEngine

from taskdb.errors import DatabaseError, InvalidEntry

# Execution option that marks a connection as read-only: SQLite then takes no write lock.
READ_ONLY = "taskdb_read_only"
SERVER_POOL_RECYCLE_S = 1_800
LOCK_TIMEOUT_S = 600

_URL_EXAMPLES = (
    "sqlite:///path/file.sqlite, postgresql+psycopg://user@host/db or mysql+pymysql://user@host/db"
)


class Backend:
    """One engine family. Subclasses override only what their engines do differently."""

    family: ClassVar[str]
    # SQLAlchemy dialect names of the family (mysql+pymysql:// to MariaDB is "mysql").
    dialects: ClassVar[tuple[str, ...]]
    # A file beside the application: upgraded and adopted on open, backed up, flock-ed.
    embedded: ClassVar[bool] = False
    # What orders the rows of a text-keyed table as they were inserted.
    insertion_order: ClassVar[str]
    # INSERT ... RETURNING hands ids back in parameter order for a whole executemany.
    returns_ids_in_order: ClassVar[bool] = True
    # After a statement fails, the transaction can still run statements (PostgreSQL aborts it).
    reads_after_a_failed_statement: ClassVar[bool] = True

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments for ``sqlalchemy.create_engine`` beyond the URL."""
        return {}

    def read_options(self) -> dict[str, Any]:
        """Execution options for calls that read with one statement."""
        return {READ_ONLY: True}

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


class SQLiteBackend(Backend):
    family = "sqlite"
    dialects = ("sqlite",)
    embedded = True
    insertion_order = "rowid"
    # SQLite cannot order RETURNING rows of an executemany: bulk inserts count ids instead.
    returns_ids_in_order = False


class PostgreSQLBackend(Backend):
    family = "postgresql"
    dialects = ("postgresql",)
    # Servers have no rowid: revision quantum_0002 gives text-keyed tables this counter.
    insertion_order = "insert_seq"
    reads_after_a_failed_statement = False

    def engine_options(self) -> dict[str, Any]:
        # Sessions in UTC so CURRENT_TIMESTAMP defaults match SQLite's UTC text.
        return {"connect_args": {"options": "-c timezone=UTC"}, **_server_pool()}

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


class MySQLBackend(Backend):
    family = "mysql"
    dialects = ("mysql", "mariadb")
    insertion_order = "insert_seq"

    def engine_options(self) -> dict[str, Any]:
        connect_args = {"init_command": "SET time_zone = '+00:00'", "charset": "utf8mb4"}
        return {"connect_args": connect_args, **_server_pool()}

    # No autocommit for reads: PyMySQL spends more round trips switching it than it saves.

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


def _lock_number(key: str) -> int:
    return zlib.crc32(key.encode())


SQLITE = SQLiteBackend()
POSTGRESQL = PostgreSQLBackend()
MYSQL = MySQLBackend()
BACKENDS: tuple[Backend, ...] = (SQLITE, POSTGRESQL, MYSQL)
_BY_DIALECT = {name: backend for backend in BACKENDS for name in backend.dialects}


def parse_url(url: str | URL) -> URL:
    """A SQLAlchemy URL, or InvalidEntry with examples of what taskdb takes."""
    if isinstance(url, URL):
        return url
    try:
        return make_url(url)
    except sa_exc.ArgumentError as error:
        raise InvalidEntry(
            f"{url!r} is not a database URL; expected e.g. {_URL_EXAMPLES}"
        ) from error


def backend_for(source: Engine | Connection | Dialect | URL | str) -> Backend:
    """The family of an engine, connection, dialect or URL."""
    if isinstance(source, Engine | Connection):
        name = source.dialect.name
    elif isinstance(source, Dialect):
        name = source.name
    else:
        name = parse_url(source).get_backend_name()
    backend = _BY_DIALECT.get(name)
    if backend is None:
        hint = " (PostgreSQL URLs start postgresql+psycopg://)" if name == "postgres" else ""
        raise InvalidEntry(f"taskdb does not run on {name!r}{hint}; use {_URL_EXAMPLES}")
    return backend
