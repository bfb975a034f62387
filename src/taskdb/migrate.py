"""Deprecated alias of :mod:`taskdb.lifecycle`, kept for callers of taskdb 0.1."""

from taskdb.engine import public_url
from taskdb.lifecycle import (
    DatabaseStatus,
    State,
    adopt,
    alembic_config,
    baseline_revision,
    downgrade,
    head_revision,
    open_engine,
    prepare,
    read_status,
    upgrade,
)

__all__ = [
    "DatabaseStatus",
    "State",
    "adopt",
    "alembic_config",
    "baseline_revision",
    "downgrade",
    "head_revision",
    "open_engine",
    "prepare",
    "public_url",
    "read_status",
    "upgrade",
]
