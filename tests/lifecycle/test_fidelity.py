"""Schema fidelity: a file from `alembic upgrade head` equals, table by table, one the seed made."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.dialects.sqlite

from taskdb.engine import create_engine
from taskdb.lifecycle import baseline_revision, upgrade
from taskdb.schema.shape import TableShape, compare, describe
from taskdb.spec import CROWD, QUANTUM, StoreSpec
from tests.support.engines import Target
from tests.support.seed_files import make_crowd_seed_file, make_quantum_seed_file

SEED_FILE_MAKERS = {"crowd": make_crowd_seed_file, "quantum": make_quantum_seed_file}


def _shape(path: Path, spec: StoreSpec) -> dict[str, TableShape]:
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            return describe(connection, spec.tables)
    finally:
        engine.dispose()


def _migrated_file(tmp_path: Path, spec: StoreSpec, revision: str) -> Path:
    path = tmp_path / f"{spec.name}-migrated.sqlite"
    engine = create_engine(f"sqlite:///{path}", spec)
    try:
        upgrade(engine, spec, revision)
    finally:
        engine.dispose()
    return path


@pytest.mark.parametrize("spec", [CROWD, QUANTUM], ids=lambda s: s.name)
def test_baseline_revision_matches_the_seed_schema_exactly(tmp_path: Path, spec: StoreSpec) -> None:
    seed = _shape(SEED_FILE_MAKERS[spec.name](tmp_path / "seed.sqlite"), spec)
    ours = _shape(_migrated_file(tmp_path, spec, baseline_revision(spec)), spec)

    assert sorted(seed) == sorted(spec.tables)
    for table in spec.tables:
        assert ours[table] == seed[table], table
    assert compare(seed, ours).identical


# What revisions after the baselines add to a SQLite file, and nothing else.
LATER_ADDITIONS = {
    "crowd": {
        ("units", "unit_by_worker_index", ("worker_id",)),
        ("agents", "agent_by_unit_index", ("unit_id",)),
        ("onboarding_agents", "onboarding_agent_by_worker_index", ("worker_id",)),
        (
            "granted_qualifications",
            "granted_qualification_by_qualification_index",
            ("qualification_id",),
        ),
    },
    "quantum": set(),  # quantum_0002 and quantum_0003 change only server databases
}


@pytest.mark.parametrize("spec", [CROWD, QUANTUM], ids=lambda s: s.name)
def test_head_is_the_seed_schema_plus_the_listed_additions(tmp_path: Path, spec: StoreSpec) -> None:
    seed = _shape(SEED_FILE_MAKERS[spec.name](tmp_path / "seed.sqlite"), spec)
    head = _shape(_migrated_file(tmp_path, spec, "head"), spec)

    comparison = compare(seed, head)
    assert comparison.problems == ()
    assert comparison.missing_indexes == ()
    added = {
        (table, name, columns)
        for table in spec.tables
        for name, columns in head[table].indexes
        if (name, columns) not in seed[table].indexes
    }
    assert added == LATER_ADDITIONS[spec.name]


def test_crowd_seed_schema_facts_are_all_compared(tmp_path: Path) -> None:
    seed = _shape(make_crowd_seed_file(tmp_path / "seed.sqlite"), CROWD)

    assert sum(len(shape.indexes) for shape in seed.values()) == 11
    assert all(shape.autoincrement for shape in seed.values())
    units = seed["units"]
    assert [c.name for c in units.columns][:4] == [
        "unit_id",
        "assignment_id",
        "unit_index",
        "pay_amount",
    ]
    assert ("assignment_id", "unit_index") in units.unique_sets
    assert len(units.foreign_keys) == 6
    assert {c.declared_type for c in units.columns} == {
        "INTEGER",
        "FLOAT",
        "TEXT",
        "BOOLEAN",
        "DATETIME",
    }


def test_comparison_reports_a_changed_column(tmp_path: Path) -> None:
    path = make_crowd_seed_file(tmp_path / "seed.sqlite")
    expected = _shape(path, CROWD)
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP INDEX unit_by_status_index")
        connection.exec_driver_sql("ALTER TABLE workers ADD COLUMN nickname TEXT")
    engine.dispose()

    comparison = compare(expected, _shape(path, CROWD))

    assert comparison.missing_indexes == (("unit_by_status_index", "units", ("status",)),)
    assert comparison.problems == ("column workers.nickname is not in the expected schema",)


def test_other_tables_keep_sqlalchemys_ddl_and_reflection(sqlite_target: Target) -> None:
    sqlite_target.migrated_url(CROWD)  # runs the migrations, and their reflection hook
    users = sa.Table(
        "codes",
        sa.MetaData(),
        sa.Column("code", sa.String, primary_key=True),
        sa.Column("n", sa.Integer),
    )
    ddl = str(sa.schema.CreateTable(users).compile(dialect=sa.dialects.sqlite.dialect()))
    assert "code VARCHAR NOT NULL" in ddl

    engine = sa.create_engine("sqlite://")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE loose (id TEXT PRIMARY KEY, n INTEGER)")
        reflected = sa.inspect(connection).get_columns("loose")
    engine.dispose()
    assert reflected[0]["nullable"] is True
