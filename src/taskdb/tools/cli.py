"""The ``taskdb`` command (also ``python -m taskdb``): everything a wheel user needs, no ini file.

Exit codes:
  0  success (status/current: the database is current; check: no difference)
  1  refused or failed: foreign or too-new database, schema mismatch (status: mismatch,
     another program changed the schema), database error
  2  bad command line: unknown option, bad or unsupported URL, unknown revision,
     a downgrade without --yes or through `upgrade`
  3  action needed: status found a fresh, behind or legacy database; check found drift
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import version

from alembic.util.exc import CommandError

from taskdb.errors import InvalidEntry, TaskdbError
from taskdb.spec import STORES
from taskdb.tools.commands import (
    EXIT_ACTION_NEEDED,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Handler,
    cmd_adopt,
    cmd_check,
    cmd_copy,
    cmd_current,
    cmd_demo,
    cmd_downgrade,
    cmd_history,
    cmd_stamp,
    cmd_status,
    cmd_upgrade,
)

__all__ = [
    "EXIT_ACTION_NEEDED",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
]


def _common(defaults: bool) -> argparse.ArgumentParser:
    """Options taken before or after the subcommand; after it they win."""
    unset = None if defaults else argparse.SUPPRESS
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        choices=sorted(STORES),
        default="crowd" if defaults else argparse.SUPPRESS,
        help="which store (default: crowd)",
    )
    common.add_argument(
        "--url",
        default=unset,
        help="database URL (default: the store's TASKDB_*_URL variable, else its SQLite file)",
    )
    loudness = common.add_mutually_exclusive_group()
    loudness.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="also show details (SQLite backup pages, Alembic's setup)",
    )
    loudness.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="show only results and errors, not progress",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taskdb",
        description="Manage taskdb databases (crowd and quantum stores).",
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common(defaults=True)],
    )
    parser.add_argument("--version", action="version", version=f"taskdb {version('taskdb')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    after = _common(defaults=False)

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, parents=[after])
        sub.set_defaults(handler=handler)
        return sub

    def with_json(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--json", action="store_true", help="print JSON instead of text")

    with_json(add("status", cmd_status, "Show fresh/current/behind/ahead/legacy/foreign/mismatch."))
    add("current", cmd_current, "Print the database's revision.")
    with_json(add("history", cmd_history, "List the store's revisions, newest first."))
    upgrade = add("upgrade", cmd_upgrade, "Bring the database to a revision (default head).")
    upgrade.add_argument(
        "revision",
        nargs="?",
        default="head",
        help="head (default), a revision id such as crowd_0002, or +1; never an older one",
    )
    upgrade.add_argument(
        "--sql", action="store_true", help="print the SQL instead of running it (offline)"
    )
    downgrade = add("downgrade", cmd_downgrade, "Take the database back to an older revision.")
    downgrade.add_argument("revision", help="a revision id, -1, or base (removes every table)")
    downgrade.add_argument("--yes", action="store_true", help="confirm: later schema is dropped")
    stamp = add("stamp", cmd_stamp, "Record a revision without running any migration.")
    stamp.add_argument("revision", help="the revision the database already has")
    with_json(add("check", cmd_check, "Compare the database with the models and its revision."))
    adopt = add("adopt", cmd_adopt, "Check a SQLite file made by the seed code, stamp it.")
    adopt.add_argument(
        "path", nargs="?", help="the seed-made SQLite file (default: --url, else the store's)"
    )
    copy = add("copy", cmd_copy, "Copy every row of one database into another, empty one.")
    copy.add_argument("--from", dest="source", metavar="URL", help="the database to read")
    copy.add_argument("--to", metavar="URL", help="the target: upgraded and empty")
    add("demo", cmd_demo, "Run the end-to-end demo in scratch databases (or at --url).")
    return parser


@contextmanager
def _progress_shown(verbose: bool, quiet: bool) -> Iterator[None]:
    """Show taskdb's steps and each revision Alembic runs (both log at INFO) on stderr.

    The handlers go when the command ends: a caller's process keeps its own logging.
    """
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    installed: list[tuple[logging.Logger, logging.Handler, int]] = []
    for name in ("taskdb", "alembic"):
        logger = logging.getLogger(name)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("... %(message)s"))
        if name == "alembic" and not verbose:
            # Alembic's other INFO lines describe its setup, not progress.
            handler.addFilter(lambda record: record.getMessage().startswith("Running "))
        installed.append((logger, handler, logger.level))
        logger.addHandler(handler)
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, added, previous in installed:
            logger.removeHandler(added)
            logger.setLevel(previous)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    spec = STORES[args.store]
    try:
        with _progress_shown(args.verbose, args.quiet):
            code: int = args.handler(args, spec)
    except (InvalidEntry, CommandError) as error:  # a bad URL, revision or request
        print(f"taskdb: {error}", file=sys.stderr)
        return EXIT_USAGE
    except TaskdbError as error:
        print(f"taskdb: {error}", file=sys.stderr)
        return EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
