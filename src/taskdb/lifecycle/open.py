"""Open a store's database: an embedded SQLite file upgrades itself; servers are only checked.

The URL, engine family and file are resolved once, into a :class:`Database`. A current
database costs one status read. A refused one (foreign, too new, a server behind) is
refused from that read, with nothing created beside it. Only a database that needs
work goes on to the upgrade, which reads it again under the migration lock, acts,
and reads it once after. A server database is upgraded on open only when the caller
asks for it (``upgrade=True``): an application that owns its database can then bring
it to head at start-up, and concurrent openers wait for each other on the lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from taskdb.engine import Database, Durability, connect_database, engine_options_of
from taskdb.errors import DatabaseBehind, InvalidEntry, InvalidType
from taskdb.lifecycle.check import verify_pages_once
from taskdb.lifecycle.status import DatabaseStatus, State, refuse_unusable, status_of
from taskdb.lifecycle.upgrade import upgrade_database
from taskdb.spec import StoreSpec


def prepare(engine: Engine, spec: StoreSpec, *, upgrade: bool = False) -> DatabaseStatus:
    """Make an opened database usable, or refuse it.

    SQLite upgrades itself; a server database is upgraded only with ``upgrade=True``.
    """
    return prepare_database(Database.of(engine, spec), upgrade=upgrade)


def prepare_database(database: Database, *, upgrade: bool = False) -> DatabaseStatus:
    spec = database.spec
    status = status_of(database)
    if status.state is State.CURRENT:
        if database.backend.embedded:
            verify_pages_once(database)
        return status
    embedded = database.backend.embedded
    refuse_unusable(status, spec, embedded)
    if not embedded and not upgrade:
        raise DatabaseBehind(
            f"the {spec.name} database at {status.url} is {status.state.value} "
            f"(revision {status.revision or 'none'}, head {status.head}); bring it to head "
            f"with `{spec.upgrade_command(status.url)}`"
        )
    return upgrade_database(database)


def open_engine(
    spec: StoreSpec,
    url: str | None = None,
    *,
    engine_options: Mapping[str, Any] | None = None,
    engine: Engine | None = None,
    upgrade: bool = False,
    durability: Durability = "normal",
) -> Engine:
    """Make the store's database usable and return its engine.

    Without ``engine``: create the engine for ``url`` (or the store's default) with
    ``engine_options`` (``sqlalchemy.create_engine`` arguments over taskdb's own); it is
    disposed again if the database is refused. With ``engine``: the caller's engine goes
    through the same checks and upgrades, and is never disposed here (the caller owns it).

    ``durability`` is SQLite's commit guarantee (``taskdb.engine.DURABILITY``): the
    default ``"normal"`` survives an application crash, ``"full"`` also a power loss.

    A SQLite file is always brought to head. A PostgreSQL or MariaDB database behind
    head (fresh included) raises ``DatabaseBehind`` unless ``upgrade`` is true: then it
    is upgraded under the migration lock, as ``taskdb upgrade`` would. A foreign or too
    new database is refused either way.
    """
    if not isinstance(upgrade, bool):
        raise InvalidType(f"upgrade is True or False, got {upgrade!r}")
    if engine is not None:
        if url:
            raise InvalidEntry(f"give the {spec.name} store either a URL or an engine, not both")
        if engine_options:
            raise InvalidEntry(
                "engine_options apply to an engine taskdb creates; set them on your engine"
            )
        if durability != "normal":
            raise InvalidEntry(
                "durability applies to an engine taskdb creates; give it to "
                "taskdb.engine.create_engine(url, spec, durability=...) instead"
            )
        prepare_database(Database.given(engine, spec), upgrade=upgrade)
        return engine
    options = engine_options_of(engine_options)
    database = connect_database(spec.resolve_url(url), spec, durability=durability, **options)
    try:
        prepare_database(database, upgrade=upgrade)
    except BaseException:
        database.engine.dispose()
        raise
    return database.engine
