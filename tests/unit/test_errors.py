"""The translator classifies real constraint violations by code, on every engine."""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Iterator

import pymysql
import pytest
import sqlalchemy as sa

from taskdb import driver_errors, errors
from taskdb.crowd.models import Project, Task, Worker
from taskdb.driver_errors import Detail, Violation, classify, reported
from taskdb.engine import create_engine
from taskdb.errors import (
    DatabaseError,
    EntryAlreadyExists,
    EntryDoesNotExist,
    InvalidEntry,
    TaskdbError,
    translated,
)
from taskdb.spec import CROWD


@pytest.fixture
def engine(crowd_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    # No message fallback: every engine's violations must be classified by their code.
    monkeypatch.setattr(driver_errors, "_MESSAGE_HINTS", ())
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


def test_entry_errors_carry_optional_fields() -> None:
    bare = EntryAlreadyExists("taken")
    assert (bare.table, bare.constraint, bare.columns, bare.values) == (None, None, None, None)
    located = InvalidEntry("bad", table="units", columns=["status"], values={"status": "x"})
    assert (located.table, located.columns, located.values) == (
        "units",
        ("status",),
        {"status": "x"},
    )
    assert isinstance(located, errors.EntryError) and isinstance(located, ValueError)
    copied = pickle.loads(pickle.dumps(located))
    assert (str(copied), copied.table, copied.columns, copied.values) == (
        "bad",
        "units",
        ("status",),
        {"status": "x"},
    )


def test_what_sqlite_reports() -> None:
    unique = sqlite3.IntegrityError(
        "UNIQUE constraint failed: units.assignment_id, units.unit_index"
    )
    assert reported(unique) == Detail(table="units", columns=("assignment_id", "unit_index"))
    not_null = sqlite3.IntegrityError("NOT NULL constraint failed: workers.provider_type")
    assert reported(not_null) == Detail(table="workers", columns=("provider_type",))
    # A dangling reference is not named by SQLite: the repository finds it (tests/crowd).
    assert reported(sqlite3.IntegrityError("FOREIGN KEY constraint failed")) == Detail()


def test_what_mysql_reports() -> None:
    duplicate = pymysql.err.IntegrityError(
        1062, "Duplicate entry '1-0' for key 'units.uq_units_assignment_id_unit_index'"
    )
    assert reported(duplicate) == Detail(constraint="uq_units_assignment_id_unit_index")
    dangling = pymysql.err.IntegrityError(
        1452,
        "Cannot add or update a child row: a foreign key constraint fails (`db`.`tasks`, "
        "CONSTRAINT `fk_tasks_project_id_projects` FOREIGN KEY (`project_id`) "
        "REFERENCES `projects` (`project_id`))",
    )
    assert reported(dangling) == Detail(
        table="tasks", constraint="fk_tasks_project_id_projects", columns=("project_id",)
    )
    null = pymysql.err.IntegrityError(1048, "Column 'provider_type' cannot be null")
    assert reported(null) == Detail(columns=("provider_type",))


class _Diagnostics:
    def __init__(self, **fields: object) -> None:
        self.table_name = fields.get("table_name")
        self.constraint_name = fields.get("constraint_name")
        self.column_name = fields.get("column_name")
        self.message_detail = fields.get("message_detail")


def test_what_postgresql_reports() -> None:
    duplicate = _CodedError(
        sqlstate="23505",
        diag=_Diagnostics(
            table_name="units",
            constraint_name="uq_units_assignment_id_unit_index",
            message_detail="Key (assignment_id, unit_index)=(1, 0) already exists.",
        ),
    )
    assert reported(duplicate) == Detail(
        table="units",
        constraint="uq_units_assignment_id_unit_index",
        columns=("assignment_id", "unit_index"),
        values={"assignment_id": "1", "unit_index": "0"},
    )
    dangling = _CodedError(
        sqlstate="23503",
        diag=_Diagnostics(
            table_name="tasks",
            constraint_name="fk_tasks_project_id_projects",
            message_detail='Key (project_id)=(999) is not present in table "projects".',
        ),
    )
    assert reported(dangling).values == {"project_id": "999"}
    ambiguous = _CodedError(
        diag=_Diagnostics(message_detail="Key (a, b)=(x, y, z) already exists.")
    )
    assert reported(ambiguous) == Detail(columns=("a", "b"))


def test_translation_fills_the_fields_from_the_driver_report() -> None:
    wrapped = sa.exc.IntegrityError(
        "INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed: projects.project_name")
    )
    wrapped.orig.sqlite_errorcode = 2067  # type: ignore[union-attr]
    error = errors.translate(wrapped, "creating project")
    assert type(error) is EntryAlreadyExists
    assert (error.table, error.columns, error.values) == ("projects", ("project_name",), None)
    assert str(error).startswith("creating project: an entry with these values already exists")
