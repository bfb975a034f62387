"""A store's Alembic history, configured in code: the scripts ship inside the package."""

from __future__ import annotations

import functools

from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection

from taskdb.errors import DatabaseError
from taskdb.spec import StoreSpec

# Key of ``Config.attributes`` under which taskdb hands env.py an open connection.
CONNECTION = "connection"
# Key of ``Config.attributes`` for an explicit URL (the ``--url`` of the taskdb command).
URL = "url"


def alembic_config(
    spec: StoreSpec, url: str | None = None, connection: Connection | None = None
) -> Config:
    """An Alembic config for a store that needs no ini file."""
    config = Config()
    config.set_main_option("script_location", spec.script_location)
    if url is not None:
        config.attributes[URL] = url
    if connection is not None:
        config.attributes[CONNECTION] = connection
    return config


@functools.cache
def script_directory(spec: StoreSpec) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(spec))


def head_revision(spec: StoreSpec) -> str:
    heads = script_directory(spec).get_heads()
    if len(heads) != 1:
        raise DatabaseError(f"the {spec.name} history has {len(heads)} heads, expected one")
    return heads[0]


def baseline_revision(spec: StoreSpec) -> str:
    bases = script_directory(spec).get_bases()
    if len(bases) != 1:
        raise DatabaseError(f"the {spec.name} history has {len(bases)} bases, expected one")
    return bases[0]


def is_known(spec: StoreSpec, revision: str) -> bool:
    """Whether this taskdb's history holds ``revision`` (else a newer taskdb wrote it)."""
    try:
        return script_directory(spec).get_revision(revision) is not None
    except CommandError:
        return False
