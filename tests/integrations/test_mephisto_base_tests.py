"""Mephisto's own database test suite (``BaseDatabaseTests``, 23 tests) on every engine.

``BaseDatabaseTests`` is the interface test Mephisto ships for any ``MephistoDB``; it
runs here unmodified against ``TaskdbMephistoDB``, once per engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engines import Target
from tests.support.mephisto_compat import require_mephisto

require_mephisto()

# Imported as a module: a bare BaseDatabaseTests here would be collected (and skipped) too.
from mephisto.abstractions.test import data_model_database_tester as tester  # noqa: E402

from taskdb.integrations.mephisto import TaskdbMephistoDB  # noqa: E402

BASE_TESTS = sorted(name for name in dir(tester.BaseDatabaseTests) if name.startswith("test_"))


def test_mephisto_ships_the_23_base_tests() -> None:
    assert len(BASE_TESTS) == 23


class _OnEngine(tester.BaseDatabaseTests):  # type: ignore[misc]
    """BaseDatabaseTests with a TaskdbMephistoDB on ``engine``, fresh for each test."""

    __test__ = False  # only the engine classes below run
    is_base = False
    engine = "sqlite"

    @pytest.fixture(autouse=True)
    def _database(self, tmp_path: Path) -> Iterator[None]:
        target = Target(self.engine, tmp_path)
        url = target.fresh_url("meph") if target.is_server else None
        self.db = TaskdbMephistoDB(tmp_path / "data" / "database.db", url)
        assert self.db.store.engine.dialect.name == self.engine
        yield
        self.db.shutdown()
        target.drop_created()

    def setUp(self) -> None:  # the fixture above opened the database
        pass

    def tearDown(self) -> None:  # and closes it
        pass


class TestOnSQLite(_OnEngine):
    __test__ = True
    engine = "sqlite"


class TestOnPostgreSQL(_OnEngine):
    __test__ = True
    engine = "postgresql"


class TestOnMariaDB(_OnEngine):
    __test__ = True
    engine = "mysql"
