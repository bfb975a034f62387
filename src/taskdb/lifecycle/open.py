"""Open a store's database: an embedded SQLite file upgrades itself; servers are only checked.

A current database costs one status read. A refused one (foreign, too new, a
server behind) is refused from that read, with nothing created beside it. Only a
database that needs work is read again, under the migration lock (another process
may have done the work meanwhile), then acted on and read once after.
"""

from __future__ import annotations

from sqlalchemy import Engine

from taskdb.backends import backend_for
from taskdb.engine import create_engine
from taskdb.errors import DatabaseBehind
from taskdb.lifecycle.status import DatabaseStatus, State, read_status, refuse_unusable
from taskdb.lifecycle.upgrade import upgrade
from taskdb.spec import StoreSpec


def prepare(engine: Engine, spec: StoreSpec) -> DatabaseStatus:
    """Make an opened database usable, or refuse it. SQLite upgrades itself; servers do not."""
    status = read_status(engine, spec)
    if status.state is State.CURRENT:
        return status
    embedded = backend_for(engine).embedded
    refuse_unusable(status, spec, embedded)
    if not embedded:
        raise DatabaseBehind(
            f"the {spec.name} database at {status.url} is {status.state.value} "
            f"(revision {status.revision or 'none'}, head {status.head}); bring it to head "
            f"with `{spec.upgrade_command(status.url)}`"
        )
    return upgrade(engine, spec)


def open_engine(spec: StoreSpec, url: str | None = None) -> Engine:
    """Create the store's engine for ``url`` (or its default) and make the database usable."""
    engine = create_engine(spec.resolve_url(url), spec)
    try:
        prepare(engine, spec)
    except BaseException:
        engine.dispose()
        raise
    return engine
