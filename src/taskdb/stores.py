"""What distinguishes the two stores: where they live, how files are tagged, which history."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

HOME_ENV = "TASKDB_HOME"


@dataclass(frozen=True)
class StoreSpec:
    """Facts about one store that the engine, the migrations and the CLI share."""

    name: str
    url_env: str
    version_table: str
    # SQLite header tag stamped by the baseline revision and checked on every connect.
    application_id: int
    # Tables the baseline creates: their presence without a version table means "legacy".
    baseline_tables: tuple[str, ...]
    alembic_section: str

    @property
    def script_location(self) -> str:
        return f"taskdb:migrations/{self.name}"

    def default_path(self) -> Path:
        """The embedded SQLite file used when no URL is given."""
        if self.name == "quantum":
            # The seed's TaskStore cache, so TaskStore() and the shell find existing caches.
            return Path.home() / ".uniqc" / "cache" / "tasks.sqlite"
        home = os.environ.get(HOME_ENV)
        base = Path(home) if home else Path(platformdirs.user_data_dir("taskdb"))
        return base / f"{self.name}.sqlite"

    def resolve_url(self, url: str | None = None) -> str:
        """An explicit URL wins, then the store's environment variable, then the default file."""
        if url:
            return url
        from_env = os.environ.get(self.url_env)
        if from_env:
            return from_env
        return f"sqlite:///{self.default_path()}"

    def upgrade_command(self, url: str) -> str:
        """The shell command that brings this store's database at ``url`` to head."""
        section = "" if self.alembic_section == "alembic" else f" -n {self.alembic_section}"
        return f"{self.url_env}='{url}' alembic{section} upgrade head"


CROWD = StoreSpec(
    name="crowd",
    url_env="TASKDB_CROWD_URL",
    version_table="taskdb_crowd_version",
    application_id=0x54444243,  # b"TDBC": taskdb crowd
    baseline_tables=(
        "projects",
        "tasks",
        "requesters",
        "task_runs",
        "assignments",
        "units",
        "workers",
        "agents",
        "onboarding_agents",
        "qualifications",
        "granted_qualifications",
    ),
    alembic_section="alembic",
)

QUANTUM = StoreSpec(
    name="quantum",
    url_env="TASKDB_QUANTUM_URL",
    version_table="taskdb_quantum_version",
    application_id=0x554E4943,  # b"UNIC": the seed's tag, so seed code still opens our files
    baseline_tables=("tasks",),
    alembic_section="quantum",
)

STORES = {spec.name: spec for spec in (CROWD, QUANTUM)}
