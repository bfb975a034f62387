"""Quantum baseline: UnifiedQuantum's ``tasks`` table and its three indexes (seed schema v1).

Revision ID: quantum_0001
Revises:
Create Date: 2026-11-23

Stamps application_id "UNIC" and user_version 1 on SQLite so the seed code still opens the file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from taskdb.schema import SEED_DDL, KeyText

revision = "quantum_0001"
down_revision = None
branch_labels = ("quantum",)
depends_on = None

APPLICATION_ID = 0x554E4943  # b"UNIC"
SEED_USER_VERSION = 1

_MYSQL = ("mysql", "mariadb")
# Text in keys and indexes: VARCHAR(255) with a binary collation on MySQL (see taskdb.schema).
KEY_TEXT = KeyText()
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), *_MYSQL)

INDEXES = (
    ("tasks_backend_idx", "backend"),
    ("tasks_status_idx", "status"),
    ("tasks_submit_time_idx", "submit_time"),
)


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("task_id", KEY_TEXT, primary_key=True),
        sa.Column("backend", KEY_TEXT, nullable=False),
        sa.Column("status", KEY_TEXT, nullable=False),
        sa.Column("shots", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("submit_time", KEY_TEXT, nullable=False),
        sa.Column("update_time", KEY_TEXT, nullable=False),
        sa.Column("result_json", LONG_TEXT, nullable=True),
        sa.Column("metadata_json", LONG_TEXT, nullable=False, server_default=sa.text("'{}'")),
        # Marks the seed's SQLite DDL (primary key without NOT NULL): see taskdb.schema.
        info={SEED_DDL: True},
    )
    for name, column in INDEXES:
        op.create_index(name, "tasks", [column])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        op.execute(f"PRAGMA user_version = {SEED_USER_VERSION}")


def downgrade() -> None:
    op.drop_table("tasks")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA user_version = 0")
        op.execute("PRAGMA application_id = 0")
