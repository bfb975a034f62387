"""From a URL to a usable database: status, open, upgrade, adopt, lock, check, and env.py's body.

The modules, in the order a call meets them: ``history`` (the Alembic scripts),
``status`` (the one classifier) and ``layout`` (what a revision's tables, columns
and user_version are, checked on every open), ``lock``, ``backup``, ``adopt``,
``upgrade``, ``open``, ``check``; ``env`` is the body of every ``migrations/*/env.py``.
"""

from taskdb.lifecycle.check import drift
from taskdb.lifecycle.history import alembic_config, baseline_revision, head_revision
from taskdb.lifecycle.open import open_engine, prepare
from taskdb.lifecycle.status import DatabaseStatus, State, read_status
from taskdb.lifecycle.upgrade import adopt, downgrade, upgrade

__all__ = [
    "DatabaseStatus",
    "State",
    "adopt",
    "alembic_config",
    "baseline_revision",
    "downgrade",
    "drift",
    "head_revision",
    "open_engine",
    "prepare",
    "read_status",
    "upgrade",
]
