"""Move a database along its store's history: upgrade (adopting a seed file first), downgrade.

Each acts under the migration lock: the status is read once before acting (under the
lock, since another process may have done the work meanwhile) and once after. Each
step is logged under the ``taskdb`` logger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from taskdb.engine import Database
from taskdb.errors import InvalidEntry, translated
from taskdb.lifecycle.adopt import adopt_locked
from taskdb.lifecycle.backup import backup_sqlite
from taskdb.lifecycle.check import verify_pages
from taskdb.lifecycle.history import alembic_config, is_older
from taskdb.lifecycle.lock import migration_lock
from taskdb.lifecycle.status import DatabaseStatus, State, refuse_unusable, status_of
from taskdb.spec import StoreSpec

log = logging.getLogger(__name__)


def upgrade(engine: Engine, spec: StoreSpec, revision: str = "head") -> DatabaseStatus:
    """Bring a database to ``revision`` under the migration lock; adopt a legacy one first."""
    return upgrade_database(Database.of(engine, spec), revision)


def upgrade_database(database: Database, revision: str = "head") -> DatabaseStatus:
    spec = database.spec
    with migration_lock(database):
        status = status_of(database)
        refuse_unusable(status, spec, database.backend.embedded)
        if status.state is State.CURRENT and revision == "head":
            return status
        if status.revision is not None and is_older(spec, revision, status.revision):
            raise InvalidEntry(
                f"{revision} is older than the database's {status.revision}: upgrade never "
                f"goes back; run `taskdb downgrade {revision} --store {spec.name} --yes`"
            )
        if status.state in (State.LEGACY, State.BEHIND):
            # Every page read once before a backup and a migration build on the file.
            verify_pages(database)
        if status.state is State.LEGACY:
            adopt_locked(database)
        elif status.state is State.BEHIND and status.revision is not None:
            backup_sqlite(database, status.revision)
        log.info("upgrading the %s database at %s to %s", spec.name, database.url, revision)
        with translated(f"upgrading the {spec.name} database"), database.engine.connect() as c:
            command.upgrade(alembic_config(spec, connection=c), revision)
        return status_of(database)


def downgrade(engine: Engine, spec: StoreSpec, revision: str) -> DatabaseStatus:
    """Take a database back to ``revision`` (``base`` removes the store's tables)."""
    return _alembic_step(engine, spec, "downgrading", command.downgrade, revision)


def stamp(engine: Engine, spec: StoreSpec, revision: str) -> DatabaseStatus:
    """Record ``revision`` in the version table without running any migration."""
    return _alembic_step(engine, spec, "stamping", command.stamp, revision)


def _alembic_step(
    engine: Engine,
    spec: StoreSpec,
    doing: str,
    step: Callable[[Config, str], object],
    revision: str,
) -> DatabaseStatus:
    """Run one Alembic command on a usable database, under the migration lock."""
    database = Database.of(engine, spec)
    with migration_lock(database):
        refuse_unusable(status_of(database), spec, database.backend.embedded)
        log.info("%s the %s database at %s to %s", doing, spec.name, database.url, revision)
        with translated(f"{doing} the {spec.name} database"), engine.connect() as c:
            step(alembic_config(spec, connection=c), revision)
        return status_of(database)


def adopt(engine: Engine, spec: StoreSpec) -> DatabaseStatus:
    """Check a database made by the seed code, stamp it in place, then bring it to head."""
    return upgrade(engine, spec, "head")
