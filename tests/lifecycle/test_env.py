"""The Alembic environment takes everything from the connection it is handed; steps are logged."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from alembic.runtime.environment import EnvironmentContext

from taskdb.engine import create_engine
from taskdb.lifecycle import State, open_engine, read_status, upgrade
from taskdb.spec import CROWD


def test_a_library_upgrade_ignores_the_url_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shell's variable names a server nobody can reach; the SQLite file upgrades anyway."""
    monkeypatch.setenv(CROWD.url_env, "postgresql+psycopg://nobody@127.0.0.1:1/unreachable")
    configured: list[dict[str, Any]] = []
    original = EnvironmentContext.configure

    def spy(self: EnvironmentContext, **options: Any) -> None:
        configured.append(options)
        original(self, **options)

    monkeypatch.setattr(EnvironmentContext, "configure", spy)
    url = f"sqlite:///{tmp_path / 'crowd.sqlite'}"
    engine = open_engine(CROWD, url)
    try:
        assert read_status(engine, CROWD).state is State.CURRENT
    finally:
        engine.dispose()

    (options,) = configured
    assert "url" not in options
    assert options["connection"].dialect.name == "sqlite"
    assert options["render_as_batch"] is True


def test_upgrades_and_backups_are_logged_under_taskdb(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "crowd.sqlite"
    engine = create_engine(f"sqlite:///{path}", CROWD)
    try:
        with caplog.at_level(logging.INFO, logger="taskdb"):
            upgrade(engine, CROWD, "crowd_0001")
            upgrade(engine, CROWD)
    finally:
        engine.dispose()

    messages = [r.getMessage() for r in caplog.records if r.name.startswith("taskdb.")]
    assert messages[0] == f"upgrading the crowd database at sqlite:///{path} to crowd_0001"
    assert f"backing up {path} to crowd.sqlite.crowd_0001.bak" in messages
    assert messages[-1] == f"upgrading the crowd database at sqlite:///{path} to head"
    assert (tmp_path / "crowd.sqlite.crowd_0001.bak").is_file()
