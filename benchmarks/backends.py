"""Scratch databases per engine, and raw driver connections with taskdb's settings."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from benchmarks.timing import Side
from taskdb.backends import MYSQL_SESSION, backend_for
from taskdb.engine import BUSY_TIMEOUT_MS
from tests.support.engines import ENGINES as TEST_ENGINES
from tests.support.engines import SERVER_URL_VARIABLES, Target, admin_url, unreachable_reason

T = TypeVar("T")
ENGINES = TEST_ENGINES


class Backend(Target):
    """One engine: the test suite's scratch databases, migrated, named ``taskdb_bench_*``."""

    def __init__(self, name: str, server_url: str | None = None) -> None:
        server = server_url or (admin_url(name) if name in SERVER_URL_VARIABLES else None)
        workdir = Path(tempfile.mkdtemp(prefix=f"taskdb-bench-{name}-"))
        super().__init__(name, workdir, server=server, prefix="taskdb_bench")

    def version(self) -> str:
        if not self.is_server:
            return f"SQLite {sqlite3.sqlite_version}"
        with self.admin().connect() as connection:
            found = str(connection.exec_driver_sql("SELECT version()").scalar())
        if self.name == "postgresql":
            return " ".join(found.split()[:2])
        return f"MariaDB {found}" if "mariadb" in found.lower() else f"MySQL {found}"

    def reachable(self) -> str | None:
        """None when the engine can be used, else why not."""
        return unreachable_reason(self.server) if self.server else None

    def cleanup(self) -> None:
        self.drop_created()
        shutil.rmtree(self.tmp_path, ignore_errors=True)


class Raw:
    """A held DB-API connection with the settings taskdb gives its own connections.

    SQLite: ``isolation_level=None`` (transactions by hand), busy_timeout, WAL,
    ``synchronous=NORMAL``, ``foreign_keys=ON``, and ``BEGIN IMMEDIATE`` around writes.
    Servers: autocommit off, session time zone UTC (MariaDB: strict sql_mode too), a
    commit per operation.
    SQL is written with ``?`` placeholders and converted for the server drivers.
    """

    def __init__(self, url: str, *, synchronous: str = "NORMAL") -> None:
        parsed = sa.make_url(url)
        self.dialect = parsed.get_backend_name()
        self.connection: Any
        if self.dialect == "sqlite":
            assert parsed.database is not None
            self.connection = sqlite3.connect(parsed.database, isolation_level=None)
            for pragma in (
                f"busy_timeout = {BUSY_TIMEOUT_MS}",
                "journal_mode = WAL",
                f"synchronous = {synchronous}",
                "foreign_keys = ON",
            ):
                self.connection.execute(f"PRAGMA {pragma}")
        elif self.dialect == "postgresql":
            import psycopg

            self.connection = psycopg.connect(
                host=parsed.host,
                port=parsed.port or 5432,
                user=parsed.username,
                password=parsed.password,
                dbname=parsed.database,
                options="-c timezone=UTC",
                autocommit=False,
            )
        else:
            import pymysql

            self.connection = pymysql.connect(
                host=parsed.host or "127.0.0.1",
                port=parsed.port or 3306,
                user=parsed.username or "root",
                password=parsed.password or "",
                database=parsed.database,
                charset="utf8mb4",
                init_command=MYSQL_SESSION,
                autocommit=False,
            )

    def sql(self, statement: str) -> str:
        return statement if self.dialect == "sqlite" else statement.replace("?", "%s")

    def write(self, work: Callable[[Any], T]) -> T:
        """Run ``work(cursor)`` in one committed write transaction."""
        cursor = self.connection.cursor()
        if self.dialect == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
            try:
                done = work(cursor)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
            return done
        try:
            done = work(cursor)
        except BaseException:
            self.connection.rollback()
            raise
        self.connection.commit()
        return done

    def execute(self, cursor: Any, statement: str, parameters: Sequence[Any]) -> Any:
        cursor.execute(self.sql(statement), parameters)
        return cursor

    def insert(self, cursor: Any, statement: str, parameters: Sequence[Any], key: str) -> int:
        """An INSERT and the new row's id, the way taskdb gets it on this engine."""
        if self.dialect == "postgresql":
            cursor.execute(self.sql(statement) + f" RETURNING {key}", parameters)
            return int(cursor.fetchone()[0])
        cursor.execute(self.sql(statement), parameters)
        return int(cursor.lastrowid)

    def query(self, statement: str, parameters: Sequence[Any]) -> list[Any]:
        """A read: rows as the driver gives them; servers end the implicit transaction."""
        cursor = self.connection.cursor()
        cursor.execute(self.sql(statement), parameters)
        rows: list[Any] = cursor.fetchall()
        if self.dialect != "sqlite":
            self.connection.commit()
        return rows

    def close(self) -> None:
        self.connection.close()


class CoreFloor:
    """SQLAlchemy Core statements on one held connection of a store's engine.

    The least any SQLAlchemy-based call can cost: no pool checkout, no records, the
    store's own engine (its events included) and read options.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._connection = engine.connect().execution_options(**backend_for(engine).read_options())

    def rows(self, statement: sa.Executable, parameters: Callable[[], dict[str, Any]]) -> Side:
        """A side that runs ``statement`` with fresh ``parameters`` and fetches every row."""
        return Side(lambda: self._connection.execute(statement, parameters()).all())

    def close(self) -> None:
        self._connection.close()
