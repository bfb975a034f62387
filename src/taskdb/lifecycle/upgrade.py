"""Move a database along its store's history: upgrade (adopting a seed file first), downgrade.

Each step is logged under the ``taskdb`` logger.
"""

from __future__ import annotations

import logging

from alembic import command
from sqlalchemy import Engine

from taskdb.backends import backend_for
from taskdb.errors import translated
from taskdb.lifecycle.adopt import adopt_locked
from taskdb.lifecycle.backup import backup_sqlite
from taskdb.lifecycle.history import alembic_config
from taskdb.lifecycle.lock import migration_lock
from taskdb.lifecycle.status import DatabaseStatus, State, read_status, refuse_unusable
from taskdb.spec import StoreSpec

log = logging.getLogger(__name__)


def upgrade(engine: Engine, spec: StoreSpec, revision: str = "head") -> DatabaseStatus:
    """Bring a database to ``revision`` under the migration lock; adopt a legacy one first."""
    embedded = backend_for(engine).embedded
    with migration_lock(engine, spec):
        # Decided under the lock: another process may have done the work meanwhile.
        status = read_status(engine, spec)
        refuse_unusable(status, spec, embedded)
        if status.state is State.CURRENT and revision == "head":
            return status
        if status.state is State.LEGACY:
            adopt_locked(engine, spec)
        elif status.state is State.BEHIND and status.revision is not None:
            backup_sqlite(engine, status.revision)
        log.info("upgrading the %s database at %s to %s", spec.name, status.url, revision)
        with translated(f"upgrading the {spec.name} database"), engine.connect() as connection:
            command.upgrade(alembic_config(spec, connection=connection), revision)
        return read_status(engine, spec)


def downgrade(engine: Engine, spec: StoreSpec, revision: str) -> DatabaseStatus:
    """Take a database back to ``revision`` (``base`` removes the store's tables)."""
    with migration_lock(engine, spec):
        status = read_status(engine, spec)
        refuse_unusable(status, spec, backend_for(engine).embedded)
        log.info("downgrading the %s database at %s to %s", spec.name, status.url, revision)
        with translated(f"downgrading the {spec.name} database"), engine.connect() as connection:
            command.downgrade(alembic_config(spec, connection=connection), revision)
        return read_status(engine, spec)


def adopt(engine: Engine, spec: StoreSpec) -> DatabaseStatus:
    """Check a database made by the seed code, stamp it in place, then bring it to head."""
    return upgrade(engine, spec, "head")
