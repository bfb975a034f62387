"""Indexes for the seed finders that scanned: units by worker, agents by unit, and two more.

Revision ID: crowd_0002
Revises: crowd_0001
Create Date: 2026-11-23

The seed serves find_units(worker_id=...), find_agents(unit_id=...),
find_onboarding_agents(worker_id=...) and grant lookups by qualification with
full scans; deleting a qualification scans its grants too.
"""

from __future__ import annotations

from alembic import op

revision = "crowd_0002"
down_revision = "crowd_0001"
branch_labels = None
depends_on = None

# (index, table, column, the table that column's foreign key refers to)
INDEXES = (
    ("unit_by_worker_index", "units", "worker_id", "workers"),
    ("agent_by_unit_index", "agents", "unit_id", "units"),
    ("onboarding_agent_by_worker_index", "onboarding_agents", "worker_id", "workers"),
    (
        "granted_qualification_by_qualification_index",
        "granted_qualifications",
        "qualification_id",
        "qualifications",
    ),
)


def upgrade() -> None:
    for name, table, column, _referred in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    mysql = op.get_bind().dialect.name in ("mysql", "mariadb")
    for name, table, column, referred in INDEXES:
        foreign_key = f"fk_{table}_{column}_{referred}"
        if mysql:
            # InnoDB now uses this index for the key; re-adding the key gives it its own again.
            op.drop_constraint(foreign_key, table, type_="foreignkey")
        op.drop_index(name, table_name=table)
        if mysql:
            op.create_foreign_key(foreign_key, table, referred, [column], [column])
