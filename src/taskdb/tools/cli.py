"""The ``taskdb`` command: status, upgrade, adopt, check and demo for either store.

Exit codes:
  0  success (``status``: the database is current; ``check``: no difference)
  1  taskdb refused or failed: foreign or too-new database, schema mismatch, database error
  2  bad command line: unknown option, malformed URL, unknown revision
  3  action needed: ``status`` found a fresh, behind or legacy database; ``check`` found drift
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from alembic.util.exc import CommandError
from sqlalchemy import Engine

from taskdb.engine import create_engine, database_file
from taskdb.errors import InvalidEntry, TaskdbError
from taskdb.lifecycle import DatabaseStatus, State, adopt, drift, read_status, upgrade
from taskdb.spec import STORES, StoreSpec

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ACTION_NEEDED = 3

Handler = Callable[[argparse.Namespace, StoreSpec], int]


def _engine(args: argparse.Namespace, spec: StoreSpec) -> Engine:
    return create_engine(spec.resolve_url(args.url), spec)


def _print_status(status: DatabaseStatus) -> None:
    tag = "-" if status.application_id is None else f"0x{status.application_id:08x}"
    print(f"store:          {status.store}")
    print(f"database:       {status.url}")
    print(f"state:          {status.state.value}")
    print(f"revision:       {status.revision or 'none'} (head {status.head})")
    print(f"application_id: {tag}")
    if status.detail:
        print(f"detail:         {status.detail}")


def cmd_status(args: argparse.Namespace, spec: StoreSpec) -> int:
    engine = _engine(args, spec)
    try:
        status = read_status(engine, spec)
    finally:
        engine.dispose()
    _print_status(status)
    if status.state is State.CURRENT:
        return EXIT_OK
    if status.state in (State.FOREIGN, State.AHEAD):
        return EXIT_FAILED
    return EXIT_ACTION_NEEDED


def cmd_upgrade(args: argparse.Namespace, spec: StoreSpec) -> int:
    engine = _engine(args, spec)
    try:
        status = upgrade(engine, spec, args.revision)
    finally:
        engine.dispose()
    _print_status(status)
    return EXIT_OK


def cmd_adopt(args: argparse.Namespace, spec: StoreSpec) -> int:
    url = f"sqlite:///{args.path}" if args.path else spec.resolve_url(args.url)
    path = database_file(url)
    if path is None:
        print("adopt works on SQLite files made by the seed code; give a path or sqlite:/// URL")
        return EXIT_USAGE
    if not path.is_file():
        print(f"{path}: no such file")
        return EXIT_FAILED
    engine = create_engine(url, spec)
    try:
        before = read_status(engine, spec)
        if before.state is not State.LEGACY:
            print(f"{path} is {before.state.value}, not a file made by the seed code")
            return EXIT_FAILED if before.state in (State.FOREIGN, State.AHEAD) else EXIT_OK
        status = adopt(engine, spec)
    finally:
        engine.dispose()
    _print_status(status)
    return EXIT_OK


def cmd_check(args: argparse.Namespace, spec: StoreSpec) -> int:
    engine = _engine(args, spec)
    try:
        status = read_status(engine, spec)
        if status.state is not State.CURRENT:
            _print_status(status)
            print("check needs a current database: run `taskdb upgrade` first")
            return EXIT_ACTION_NEEDED
        problems = drift(engine, spec, status)
    finally:
        engine.dispose()
    for problem in problems:
        print(f"drift: {problem}")
    if problems:
        return EXIT_ACTION_NEEDED
    print(
        f"{spec.name} database at {status.url}: no drift, schema matches revision {status.revision}"
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, _spec: StoreSpec) -> int:
    from taskdb.tools.demo import run_demo

    urls = {"crowd_url": None, "quantum_url": None, f"{args.store}_url": args.url}
    run_demo(**urls)
    return EXIT_OK


def cmd_copy(args: argparse.Namespace, spec: StoreSpec) -> int:
    from taskdb.tools.copy import copy_database

    copied = copy_database(spec, spec.resolve_url(args.url), args.to)
    for table, rows in copied.items():
        print(f"{table}: {rows} rows")
    print(f"copied {sum(copied.values())} rows of the {spec.name} store")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taskdb",
        description="Manage taskdb databases (crowd and quantum stores).",
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--store", choices=sorted(STORES), default="crowd", help="default: crowd")
        sub.add_argument(
            "--url",
            help="database URL (default: the store's TASKDB_*_URL variable, else its SQLite file)",
        )
        sub.set_defaults(handler=handler)
        return sub

    add(
        "status",
        cmd_status,
        "Show whether the database is fresh/current/behind/ahead/legacy/foreign.",
    )
    upgrade_parser = add("upgrade", cmd_upgrade, "Bring the database to a revision (default head).")
    upgrade_parser.add_argument("revision", nargs="?", default="head")
    adopt_parser = add(
        "adopt", cmd_adopt, "Check a SQLite file made by the seed code, stamp it in place."
    )
    adopt_parser.add_argument(
        "path", nargs="?", help="the seed-made SQLite file (default: --url, else the store's)"
    )
    add("check", cmd_check, "Compare the database with the models and the expected schema.")
    copy_parser = add(
        "copy", cmd_copy, "Copy every row from --url (the source) into an empty database at --to."
    )
    copy_parser.add_argument("--to", required=True, help="target URL, already upgraded and empty")
    add(
        "demo", cmd_demo, "Run the end-to-end demo on the embedded default (the README's main job)."
    )
    return parser


def _show_progress() -> None:
    """Show taskdb's steps and each revision Alembic runs (both log at INFO) on stderr."""
    for name in ("taskdb", "alembic.runtime.migration"):
        logger = logging.getLogger(name)
        if not any(getattr(h, "taskdb_progress", False) for h in logger.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("... %(message)s"))
            handler.taskdb_progress = True  # type: ignore[attr-defined]
            if name != "taskdb":  # Alembic's other INFO lines describe its setup, not progress
                handler.addFilter(lambda record: record.getMessage().startswith("Running "))
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _show_progress()
    spec = STORES[args.store]
    try:
        code: int = args.handler(args, spec)
    except (InvalidEntry, CommandError) as error:  # a bad URL or an unknown revision
        print(f"taskdb: {error}", file=sys.stderr)
        return EXIT_USAGE
    except TaskdbError as error:
        print(f"taskdb: {error}", file=sys.stderr)
        return EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
