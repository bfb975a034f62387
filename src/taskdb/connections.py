"""Runners: what hands a repository call its connection, shared by both stores.

A repository never opens transactions itself: it asks its runner. The store's
:class:`AutocommitRunner` commits each call on its own; a unit of work's
:class:`TransactionRunner` hands out its one transaction, with a savepoint per
write so a failed call leaves the transaction as it was.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from taskdb.engine import single_statement_reader
from taskdb.errors import InvalidEntry


class Runner(Protocol):
    """Hands out the connection a repository call runs on."""

    def writing(self) -> AbstractContextManager[Connection]: ...

    def reading(self) -> AbstractContextManager[Connection]: ...

    def session(self) -> AbstractContextManager[Session]: ...


_WRITE_IN_UNIT_OF_WORK = (
    "inside store.unit_of_work(), write through the repositories it yields "
    "(work.units.new(...)), not through the store or a second unit of work: "
    "on SQLite that write would wait for the unit of work's own lock"
)


class AutocommitRunner:
    """Each call in its own transaction, committed when the call returns."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Readers take no write lock on SQLite, so they never wait for a writer.
        self._reader = single_statement_reader(engine)
        self._units_of_work = threading.local()

    @contextmanager
    def held_by_unit_of_work(self) -> Iterator[None]:
        """Mark this thread as inside a unit of work, where the store itself must not write."""
        if getattr(self._units_of_work, "active", False):
            raise InvalidEntry(_WRITE_IN_UNIT_OF_WORK)
        self._units_of_work.active = True
        try:
            yield
        finally:
            self._units_of_work.active = False

    def writing(self) -> AbstractContextManager[Connection]:
        if getattr(self._units_of_work, "active", False):
            raise InvalidEntry(_WRITE_IN_UNIT_OF_WORK)
        return self._engine.begin()

    def reading(self) -> AbstractContextManager[Connection]:
        return self._reader.connect()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session in a transaction of its own, committed when the block ends."""
        if getattr(self._units_of_work, "active", False):
            raise InvalidEntry(_WRITE_IN_UNIT_OF_WORK)
        with Session(self._engine) as session, session.begin():
            yield session


class TransactionRunner:
    """Every call on one connection and transaction, owned by a unit of work."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        # A savepoint undoes a failed call alone, and keeps a PostgreSQL transaction usable.
        with self._connection.begin_nested():
            yield self._connection

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        yield self._connection

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session inside the unit of work's transaction, on a savepoint of its own."""
        with (
            Session(bind=self._connection, join_transaction_mode="create_savepoint") as session,
            session.begin(),
        ):
            yield session
