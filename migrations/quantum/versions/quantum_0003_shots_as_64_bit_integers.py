"""Shots as 64-bit integers: ``tasks.shots`` becomes BIGINT on PostgreSQL and MySQL/MariaDB.

Revision ID: quantum_0003
Revises: quantum_0002
Create Date: 2026-12-04

The seed kept ``shots`` in a SQLite INTEGER, which holds any signed 64-bit number, and
its callers stored numbers past 2**31 - 1 (and negative ones). The servers' INTEGER is
32 bits, so rows copied from such a file did not fit: the servers get BIGINT.

SQLite is skipped: its INTEGER is already 64 bits, and a batch rebuild would copy every
row into a new table for nothing (and lose the rowids that order tied ``submit_time``s).
The model declares ``BigInteger().with_variant(Integer(), "sqlite")``, so ``alembic
check`` finds SQLite files, with the seed's ``shots INTEGER``, up to date.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from taskdb.errors import DatabaseError

revision = "quantum_0003"
down_revision = "quantum_0002"
branch_labels = None
depends_on = None

INT32 = (-(2**31), 2**31 - 1)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column(
        "tasks",
        "shots",
        existing_type=sa.INTEGER(),
        type_=sa.BigInteger(),
        existing_nullable=False,
        existing_server_default=sa.text("0"),
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    # PostgreSQL would fail the ALTER, but MySQL in a non-strict sql_mode clamps the values
    # (and its DDL is not transactional): refuse before anything changes.
    outside = bind.execute(
        sa.text("SELECT COUNT(*) FROM tasks WHERE shots < :low OR shots > :high"),
        {"low": INT32[0], "high": INT32[1]},
    ).scalar_one()
    if outside:
        raise DatabaseError(
            f"{outside} tasks have shots outside the 32-bit INTEGER range of quantum_0002; "
            "change or delete them before downgrading past quantum_0003"
        )
    op.alter_column(
        "tasks",
        "shots",
        existing_type=sa.BigInteger(),
        type_=sa.INTEGER(),
        existing_nullable=False,
        existing_server_default=sa.text("0"),
    )
