"""What distinguishes the two stores: where they live, how files are tagged, which history."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from sqlalchemy import MetaData

HOME_ENV = "TASKDB_HOME"


@dataclass(frozen=True)
class StoreSpec:
    """Facts about one store that the engine, the lifecycle and the tools share."""

    name: str
    url_env: str
    version_table: str
    # SQLite header tag stamped by the baseline revision and checked on every connect.
    application_id: int
    alembic_section: str
    # "module:Class" of the store's declarative base, imported on first use: the models
    # sit above this module, which everything else imports.
    base: str
    # The default SQLite file: under $TASKDB_HOME (else the per-user data folder), or a
    # path below the home directory where the seed kept it.
    default_file: str
    default_under_home: bool = False
    # PRAGMA user_version of the store's SQLite files at head (quantum: the seed's schema
    # version, so the seed still opens them). Another value means another program's own
    # migrations ran on the file.
    user_version: int = 0
    # The program whose files the store took over; it may still open them.
    seed_program: str = ""

    @property
    def script_location(self) -> str:
        return f"taskdb:migrations/{self.name}"

    @property
    def metadata(self) -> MetaData:
        module, _, attribute = self.base.partition(":")
        metadata = getattr(importlib.import_module(module), attribute).metadata
        assert isinstance(metadata, MetaData)
        return metadata

    @property
    def tables(self) -> tuple[str, ...]:
        """The store's tables: their presence without a version table means "legacy"."""
        return tuple(self.metadata.tables)

    def default_path(self) -> Path:
        """The embedded SQLite file used when no URL is given, read at call time."""
        if self.default_under_home:
            return Path.home() / self.default_file
        home = os.environ.get(HOME_ENV)
        base = Path(home) if home else Path(platformdirs.user_data_dir("taskdb"))
        return base / self.default_file

    def resolve_url(self, url: str | None = None) -> str:
        """An explicit URL wins, then the store's environment variable, then the default file."""
        if url:
            return url
        from_env = os.environ.get(self.url_env)
        if from_env:
            return from_env
        return f"sqlite:///{self.default_path()}"

    def command(self, verb: str, url: str) -> str:
        """The ``taskdb`` command that runs ``verb`` on this store's database at ``url``.

        ``url`` is the shown form: a hidden password becomes a placeholder to fill in,
        never the mask, which would not authenticate.
        """
        shown = url.replace(":***@", ":<password>@")
        return f"taskdb {verb} --store {self.name} --url '{shown}'"

    def upgrade_command(self, url: str) -> str:
        """The ``taskdb`` command that brings this store's database at ``url`` to head."""
        return self.command("upgrade", url)


CROWD = StoreSpec(
    name="crowd",
    url_env="TASKDB_CROWD_URL",
    version_table="taskdb_crowd_version",
    application_id=0x54444243,  # b"TDBC": taskdb crowd
    alembic_section="alembic",
    base="taskdb.crowd.models:CrowdBase",
    default_file="crowd.sqlite",
    seed_program="Mephisto",
)

QUANTUM = StoreSpec(
    name="quantum",
    url_env="TASKDB_QUANTUM_URL",
    version_table="taskdb_quantum_version",
    application_id=0x554E4943,  # b"UNIC": the seed's tag, so seed code still opens our files
    alembic_section="quantum",
    base="taskdb.quantum.models:QuantumBase",
    # The seed's TaskStore cache, so TaskStore() and the shell find existing caches.
    default_file=".uniqc/cache/tasks.sqlite",
    default_under_home=True,
    # UnifiedQuantum's schema version 1: its TaskStore runs its own migrations above that.
    user_version=1,
    seed_program="UnifiedQuantum",
)

STORES = {spec.name: spec for spec in (CROWD, QUANTUM)}
