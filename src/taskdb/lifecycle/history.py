"""A store's Alembic history, configured in code: the scripts ship inside the package."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Revision:
    """One step of a store's history, as ``taskdb history`` shows it."""

    revision: str
    down_revision: str | None
    message: str
    is_head: bool


def history(spec: StoreSpec) -> list[Revision]:
    """The store's revisions, newest first."""
    return [
        Revision(
            script.revision,
            _single(script.down_revision),
            (script.doc or "").strip(),
            script.is_head,
        )
        for script in script_directory(spec).walk_revisions()
    ]


def _single(down: str | Sequence[str] | None) -> str | None:
    return down if down is None or isinstance(down, str) else ", ".join(down)


def is_older(spec: StoreSpec, target: str, current: str) -> bool:
    """Whether going from ``current`` to ``target`` would be a downgrade."""
    if target == "base" or target.startswith("-"):
        return True
    if target in ("head", "heads") or target.startswith("+"):
        return False
    scripts = script_directory(spec)
    resolved = scripts.get_revision(target)
    if resolved is None or resolved.revision == current:
        return False
    below_current = {script.revision for script in scripts.walk_revisions("base", current)}
    return resolved.revision in below_current


def is_known(spec: StoreSpec, revision: str) -> bool:
    """Whether this taskdb's history holds ``revision`` (else a newer taskdb wrote it)."""
    try:
        return script_directory(spec).get_revision(revision) is not None
    except CommandError:
        return False
