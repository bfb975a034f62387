"""Engines under test: where the servers are, and fresh databases on each.

Server engines are found through two variables, defaulting to this machine's servers:

* ``TASKDB_TEST_POSTGRESQL_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``)
* ``TASKDB_TEST_MYSQL_URL`` (default ``mysql+pymysql://root@127.0.0.1:3306/test``)

When a server cannot be reached its tests skip, naming the variable; under
``CI=true`` they fail instead. Scratch databases are named ``<prefix>_<label>_<hex>``;
``TASKDB_TEST_DATABASE_PREFIX`` (default ``tdb``) sets the prefix, for servers that
only allow some names. The benchmarks use the same :class:`Target` outside pytest.
"""

from __future__ import annotations

import functools
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from taskdb.engine import create_engine
from taskdb.lifecycle import upgrade
from taskdb.spec import StoreSpec

SERVER_URL_VARIABLES = {
    "postgresql": "TASKDB_TEST_POSTGRESQL_URL",
    "mysql": "TASKDB_TEST_MYSQL_URL",
}
DEFAULT_SERVER_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/test",
}
ENGINES = ("sqlite", *SERVER_URL_VARIABLES)
PREFIX_VARIABLE = "TASKDB_TEST_DATABASE_PREFIX"


def admin_url(engine_name: str) -> str:
    """The server URL the variable names, else this machine's default."""
    return os.environ.get(SERVER_URL_VARIABLES[engine_name]) or DEFAULT_SERVER_URLS[engine_name]


@functools.cache
def unreachable_reason(url: str) -> str | None:
    """Why the server at ``url`` cannot be used, or None when it answers."""
    timeout = {"connect_timeout": 3}
    try:
        engine = sa.create_engine(url, poolclass=sa.NullPool, connect_args=timeout)
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return None


def server_url(engine_name: str) -> str:
    """The admin URL of a server engine, or skip (fail under CI) when it cannot be reached."""
    variable = SERVER_URL_VARIABLES[engine_name]
    url = admin_url(engine_name)
    reason = unreachable_reason(url)
    if reason is None:
        return url
    shown = make_url(url).render_as_string(hide_password=True)
    message = f"{engine_name} server at {shown} unreachable ({reason}); set {variable}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run every engine: {message}")
    pytest.skip(message)


@dataclass
class Target:
    """One engine under test; hands out fresh, empty databases on it."""

    name: str
    tmp_path: Path
    # The server to create databases on; by default the test suite's (skipping if absent).
    server: str | None = None
    prefix: str = field(default_factory=lambda: os.environ.get(PREFIX_VARIABLE) or "tdb")
    _admin: sa.Engine | None = None
    _created: list[str] = field(default_factory=list)

    @property
    def is_server(self) -> bool:
        return self.name != "sqlite"

    def fresh_url(self, label: str = "db") -> str:
        """A URL to a new empty database (a file for SQLite, a database on a server)."""
        if not self.is_server:
            return f"sqlite:///{self.tmp_path / f'{label}-{uuid.uuid4().hex[:8]}.sqlite'}"
        name = f"{self.prefix}_{label}_{uuid.uuid4().hex[:12]}"
        with self.admin().connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        self._created.append(name)
        return make_url(self._server()).set(database=name).render_as_string(hide_password=False)

    def _server(self) -> str:
        return self.server or server_url(self.name)

    def migrated_url(self, spec: StoreSpec, label: str | None = None) -> str:
        """A fresh database of ``spec`` brought to head through the Alembic history."""
        url = self.fresh_url(label or spec.name)
        engine = create_engine(url, spec)
        try:
            upgrade(engine, spec)
        finally:
            engine.dispose()
        return url

    def admin(self) -> sa.Engine:
        if self._admin is None:
            self._admin = sa.create_engine(
                self._server(), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
            )
        return self._admin

    def drop_created(self) -> None:
        if self._admin is None:
            return
        with self._admin.connect() as connection:
            for name in self._created:
                force = " WITH (FORCE)" if self.name == "postgresql" else ""
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
        self._admin.dispose()
