"""The Alembic histories: one head each, product-specific version tables, round trips, no drift."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from engines import Target

from taskdb.engine import create_engine
from taskdb.migrate import (
    State,
    alembic_config,
    downgrade,
    head_revision,
    read_status,
    script_directory,
    upgrade,
)
from taskdb.stores import CROWD, QUANTUM, StoreSpec

SPECS = pytest.mark.parametrize("spec", [CROWD, QUANTUM], ids=lambda s: s.name)


@SPECS
def test_each_store_has_exactly_one_head_and_one_base(spec: StoreSpec) -> None:
    scripts = script_directory(spec)
    assert len(scripts.get_heads()) == 1
    assert len(scripts.get_bases()) == 1
    assert all(rev.revision.startswith(f"{spec.name}_") for rev in scripts.walk_revisions())


@SPECS
def test_upgrade_downgrade_round_trip_and_no_drift(target: Target, spec: StoreSpec) -> None:
    engine = create_engine(target.fresh_url(spec.name), spec)
    try:
        assert read_status(engine, spec).state is State.FRESH
        assert upgrade(engine, spec).state is State.CURRENT
        tables = set(sa.inspect(engine).get_table_names())
        assert set(spec.baseline_tables) | {spec.version_table} <= tables
        assert "alembic_version" not in tables

        with engine.connect() as connection:
            command.check(alembic_config(spec, connection=connection))

        assert downgrade(engine, spec, "base").state is State.FRESH
        assert set(sa.inspect(engine).get_table_names()) & set(spec.baseline_tables) == set()
        status = upgrade(engine, spec)
        assert (status.state, status.revision) == (State.CURRENT, head_revision(spec))
    finally:
        engine.dispose()


def test_check_detects_drift_between_models_and_database(sqlite_target: Target) -> None:
    engine = create_engine(sqlite_target.migrated_url(CROWD), CROWD)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP INDEX unit_by_status_index")
        with engine.connect() as connection, pytest.raises(Exception, match="unit_by_status"):
            command.check(alembic_config(CROWD, connection=connection))
    finally:
        engine.dispose()
