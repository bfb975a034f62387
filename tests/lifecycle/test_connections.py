"""Connections: engine options, a caller's own engine, and the default connect timeout."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from taskdb.backends import CONNECT_TIMEOUT_S, MYSQL_SESSION, backend_for
from taskdb.crowd import CrowdStore
from taskdb.engine import create_engine
from taskdb.errors import DatabaseError, InvalidEntry
from taskdb.quantum import TaskInfo, TaskStore
from taskdb.spec import CROWD, QUANTUM
from tests.support.engines import Target

SERVER_SCHEMES = ("postgresql+psycopg", "mysql+pymysql")
# psycopg rounds a connect timeout below 2 s up to 2 s.
SHORT_TIMEOUT_S = 2
# Room for a slow machine beyond the timeout itself; far below the 10 s default.
MARGIN_S = 3


def _with_query(url: str, **query: str) -> str:
    return make_url(url).update_query_dict(query).render_as_string(hide_password=False)


def _connect_params(engine: sa.Engine) -> dict[str, Any]:
    """The keyword arguments the driver's connect is given for one new connection."""
    seen: dict[str, Any] = {}
    dialect = engine.dialect
    connect = dialect.connect

    def capture(*cargs: Any, **cparams: Any) -> Any:
        seen.update(cparams)
        return connect(*cargs, **cparams)

    # taskdb's do_connect listener ends in the dialect's connect.
    dialect.connect = capture  # type: ignore[method-assign]
    try:
        with engine.connect():
            pass
    finally:
        del dialect.connect
    return seen


# -- engine options --------------------------------------------------------------------


def test_engine_options_reach_the_engine(target: Target) -> None:
    options = {"pool_size": 3, "execution_options": {"taskdb_test_probe": "seen"}}
    with CrowdStore(target.migrated_url(CROWD), engine_options=options) as crowd:
        assert crowd.engine.pool.size() == 3  # type: ignore[attr-defined]
        assert crowd.engine.get_execution_options()["taskdb_test_probe"] == "seen"
        project_id = crowd.projects.new("p")
        assert crowd.projects.get(project_id).project_name == "p"
    with TaskStore(url=target.migrated_url(QUANTUM), engine_options=options) as quantum:
        assert quantum.engine.pool.size() == 3  # type: ignore[attr-defined]
        quantum.save(TaskInfo(task_id="t1", backend="sim"))
        assert quantum.count() == 1


_EXTRA_CONNECT_ARGS = {
    "sqlite": {"timeout": 7},
    "postgresql": {"application_name": "taskdb-test"},
    "mysql": {"program_name": "taskdb-test"},
}


def test_connect_args_are_merged_key_by_key(target: Target) -> None:
    url = target.fresh_url()
    extra = _EXTRA_CONNECT_ARGS[target.name]
    engine = create_engine(url, CROWD, connect_args=extra)
    try:
        params = _connect_params(engine)
        with engine.connect() as connection:
            if target.name == "postgresql":
                assert connection.exec_driver_sql("SHOW timezone").scalar() == "UTC"
                name = connection.exec_driver_sql("SHOW application_name").scalar()
                assert name == "taskdb-test"
            elif target.name == "mysql":
                zone = connection.exec_driver_sql("SELECT @@session.time_zone").scalar()
                assert zone == "+00:00"
            else:
                assert connection.connection.driver_connection.isolation_level is None  # type: ignore[union-attr]
    finally:
        engine.dispose()
    taskdb_own = backend_for(url).connect_args()
    assert params.items() >= {**taskdb_own, **extra}.items()


@pytest.mark.parametrize("server_mode", ["", "NO_ENGINE_SUBSTITUTION", "STRICT_TRANS_TABLES"])
def test_mariadb_sessions_are_strict_whatever_the_server_s_sql_mode(
    mysql_target: Target, server_mode: str
) -> None:
    engine = create_engine(mysql_target.fresh_url(), CROWD)
    try:
        with engine.connect() as connection:
            # As a server configured with ``server_mode`` would start the session.
            connection.exec_driver_sql(f"SET SESSION sql_mode = '{server_mode}'")
            connection.exec_driver_sql(MYSQL_SESSION)
            modes = connection.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar()
            assert "STRICT_ALL_TABLES" in modes.split(",")
            assert set(filter(None, server_mode.split(","))) <= set(modes.split(","))
            connection.exec_driver_sql("CREATE TEMPORARY TABLE narrow (name VARCHAR(3))")
            with pytest.raises(sa.exc.DataError, match="Data too long"):
                connection.exec_driver_sql("INSERT INTO narrow VALUES ('four')")
    finally:
        engine.dispose()


def test_a_store_s_own_mariadb_connections_are_strict(mysql_target: Target) -> None:
    with (
        CrowdStore(mysql_target.migrated_url(CROWD)) as store,
        store.engine.connect() as connection,
    ):
        modes = connection.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar()
        assert "STRICT_ALL_TABLES" in modes.split(",")


def test_a_connect_arg_the_caller_names_replaces_only_that_key(server_target: Target) -> None:
    url = server_target.fresh_url()
    engine = create_engine(url, CROWD, connect_args={"connect_timeout": 5})
    try:
        params = _connect_params(engine)
    finally:
        engine.dispose()
    taskdb_own = backend_for(url).connect_args()
    assert params.items() >= {**taskdb_own, "connect_timeout": 5}.items()


def test_servers_get_the_default_connect_timeout(server_target: Target) -> None:
    url = server_target.fresh_url()
    assert backend_for(url).connect_args()["connect_timeout"] == CONNECT_TIMEOUT_S == 10
    engine = create_engine(url, CROWD)
    try:
        assert _connect_params(engine)["connect_timeout"] == CONNECT_TIMEOUT_S
    finally:
        engine.dispose()


def test_a_connect_timeout_in_the_url_wins_over_the_default(server_target: Target) -> None:
    url = _with_query(server_target.fresh_url(), connect_timeout="3")
    assert "connect_timeout" not in backend_for(url).engine_options(make_url(url))["connect_args"]
    engine = create_engine(url, CROWD)
    try:
        # psycopg takes the URL's text, PyMySQL's dialect makes it an int.
        assert int(_connect_params(engine)["connect_timeout"]) == 3
    finally:
        engine.dispose()


def test_a_query_may_take_longer_than_the_connect_timeout(server_target: Target) -> None:
    # PyMySQL reads the handshake with the connect timeout, then with none again.
    url = _with_query(server_target.migrated_url(CROWD), connect_timeout=str(SHORT_TIMEOUT_S))
    sleep = {"postgresql": "SELECT pg_sleep(%s)", "mysql": "SELECT SLEEP(%s)"}
    with CrowdStore(url) as store, store.engine.connect() as connection:
        connection.exec_driver_sql(sleep[server_target.name] % (SHORT_TIMEOUT_S + 1))


@pytest.mark.parametrize(
    "options",
    [
        {"pool_siz": 3},  # not an argument of create_engine
        {"connect_args": {"no_such_argument": 1}},  # refused by the driver
        {"isolation_level": "NO SUCH LEVEL"},  # refused by SQLAlchemy on connect
        {"connect_args": ["timeout"]},
        ["pool_size"],
    ],
    ids=["create_engine", "driver", "isolation_level", "connect_args_type", "options_type"],
)
def test_bad_engine_options_are_invalid_entry(target: Target, options: Any) -> None:
    url = target.migrated_url(CROWD)
    with pytest.raises(InvalidEntry):
        CrowdStore(url, engine_options=options)
    with pytest.raises(InvalidEntry):
        TaskStore(url=target.migrated_url(QUANTUM), engine_options=options)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://root@127.0.0.1:abc/x",
        "mysql+pymysql://root@127.0.0.1:abc/x",
        "sqlite:////tmp/a\x00b.sqlite",
        "postgresql+psycopg://root@127.0.0.1:99999/x",
        "mysql+pymysql://root@127.0.0.1:0/x",
    ],
    ids=["port_pg", "port_mysql", "nul", "port_too_high", "port_zero"],
)
def test_a_malformed_url_is_invalid_entry(url: str) -> None:
    with pytest.raises(InvalidEntry):
        CrowdStore(url)
    with pytest.raises(InvalidEntry):
        TaskStore(url=url)


@pytest.mark.parametrize(
    "query",
    ["charset=bogus", "connect_timeout=abc", "local_infile=abc", "ssl_ca=/nonexistent"],
)
def test_url_options_the_mysql_driver_refuses_are_invalid_entry(
    mysql_target: Target, query: str
) -> None:
    url = f"{mysql_target.migrated_url(QUANTUM)}?{query}"
    with pytest.raises(InvalidEntry, match=query.partition("=")[0]):
        TaskStore(url=url).count()


def test_a_sqlite_url_under_home_opens_the_file_taskdb_checked(isolated_home: Path) -> None:
    with CrowdStore("sqlite:///~/stores/crowd.sqlite") as store:
        store.projects.new("p")
        assert store.engine.url.database == str(isolated_home / "stores" / "crowd.sqlite")
    assert (isolated_home / "stores" / "crowd.sqlite").stat().st_size > 0
    assert not Path("~").exists()


def test_a_sqlite_uri_url_is_the_file_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "uri" / "tasks.sqlite"
    store = TaskStore(url=f"sqlite:///file:{path}?uri=true")
    try:
        store.save(TaskInfo(task_id="t1", backend="sim"))
        assert store.db_path == path
        assert path.exists()
        store.clear_all()
        assert not path.exists()
        assert store.count() == 0
    finally:
        store.close()
    assert [p.name for p in tmp_path.iterdir()] == ["uri"]  # no "file:" folder beside it


# -- a caller's engine -----------------------------------------------------------------


def _callers_engine(target: Target, url: str, spec: Any) -> sa.Engine:
    # Any server engine will do; on SQLite only one taskdb made.
    return sa.create_engine(url) if target.is_server else create_engine(url, spec)


def test_a_given_engine_is_used_and_left_open(target: Target) -> None:
    engine = _callers_engine(target, target.migrated_url(CROWD), CROWD)
    try:
        pool = engine.pool
        with CrowdStore(engine=engine) as store:
            assert store.engine is engine
            store.projects.new("p")
        # close() did not dispose it: same pool, its connections still checked in.
        assert engine.pool is pool
        assert pool.checkedin() >= 1  # type: ignore[attr-defined]
        with engine.connect() as connection:
            count = connection.exec_driver_sql("SELECT COUNT(*) FROM projects").scalar()
        assert count == 1
    finally:
        engine.dispose()


def test_a_task_store_on_a_given_engine_leaves_it_open(target: Target) -> None:
    engine = _callers_engine(target, target.migrated_url(QUANTUM), QUANTUM)
    try:
        pool = engine.pool
        store = TaskStore(engine=engine)
        assert store.engine is engine
        store.save(TaskInfo(task_id="t1", backend="sim"))
        file = store.db_path
        # A file its pool may hold open is kept; the rows go.
        store.clear_all()
        assert store.count() == 0
        if file is not None:
            assert file.exists()
        store.save(TaskInfo(task_id="t2", backend="sim"))
        store.close()
        assert engine.pool is pool
        with engine.connect() as connection:
            count = connection.exec_driver_sql("SELECT COUNT(*) FROM tasks").scalar()
        assert count == 1
    finally:
        engine.dispose()


def test_a_store_disposes_the_engine_it_created(sqlite_target: Target) -> None:
    store = CrowdStore(sqlite_target.fresh_url())
    store.projects.new("p")
    pool = store.engine.pool
    store.close()
    assert store.engine.pool is not pool  # dispose() replaced it


def test_a_fresh_sqlite_file_is_upgraded_through_a_given_engine(sqlite_target: Target) -> None:
    engine = create_engine(sqlite_target.fresh_url(), CROWD)
    try:
        with CrowdStore(engine=engine) as store:
            assert store.projects.get(store.projects.new("p")).project_name == "p"
    finally:
        engine.dispose()


def test_url_and_engine_together_are_refused(sqlite_target: Target) -> None:
    url = sqlite_target.fresh_url()
    engine = create_engine(url, CROWD)
    quantum_engine = create_engine(sqlite_target.fresh_url(), QUANTUM)
    try:
        with pytest.raises(InvalidEntry, match="not both"):
            CrowdStore(url, engine=engine)
        with pytest.raises(InvalidEntry, match="engine_options"):
            CrowdStore(engine=engine, engine_options={"pool_size": 2})
        with pytest.raises(InvalidEntry, match="not both"):
            TaskStore(url=url, engine=quantum_engine)
        with pytest.raises(InvalidEntry, match="not both"):
            TaskStore(sqlite_target.tmp_path / "cache", engine=quantum_engine)
        # Nothing connected, nothing created.
        assert not Path(make_url(url).database or "").exists()
    finally:
        engine.dispose()
        quantum_engine.dispose()


def test_a_sqlite_engine_taskdb_did_not_make_is_refused(sqlite_target: Target) -> None:
    url = sqlite_target.fresh_url()
    plain = sa.create_engine(url)
    crowd_engine = create_engine(url, CROWD)
    try:
        with pytest.raises(InvalidEntry, match=r"taskdb\.engine\.create_engine"):
            CrowdStore(engine=plain)
        with pytest.raises(InvalidEntry, match="made for the crowd store"):
            TaskStore(engine=crowd_engine)
        with pytest.raises(InvalidEntry, match=r"sqlalchemy\.Engine"):
            CrowdStore(engine=url)  # type: ignore[arg-type]
        assert not Path(make_url(url).database or "").exists()
    finally:
        plain.dispose()
        crowd_engine.dispose()


# -- a server that accepts and never answers -------------------------------------------


class SilentServer:
    """A loopback listener that accepts connections and never sends a byte."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.port: int = self._socket.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return  # closed
            self.accepted.append(connection)

    def close(self) -> None:
        # Wakes the thread blocked in accept() on Linux, then drops the held connections.
        self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        self._thread.join(timeout=5)
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.mark.parametrize("how", ["url", "engine_options"])
@pytest.mark.parametrize("scheme", SERVER_SCHEMES)
def test_a_server_that_never_answers_fails_within_the_timeout(
    silent_server: SilentServer, scheme: str, how: str
) -> None:
    url = f"{scheme}://u@127.0.0.1:{silent_server.port}/x"
    options: dict[str, Any] | None = None
    if how == "url":
        url += f"?connect_timeout={SHORT_TIMEOUT_S}"
    else:
        options = {"connect_args": {"connect_timeout": SHORT_TIMEOUT_S}}
    started = time.monotonic()
    with pytest.raises(DatabaseError):
        CrowdStore(url, engine_options=options)
    elapsed = time.monotonic() - started
    assert elapsed < SHORT_TIMEOUT_S + MARGIN_S
    # The TCP connect succeeded: it was the unanswered handshake that timed out.
    assert silent_server.accepted


@pytest.mark.parametrize("scheme", SERVER_SCHEMES)
def test_a_task_store_on_a_silent_server_fails_within_the_timeout(
    silent_server: SilentServer, scheme: str
) -> None:
    url = f"{scheme}://u@127.0.0.1:{silent_server.port}/x?connect_timeout={SHORT_TIMEOUT_S}"
    started = time.monotonic()
    with pytest.raises(DatabaseError):
        TaskStore(url=url)
    assert time.monotonic() - started < SHORT_TIMEOUT_S + MARGIN_S
