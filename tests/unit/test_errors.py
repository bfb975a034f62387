"""The translator classifies real constraint violations by code, on every engine."""

from __future__ import annotations

from collections.abc import Iterator

import pymysql
import pytest
import sqlalchemy as sa

from taskdb import errors
from taskdb.crowd.models import Project, Task, Worker
from taskdb.engine import create_engine
from taskdb.errors import (
    DatabaseError,
    EntryAlreadyExists,
    EntryDoesNotExist,
    InvalidEntry,
    TaskdbError,
    Violation,
    classify,
    translated,
)
from taskdb.spec import CROWD


@pytest.fixture
def engine(crowd_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    # No message fallback: every engine's violations must be classified by their code.
    monkeypatch.setattr(errors, "_MESSAGE_HINTS", ())
    made = create_engine(crowd_url, CROWD)
    yield made
    made.dispose()


def _provoke(engine: sa.Engine, statement: sa.Executable) -> TaskdbError:
    with pytest.raises(TaskdbError) as caught, translated("test"), engine.begin() as connection:
        connection.execute(statement)
    return caught.value


def test_unique_violation_is_entry_already_exists(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.insert(Project.__table__), {"project_name": "p"})
    error = _provoke(engine, sa.insert(Project.__table__).values(project_name="p"))
    assert type(error) is EntryAlreadyExists
    assert isinstance(error.__cause__, sa.exc.IntegrityError)
    assert classify(error.__cause__.orig) is Violation.UNIQUE


def test_foreign_key_violation_is_entry_does_not_exist(engine: sa.Engine) -> None:
    error = _provoke(
        engine, sa.insert(Task.__table__).values(task_name="t", task_type="mock", project_id=999)
    )
    assert type(error) is EntryDoesNotExist
    assert isinstance(error.__cause__, sa.exc.IntegrityError)
    assert classify(error.__cause__.orig) is Violation.FOREIGN_KEY


def test_not_null_violation_is_invalid_entry(engine: sa.Engine) -> None:
    error = _provoke(
        engine, sa.insert(Worker.__table__).values(worker_name="w", provider_type=None)
    )
    assert type(error) is InvalidEntry
    assert isinstance(error, ValueError)
    assert isinstance(error.__cause__, sa.exc.IntegrityError)
    assert classify(error.__cause__.orig) is Violation.NOT_NULL


def test_text_too_long_for_the_engine_is_invalid_entry(engine: sa.Engine) -> None:
    # Key text is VARCHAR(255) on MySQL; SQLite and PostgreSQL keep TEXT without a limit.
    statement = sa.insert(Worker.__table__).values(worker_name="w" * 300, provider_type="mock")
    if engine.dialect.name == "mysql":
        assert type(_provoke(engine, statement)) is InvalidEntry
        return
    with engine.begin() as connection:
        connection.execute(statement)
        count = connection.execute(sa.select(sa.func.count()).select_from(Worker.__table__))
        assert count.scalar_one() == 1


def test_violations_leave_no_rows_behind(engine: sa.Engine) -> None:
    _provoke(engine, sa.insert(Task.__table__).values(task_name="t", task_type="m", project_id=5))
    with engine.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(Task.__table__)).scalar() == 0
        )


def test_other_database_errors_are_database_error(engine: sa.Engine) -> None:
    error = _provoke(engine, sa.text("SELECT * FROM no_such_table"))
    assert type(error) is DatabaseError
    assert error.__cause__ is not None


class _CodedError(Exception):
    def __init__(self, **attributes: object) -> None:
        super().__init__("coded")
        self.__dict__.update(attributes)


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"sqlite_errorcode": 2067}, Violation.UNIQUE),
        ({"sqlite_errorcode": 1555}, Violation.UNIQUE),
        ({"sqlite_errorcode": 787}, Violation.FOREIGN_KEY),
        ({"sqlite_errorcode": 1299}, Violation.NOT_NULL),
        ({"sqlite_errorcode": 5}, None),
        ({"sqlstate": "23505"}, Violation.UNIQUE),
        ({"sqlstate": "23503"}, Violation.FOREIGN_KEY),
        ({"sqlstate": "23502"}, Violation.NOT_NULL),
        ({"sqlstate": "40001"}, None),
    ],
)
def test_classification_is_by_code(attributes: dict[str, object], expected: Violation) -> None:
    assert classify(_CodedError(**attributes)) is expected


def test_mysql_errno_classification() -> None:
    assert classify(pymysql.err.IntegrityError(1062, "dup")) is Violation.UNIQUE
    assert classify(pymysql.err.IntegrityError(1452, "fk")) is Violation.FOREIGN_KEY
    assert classify(pymysql.err.IntegrityError(1048, "null")) is Violation.NOT_NULL
    assert classify(pymysql.err.DataError(1406, "too long")) is Violation.TOO_LONG
    assert classify(pymysql.err.OperationalError(1213, "deadlock")) is None
