"""Fixtures of the Mephisto integration tests; importing Mephisto on Python 3.11 first.

Mephisto 1.1.1 does not import on Python 3.11 as released: tests/support/mephisto_compat.py
explains the workaround, which this conftest applies before any test module of this
folder imports Mephisto (and only in the test process).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support import mephisto_compat
from tests.support.engines import Target

if mephisto_compat.installed():
    MEPHISTO_DATA_DIR = mephisto_compat.import_mephisto()

if TYPE_CHECKING:
    from taskdb.integrations.mephisto import TaskdbMephistoDB


@pytest.fixture
def mephisto_data_dir() -> Path:
    """The data directory Mephisto's configuration names (a scratch folder)."""
    return MEPHISTO_DATA_DIR


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    """Where LocalMephistoDB would keep its file: the blob files live beside it."""
    return tmp_path / "mephisto" / "database.db"


@pytest.fixture
def mephisto_url(target: Target, database_path: Path) -> str | None:
    """A fresh empty server database, or None on SQLite (the file at ``database_path``)."""
    return target.fresh_url("meph") if target.is_server else None


@pytest.fixture
def db(database_path: Path, mephisto_url: str | None) -> Iterator[TaskdbMephistoDB]:
    """A TaskdbMephistoDB on each engine, its tables made at construction."""
    from taskdb.integrations.mephisto import TaskdbMephistoDB

    opened = TaskdbMephistoDB(database_path, mephisto_url)
    yield opened
    opened.shutdown()
