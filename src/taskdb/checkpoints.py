"""WAL checkpoints that no commit can race, on SQLite releases with the WAL-reset bug.

SQLite 3.7.0 to 3.51.2 can corrupt a WAL database when a checkpoint runs while another
connection's commit resets the WAL (https://sqlite.org/wal.html#walresetbug; fixed in
3.51.3, backported to 3.44.6 and 3.50.7). SQLite's automatic checkpoints are PASSIVE:
they take no writer lock, so a commit of another thread or process can reset the WAL
under them. On an affected release taskdb's connections turn them off, and every
:data:`EVERY` writes of an engine the next write first checkpoints with ``FULL``, which
holds the writer lock while it runs: no commit, hence no reset, can happen meanwhile.
The price: that write waits for readers still on an older snapshot (at most the
busy timeout), where a passive checkpoint would have left their frames for later.
"""

from __future__ import annotations

import itertools
import sqlite3

from sqlalchemy import exc as sa_exc

# Writes of one engine between two of its checkpoints: SQLite's own default is 1,000
# pages of WAL, which a few hundred of taskdb's one-row writes fill.
EVERY = 100


def has_wal_reset_bug(version: tuple[int, int, int]) -> bool:
    """Whether this SQLite release has the WAL-reset bug."""
    if version >= (3, 51, 3):
        return False
    if (3, 50, 7) <= version < (3, 51, 0) or (3, 44, 6) <= version < (3, 45, 0):
        return False  # the fix's backports
    return version >= (3, 7, 0)


# The SQLite the sqlite3 module runs on; tests set it to try both ways.
AFFECTED = has_wal_reset_bug(sqlite3.sqlite_version_info)


class Checkpoints:
    """Counts an engine's writes; every :data:`EVERY`-th checkpoints first."""

    def __init__(self) -> None:
        self._writes = itertools.count(1)  # next() is atomic: threads share it

    def before_write(self, driver: sqlite3.Connection) -> None:
        """Checkpoint the WAL on ``driver`` (outside a transaction) if it is this write's turn."""
        if next(self._writes) % EVERY:
            return
        statement = "PRAGMA wal_checkpoint(FULL)"
        try:
            # FULL waits for the writer lock (busy_timeout) and keeps it to the end.
            driver.execute(statement).fetchall()
        except sqlite3.Error as error:  # as BEGIN IMMEDIATE's: the write fails with it
            raise sa_exc.OperationalError(statement, None, error) from error
