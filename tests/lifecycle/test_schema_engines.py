"""The same schema on every engine, compared in a normalised form against SQLite's."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from taskdb.engine import create_engine
from taskdb.lifecycle.autogen import SERVER_ONLY_COLUMNS
from taskdb.spec import CROWD, QUANTUM, StoreSpec
from tests.support.engines import Target

FAMILIES = (
    (sa.Boolean, "boolean"),  # before Integer: MySQL reflects BOOL as TINYINT(1)
    (sa.Integer, "integer"),
    (sa.Float, "number"),
    (sa.Numeric, "number"),
    (sa.DateTime, "datetime"),
    (sa.String, "text"),
)


def _family(column: dict[str, Any]) -> str:
    kind = column["type"]
    if getattr(kind, "display_width", None) == 1:  # MySQL's TINYINT(1) is its BOOLEAN
        return "boolean"
    for base, name in FAMILIES:
        if isinstance(kind, base):
            return name
    return type(kind).__name__


def _normalised(url: str, spec: StoreSpec) -> dict[str, Any]:
    engine = create_engine(url, spec)
    try:
        inspector = sa.inspect(engine)
        shape: dict[str, Any] = {}
        for table in spec.tables:
            columns = [
                c for c in inspector.get_columns(table) if c["name"] not in SERVER_ONLY_COLUMNS
            ]
            primary = inspector.get_pk_constraint(table)["constrained_columns"]
            shape[table] = {
                "columns": [
                    (c["name"], _family(c), c["name"] in primary or not c["nullable"])
                    for c in columns
                ],
                "primary_key": primary,
                "foreign_keys": sorted(
                    (
                        tuple(fk["constrained_columns"]),
                        fk["referred_table"],
                        tuple(fk["referred_columns"]),
                    )
                    for fk in inspector.get_foreign_keys(table)
                ),
                "unique": sorted(
                    tuple(u["column_names"])
                    for u in inspector.get_unique_constraints(table)
                    if not set(u["column_names"]) & SERVER_ONLY_COLUMNS
                ),
                # Named indexes only: MySQL adds its own, named after the foreign keys.
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]))
                    for i in inspector.get_indexes(table)
                    if i["name"]
                    and not i["name"].startswith(("fk_", "uq_", "sqlite_"))
                    and not i.get("unique")
                ),
            }
        return shape
    finally:
        engine.dispose()


@pytest.mark.parametrize("spec", [CROWD, QUANTUM], ids=lambda s: s.name)
def test_every_engine_has_the_sqlite_schema(
    server_target: Target, sqlite_target: Target, spec: StoreSpec
) -> None:
    expected = _normalised(sqlite_target.migrated_url(spec), spec)
    found = _normalised(server_target.migrated_url(spec), spec)

    for table in spec.tables:
        assert found[table] == expected[table], table
    assert sum(len(t["indexes"]) for t in expected.values()) >= (15 if spec is CROWD else 3)
