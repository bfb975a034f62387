"""Crowd baseline: the eleven tables and eleven named indexes of LocalMephistoDB.

Revision ID: crowd_0001
Revises:
Create Date: 2026-11-23

Table shapes are frozen here on purpose: this revision never imports the live models.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from taskdb.schema import SEED_DDL, KeyText

revision = "crowd_0001"
down_revision = None
branch_labels = ("crowd",)
depends_on = None

APPLICATION_ID = 0x54444243  # b"TDBC"

_MYSQL = ("mysql", "mariadb")
# Text in keys and indexes: VARCHAR(255) with a binary collation on MySQL (see taskdb.schema).
KEY_TEXT = KeyText()
DOUBLE = sa.Float().with_variant(mysql.DOUBLE(asdecimal=False), *_MYSQL)
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), *_MYSQL)

INDEXES = (
    ("requesters_by_provider_index", "requesters", ("provider_type",)),
    ("unit_by_status_index", "units", ("status",)),
    ("unit_by_assignment_id_index", "units", ("assignment_id",)),
    ("unit_by_task_run_index", "units", ("task_run_id",)),
    ("unit_by_task_run_by_worker_by_status_index", "units", ("task_run_id", "worker_id", "status")),
    ("unit_by_task_by_worker_index", "units", ("task_id", "worker_id")),
    ("agent_by_worker_by_status_index", "agents", ("worker_id", "status")),
    ("agent_by_task_run_index", "agents", ("task_run_id",)),
    ("assignment_by_task_run_index", "assignments", ("task_run_id",)),
    ("task_run_by_requester_index", "task_runs", ("requester_id",)),
    ("task_run_by_task_index", "task_runs", ("task_id",)),
)


def _key(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer, primary_key=True, autoincrement=True)


def _text(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, KEY_TEXT, nullable=nullable)


def _int(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer, nullable=nullable)


def _bool(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Boolean, nullable=False)


def _created() -> sa.Column[Any]:
    return sa.Column("creation_date", sa.DateTime, server_default=sa.text("CURRENT_TIMESTAMP"))


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.{column}"], name=f"fk_{table}_{column}_{target}"
    )


def _table(name: str, *items: Any) -> None:
    # info marks the SQLite DDL of the seed (primary keys without NOT NULL): see taskdb.schema.
    op.create_table(name, *items, sqlite_autoincrement=True, info={SEED_DDL: True})


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _table(
        "projects",
        _key("project_id"),
        _text("project_name"),
        _created(),
        sa.UniqueConstraint("project_name", name="uq_projects_project_name"),
    )
    _table(
        "tasks",
        _key("task_id"),
        _text("task_name"),
        _text("task_type"),
        _int("project_id", nullable=True),
        _int("parent_task_id", nullable=True),
        _created(),
        sa.ForeignKeyConstraint(
            ["parent_task_id"], ["tasks.task_id"], name="fk_tasks_parent_task_id_tasks"
        ),
        _fk("tasks", "project_id", "projects"),
        sa.UniqueConstraint("task_name", name="uq_tasks_task_name"),
    )
    _table(
        "requesters",
        _key("requester_id"),
        _text("requester_name"),
        _text("provider_type"),
        _created(),
        sa.UniqueConstraint("requester_name", name="uq_requesters_requester_name"),
    )
    _table(
        "task_runs",
        _key("task_run_id"),
        _int("task_id"),
        _int("requester_id"),
        sa.Column("init_params", LONG_TEXT, nullable=False),
        _bool("is_completed"),
        _text("provider_type"),
        _text("task_type"),
        _bool("sandbox"),
        _created(),
        _fk("task_runs", "task_id", "tasks"),
        _fk("task_runs", "requester_id", "requesters"),
    )
    _table(
        "assignments",
        _key("assignment_id"),
        _int("task_id"),
        _int("task_run_id"),
        _int("requester_id"),
        _text("task_type"),
        _text("provider_type"),
        _bool("sandbox"),
        _created(),
        _fk("assignments", "task_id", "tasks"),
        _fk("assignments", "task_run_id", "task_runs"),
        _fk("assignments", "requester_id", "requesters"),
    )
    _table(
        "workers",
        _key("worker_id"),
        _text("worker_name"),
        _text("provider_type"),
        _created(),
        sa.UniqueConstraint("worker_name", name="uq_workers_worker_name"),
    )
    # SQLite accepts a key to a table created later; servers get it once agents exists.
    unit_agent_key = [_fk("units", "agent_id", "agents")] if sqlite else []
    _table(
        "units",
        _key("unit_id"),
        _int("assignment_id"),
        _int("unit_index"),
        sa.Column("pay_amount", DOUBLE, nullable=False),
        _text("provider_type"),
        _text("status"),
        _int("agent_id", nullable=True),
        _int("worker_id", nullable=True),
        _text("task_type"),
        _int("task_id"),
        _int("task_run_id"),
        _bool("sandbox"),
        _int("requester_id"),
        _created(),
        _fk("units", "assignment_id", "assignments"),
        *unit_agent_key,
        _fk("units", "task_run_id", "task_runs"),
        _fk("units", "task_id", "tasks"),
        _fk("units", "requester_id", "requesters"),
        _fk("units", "worker_id", "workers"),
        sa.UniqueConstraint(
            "assignment_id", "unit_index", name="uq_units_assignment_id_unit_index"
        ),
    )
    _table(
        "agents",
        _key("agent_id"),
        _int("worker_id"),
        _int("unit_id"),
        _int("task_id"),
        _int("task_run_id"),
        _int("assignment_id"),
        _text("task_type"),
        _text("provider_type"),
        _text("status"),
        _created(),
        _fk("agents", "worker_id", "workers"),
        _fk("agents", "unit_id", "units"),
    )
    _table(
        "qualifications",
        _key("qualification_id"),
        _text("qualification_name"),
        _created(),
        sa.UniqueConstraint("qualification_name", name="uq_qualifications_qualification_name"),
    )
    _table(
        "granted_qualifications",
        _key("granted_qualification_id"),
        _int("worker_id"),
        _int("qualification_id"),
        _int("value"),
        _created(),
        _fk("granted_qualifications", "worker_id", "workers"),
        _fk("granted_qualifications", "qualification_id", "qualifications"),
        sa.UniqueConstraint(
            "worker_id",
            "qualification_id",
            name="uq_granted_qualifications_worker_id_qualification_id",
        ),
    )
    _table(
        "onboarding_agents",
        _key("onboarding_agent_id"),
        _int("worker_id"),
        _int("task_id"),
        _int("task_run_id"),
        _text("task_type"),
        _text("status"),
        _created(),
        _fk("onboarding_agents", "worker_id", "workers"),
        _fk("onboarding_agents", "task_run_id", "task_runs"),
    )
    if not sqlite:
        op.create_foreign_key(
            "fk_units_agent_id_agents", "units", "agents", ["agent_id"], ["agent_id"]
        )
    for name, table, columns in INDEXES:
        op.create_index(name, table, list(columns))
    if sqlite:
        op.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # Indexes go with their tables; MySQL refuses to drop one a foreign key still uses.
    if not sqlite:
        op.drop_constraint("fk_units_agent_id_agents", "units", type_="foreignkey")
    for table in (
        "onboarding_agents",
        "granted_qualifications",
        "qualifications",
        "agents",
        "units",
        "workers",
        "assignments",
        "task_runs",
        "requesters",
        "tasks",
        "projects",
    ):
        op.drop_table(table)
    if sqlite:
        op.execute("PRAGMA application_id = 0")
