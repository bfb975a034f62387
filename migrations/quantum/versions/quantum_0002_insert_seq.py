"""Insertion order on server engines: ``tasks.insert_seq`` (PostgreSQL, MySQL/MariaDB only).

Revision ID: quantum_0002
Revises: quantum_0001
Create Date: 2026-11-24

The seed breaks ``submit_time`` ties by SQLite's rowid; servers have no rowid, so they
get an ever-increasing column instead. SQLite is left exactly as the seed made it.
The models do not declare the column (see SERVER_ONLY_COLUMNS in the environment).
"""

from __future__ import annotations

from alembic import op

revision = "quantum_0002"
down_revision = "quantum_0001"
branch_labels = None
depends_on = None

_MYSQL = ("mysql", "mariadb")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # ALWAYS: nobody writes the column, so its order is the order rows arrived.
        op.execute("ALTER TABLE tasks ADD COLUMN insert_seq BIGINT GENERATED ALWAYS AS IDENTITY")
    elif dialect in _MYSQL:
        # InnoDB needs a key that starts with an AUTO_INCREMENT column.
        op.execute(
            "ALTER TABLE tasks ADD COLUMN insert_seq BIGINT NOT NULL AUTO_INCREMENT, "
            "ADD CONSTRAINT uq_tasks_insert_seq UNIQUE (insert_seq)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name in ("postgresql", *_MYSQL):
        # Dropping the column drops MySQL's unique key over it as well.
        op.execute("ALTER TABLE tasks DROP COLUMN insert_seq")
