"""What each ``taskdb`` subcommand does; the parser and exit-code mapping are in ``cli``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from sqlalchemy import Engine

from taskdb import checkpoints
from taskdb.backends import backend_for, parse_url
from taskdb.engine import create_engine, database_file
from taskdb.errors import InvalidEntry
from taskdb.lifecycle import (
    DatabaseStatus,
    State,
    adopt,
    alembic_config,
    downgrade,
    drift,
    read_status,
    upgrade,
)
from taskdb.lifecycle.history import history
from taskdb.lifecycle.status import REFUSED
from taskdb.lifecycle.upgrade import stamp
from taskdb.spec import STORES, StoreSpec

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ACTION_NEEDED = 3

Handler = Callable[[argparse.Namespace, StoreSpec], int]


@contextmanager
def _engine(args: argparse.Namespace, spec: StoreSpec) -> Iterator[Engine]:
    engine = create_engine(spec.resolve_url(args.url), spec)
    try:
        yield engine
    finally:
        engine.dispose()


def _show_status(status: DatabaseStatus, as_json: bool = False) -> None:
    if as_json:
        print(json.dumps(dataclasses.asdict(status), indent=1))
        return
    tag = "-" if status.application_id is None else f"0x{status.application_id:08x}"
    print(f"store:          {status.store}")
    print(f"database:       {status.url}")
    print(f"state:          {status.state.value}")
    print(f"revision:       {status.revision or 'none'} (head {status.head})")
    print(f"application_id: {tag}")
    if status.detail:
        print(f"detail:         {status.detail}")


def _exit_for(status: DatabaseStatus) -> int:
    if status.state is State.CURRENT:
        return EXIT_OK
    if status.state in REFUSED:
        return EXIT_FAILED
    return EXIT_ACTION_NEEDED


def cmd_status(args: argparse.Namespace, spec: StoreSpec) -> int:
    with _engine(args, spec) as engine:
        status = read_status(engine, spec)
    _show_status(status, args.json)
    if backend_for(engine).embedded and not args.json:
        print(f"sqlite:         {_sqlite_release()}")
    return _exit_for(status)


def _sqlite_release() -> str:
    """The SQLite release the sqlite3 module links, and whether it has the WAL-reset bug."""
    if not checkpoints.AFFECTED:
        return sqlite3.sqlite_version
    return (
        f"{sqlite3.sqlite_version} (has the WAL-reset bug, fixed in 3.51.3: taskdb's "
        "connections checkpoint under the writer lock; see the README)"
    )


def cmd_current(args: argparse.Namespace, spec: StoreSpec) -> int:
    with _engine(args, spec) as engine:
        status = read_status(engine, spec)
    head = " (head)" if status.revision == status.head else ""
    print(f"{status.revision or 'none'}{head}")
    return _exit_for(status)


def cmd_history(args: argparse.Namespace, spec: StoreSpec) -> int:
    revisions = history(spec)
    if args.json:
        print(json.dumps([dataclasses.asdict(revision) for revision in revisions], indent=1))
        return EXIT_OK
    for revision in revisions:
        head = " (head)" if revision.is_head else ""
        print(f"{revision.down_revision or '<base>'} -> {revision.revision}{head}")
        print(f"    {revision.message}")
    return EXIT_OK


def cmd_upgrade(args: argparse.Namespace, spec: StoreSpec) -> int:
    url = spec.resolve_url(args.url)
    if args.sql:
        # Offline: the SQL goes to stdout for a DBA to review and run; nothing is connected.
        if parse_url(url).get_backend_name() == "mysql":
            # Unconnected, the dialect cannot tell MariaDB from MySQL, whose collations differ.
            print(
                "taskdb: the SQL is for MySQL 8 (utf8mb4_0900_bin); for MariaDB give a "
                "mariadb+pymysql:// URL",
                file=sys.stderr,
            )
        command.upgrade(alembic_config(spec, url=url), args.revision, sql=True)
        return EXIT_OK
    with _engine(args, spec) as engine:
        status = upgrade(engine, spec, args.revision)
    _show_status(status)
    return EXIT_OK


def cmd_downgrade(args: argparse.Namespace, spec: StoreSpec) -> int:
    if not args.yes:
        raise InvalidEntry(
            f"a downgrade to {args.revision} drops what later revisions added (tables, "
            "columns, indexes, and the data in them); add --yes to go ahead"
        )
    with _engine(args, spec) as engine:
        status = downgrade(engine, spec, args.revision)
    _show_status(status)
    return EXIT_OK


def cmd_stamp(args: argparse.Namespace, spec: StoreSpec) -> int:
    with _engine(args, spec) as engine:
        status = stamp(engine, spec, args.revision)
    _show_status(status)
    return EXIT_OK


def cmd_adopt(args: argparse.Namespace, spec: StoreSpec) -> int:
    url = f"sqlite:///{args.path}" if args.path else spec.resolve_url(args.url)
    path = database_file(url)
    if path is None:
        raise InvalidEntry("adopt works on SQLite files made by the seed code: give a path")
    if not path.is_file():
        what = "a folder: give the database file in it" if path.is_dir() else "no such file"
        print(f"{path}: {what}", file=sys.stderr)
        return EXIT_FAILED
    engine = create_engine(url, spec)
    try:
        before = read_status(engine, spec)
        if before.state is not State.LEGACY:
            print(f"{path} is {before.state.value}, not a file made by the seed code")
            return EXIT_FAILED if before.state in REFUSED else EXIT_OK
        status = adopt(engine, spec)
    finally:
        engine.dispose()
    _show_status(status)
    return EXIT_OK


def cmd_check(args: argparse.Namespace, spec: StoreSpec) -> int:
    with _engine(args, spec) as engine:
        status = read_status(engine, spec)
        problems = drift(engine, spec, status) if status.state is State.CURRENT else []
    if args.json:
        print(json.dumps({"status": dataclasses.asdict(status), "drift": problems}, indent=1))
    if status.state in REFUSED:
        if not args.json:
            _show_status(status)
        return EXIT_FAILED
    if status.state is not State.CURRENT:
        if not args.json:
            _show_status(status)
            print(f"check compares a current database: run `{spec.upgrade_command(status.url)}`")
        return EXIT_ACTION_NEEDED
    if args.json:
        return EXIT_ACTION_NEEDED if problems else EXIT_OK
    for problem in problems:
        print(f"drift: {problem}")
    if problems:
        return EXIT_ACTION_NEEDED
    print(f"{spec.name} database at {status.url}: no drift, schema matches {status.revision}")
    return EXIT_OK


def cmd_copy(args: argparse.Namespace, spec: StoreSpec) -> int:
    from taskdb.tools.copy import copy_database

    # Both named on the command line: never the store's variable or default file.
    source = args.source or args.url
    if not source or not args.to:
        raise InvalidEntry("copy needs both --from URL (the source) and --to URL (the target)")
    copied = copy_database(spec, source, args.to)
    for table, rows in copied.items():
        print(f"{table}: {rows} rows")
    print(f"copied {sum(copied.values())} rows of the {spec.name} store")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, spec: StoreSpec) -> int:
    from taskdb.tools.demo import run_demo

    # Never the user's own stores: a fresh folder, unless --url names a database.
    with tempfile.TemporaryDirectory(prefix="taskdb-demo-") as scratch:
        urls = {name: f"sqlite:///{Path(scratch) / f'{name}.sqlite'}" for name in STORES}
        if args.url:
            urls[spec.name] = args.url
        print(f"taskdb demo: scratch databases in {scratch} (removed afterwards)")
        run_demo(crowd_url=urls["crowd"], quantum_url=urls["quantum"])
    return EXIT_OK
