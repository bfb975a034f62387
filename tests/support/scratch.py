"""Scratch copies of the checkout, and the shell's ``alembic`` and ``ruff`` run inside them.

A test that writes a revision (or changes a model) works in a copy, never in the
checkout: the copy's ``src`` comes first on ``PYTHONPATH``, so its models and its
``migrations`` (through the ``src/taskdb/migrations`` link) shadow the editable install.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import Script
from sqlalchemy.engine import Connection

import taskdb
from taskdb.lifecycle import alembic_config
from taskdb.spec import CROWD, QUANTUM, StoreSpec

REPO = Path(__file__).resolve().parents[2]
ALEMBIC = Path(sys.executable).with_name("alembic")
# What `alembic` and ruff need: the ini, ruff's settings, the scripts and the package.
COPIED = ("alembic.ini", "pyproject.toml", "migrations", "src")
# The link an editable install finds the scripts through (the wheel ships the real folder).
MIGRATIONS_LINK = Path("src/taskdb/migrations")


def _checkout_files() -> list[Path]:
    """The files of COPIED: tracked ones and new untracked ones (not ignored), else a walk."""
    if (REPO / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *COPIED],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout.decode()
        names = sorted({Path(name) for name in listed.split("\0") if name})
    else:
        names = sorted(
            path.relative_to(REPO)
            for top in COPIED
            for path in ([REPO / top] if (REPO / top).is_file() else (REPO / top).rglob("*"))
            if "__pycache__" not in path.parts
        )
    return [
        name
        for name in names
        if name != MIGRATIONS_LINK and (REPO / name).is_file() and not (REPO / name).is_symlink()
    ]


def scratch_checkout(destination: Path) -> Path:
    """Copy the checkout's package, scripts and settings to ``destination``; returns it."""
    for name in _checkout_files():
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, destination / name)
    (destination / MIGRATIONS_LINK).symlink_to(Path("../../migrations"), target_is_directory=True)
    return destination


def versions(copy: Path, spec: StoreSpec) -> Path:
    return copy / "migrations" / spec.name / "versions"


def extra_versions_config(spec: StoreSpec, connection: Connection, extra: Path) -> Config:
    """The library's config on ``connection``, its history extended by the folder ``extra``.

    New revisions go to ``extra`` (see :func:`write_revision`), never to the packaged scripts.
    """
    packaged = Path(taskdb.__file__).parent / "migrations" / spec.name / "versions"
    config = alembic_config(spec, connection=connection)
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", f"{packaged}{os.pathsep}{extra}")
    # `alembic revision` without --autogenerate runs the environment too (as alembic.ini says).
    config.set_main_option("revision_environment", "true")
    return config


def write_revision(config: Config, extra: Path, message: str, **options: Any) -> Script:
    """``alembic revision`` in this process, written into ``extra``."""
    script = command.revision(config, message, version_path=str(extra), **options)
    assert isinstance(script, Script)
    return script


def run_alembic(
    copy: Path, spec: StoreSpec, *args: str, home: Path, url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``alembic [-n quantum] ARGS`` from the copy's root, as a maintainer runs it there."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in (CROWD.url_env, QUANTUM.url_env, "PYTHONPATH")
    }
    env.update(HOME=str(home), TASKDB_HOME=str(home / "taskdb"), PYTHONPATH=str(copy / "src"))
    if url is not None:
        env[spec.url_env] = url
    section = [] if spec is CROWD else ["-n", spec.alembic_section]
    return subprocess.run(
        [str(ALEMBIC), *section, *args],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def ruff_failures(path: Path, project: Path) -> list[str]:
    """``ruff check`` and ``ruff format --check`` of ``path`` with ``project``'s settings."""
    failures: list[str] = []
    for ruff_command in (["check"], ["format", "--check"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *ruff_command, "--no-cache", str(path)],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            failures.append(f"ruff {' '.join(ruff_command)}: {done.stdout}{done.stderr}")
    return failures


def function_bodies(path: Path) -> dict[str, list[str]]:
    """Each top-level function of a revision file: its statements, as source text."""
    tree = ast.parse(path.read_text())
    return {
        node.name: [ast.unparse(statement) for statement in node.body]
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }


def assigned(path: Path, name: str) -> object:
    """The literal a revision file assigns to a module-level ``name`` (``revision``, ...)."""
    for node in ast.parse(path.read_text()).body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == name
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path.name} assigns no {name}")


# A model change a maintainer might make: a nullable text column with an index, a unique
# constraint over it, and a nullable foreign key; the record follows (tests/unit rules).
WORKER_MODEL = """class Worker(CrowdBase):
    __tablename__ = "workers"
    __table_args__ = (UniqueConstraint("worker_name"), AUTOINCREMENT)

    worker_id: Mapped[int] = _pk()
    worker_name: Mapped[str]
    provider_type: Mapped[str]
    creation_date: Mapped[datetime | None] = _created()
"""
WORKER_MODEL_CHANGED = """class Worker(CrowdBase):
    __tablename__ = "workers"
    __table_args__ = (
        UniqueConstraint("worker_name"),
        UniqueConstraint("worker_name", "nickname"),
        Index("worker_by_nickname_index", "nickname"),
        AUTOINCREMENT,
    )

    worker_id: Mapped[int] = _pk()
    worker_name: Mapped[str]
    provider_type: Mapped[str]
    creation_date: Mapped[datetime | None] = _created()
    nickname: Mapped[str | None]
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.project_id"))
"""
WORKER_RECORD = """class WorkerRecord(Record):
    worker_id: int
    worker_name: str
    provider_type: str
    creation_date: CreationDate
"""
WORKER_RECORD_CHANGED = (
    WORKER_RECORD
    + """    nickname: str | None = None
    project_id: int | None = None
"""
)
NEW_WORKER_COLUMNS = ("nickname", "project_id")


def _replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path} no longer holds the text this test changes"
    path.write_text(text.replace(old, new))


def add_worker_nickname(copy: Path) -> None:
    """Change the copy's Worker model and WorkerRecord (workers.nickname, workers.project_id)."""
    crowd = copy / "src" / "taskdb" / "crowd"
    _replace_once(crowd / "models.py", WORKER_MODEL, WORKER_MODEL_CHANGED)
    _replace_once(crowd / "records.py", WORKER_RECORD, WORKER_RECORD_CHANGED)
