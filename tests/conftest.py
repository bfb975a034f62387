"""Engine-parametrised fixtures: every test that takes ``target`` runs on each engine.

Each test gets its own database on a server, created and dropped around it, so
tests pass in any order and under pytest-xdist. See tests/engines.py for how
servers are found.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from _pytest.terminal import TerminalReporter

from taskdb.spec import CROWD, QUANTUM
from tests.support.engines import ENGINES, SERVER_URL_VARIABLES, Target, server_url


@pytest.fixture(params=ENGINES)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    name: str = request.param
    if name != "sqlite":
        server_url(name)
    made = Target(name, tmp_path)
    yield made
    made.drop_created()


@pytest.fixture(params=tuple(SERVER_URL_VARIABLES))
def server_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """For behaviour that only servers have (explicit upgrades, server-side locks)."""
    name: str = request.param
    server_url(name)
    made = Target(name, tmp_path)
    yield made
    made.drop_created()


@pytest.fixture
def mysql_target(tmp_path: Path) -> Iterator[Target]:
    """For MariaDB's and MySQL's own behaviour (sql_mode, VARCHAR limits, driver options)."""
    server_url("mysql")
    made = Target("mysql", tmp_path)
    yield made
    made.drop_created()


@pytest.fixture
def sqlite_target(tmp_path: Path) -> Target:
    """For tests of SQLite-only behaviour (file headers, the seed's own files)."""
    return Target("sqlite", tmp_path)


@pytest.fixture
def crowd_url(target: Target) -> str:
    return target.migrated_url(CROWD)


@pytest.fixture
def quantum_url(target: Target) -> str:
    return target.migrated_url(QUANTUM)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every default location (TASKDB_HOME, ~/.uniqc) inside the test's directory."""
    home = tmp_path / "home"
    monkeypatch.setenv("TASKDB_HOME", str(home / "taskdb"))
    monkeypatch.setenv("HOME", str(home))
    for spec in (CROWD, QUANTUM):
        monkeypatch.delenv(spec.url_env, raising=False)
    return home


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    """One line per skip reason (an absent server skips every test of its engine); soak figures."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"skipped {count} test(s): {reason}")
    # Figures a test recorded for the log (the soak test's), also under pytest-xdist.
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        for name, value in getattr(report, "user_properties", []):
            if name == "soak" and report.when == "call":
                terminalreporter.write_line(str(value))
