"""Runners: what hands a repository call its connection, shared by both stores.

A repository never opens transactions itself: it asks its runner. The store's
:class:`AutocommitRunner` commits each call on its own; a unit of work's
:class:`TransactionRunner` hands out its one transaction, with a savepoint per
write (on SQLite, per call of several writes) so a failed call leaves the
transaction as it was.

On SQLite the store's reads run on a connection each thread holds between calls
(:class:`HeldReaders`), as the seeds held theirs: no pool checkout, no transaction
bookkeeping per read. The connection runs without a transaction (each SELECT is its own
snapshot), so every read sees every commit made before it, in any thread or process.
Writes and units of work hold a second connection per thread (:class:`HeldWriters`),
on which each begins and ends its own transaction: no checkout per write, and nothing
held between them.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Protocol

from sqlalchemy import Engine, Select
from sqlalchemy.engine import Connection, NestedTransaction, RootTransaction
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase

from taskdb.backends import StatementWitness, backend_for
from taskdb.engine import holds_reads, single_statement_reader
from taskdb.errors import EntryError, InvalidEntry
from taskdb.prepared import DriverWrites, Prepared, Written, driver_writes, prepare, unwatched

Rows = Sequence[Sequence[Any]]


class Runner(Protocol):
    """Hands out the connection a repository call runs on."""

    def writing(self, *, one_write: bool = False) -> AbstractContextManager[Connection]:
        """The connection a call that writes runs on.

        ``one_write``: the call changes rows with one statement, and reads at most.
        """
        ...

    def reading(self) -> AbstractContextManager[Connection]: ...

    def rows(self, statement: Select[Any], parameters: Mapping[str, Any]) -> Rows:
        """Every row of one SELECT, as tuples in its column order."""
        ...

    def execute(
        self, connection: Connection, statement: UpdateBase, parameters: Mapping[str, Any]
    ) -> Written:
        """One write with one set of ``parameters``, on a connection :meth:`writing` handed out."""
        ...

    def session(self) -> AbstractContextManager[Session]: ...


_WRITE_IN_UNIT_OF_WORK = (
    "inside store.unit_of_work(), write through the repositories it yields "
    "(work.units.new(...)), not through the store or a second unit of work: "
    "on SQLite that write would wait for the unit of work's own lock"
)
_WRITE_IN_SESSION = (
    "inside store.session(), write through the session (session.add(...)) or after the "
    "block, not through the store, a unit of work or a second session: on SQLite that "
    "write would wait for the session's own lock"
)


_WRITE_IN_WRITE = (
    "a write from inside another write of this thread (a listener?) would wait for that "
    "write's own lock on SQLite: write after the call returns, or put both in one "
    "store.unit_of_work()"
)
_LEFT_IN_TRANSACTION = (
    "this thread's write connection was left inside a transaction by code that kept it "
    "past its block; that transaction was rolled back and the connection dropped"
)


class _Held:
    """One thread's held connection: ``busy`` while a call runs on it."""

    __slots__ = ("busy", "connection", "driver", "logged", "plain", "retired", "thread")

    def __init__(
        self, connection: Connection, thread: threading.Thread, *, logged: bool, plain: bool
    ) -> None:
        self.connection = connection
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        self.driver = driver
        self.logged = logged  # SQL logging was on when it was made, so it logs
        self.plain = plain  # no SQL log and no execution options of the caller's
        self.thread = thread
        self.busy = False
        self.retired = False  # closed by its owner once its call ends


class HeldConnections:
    """One connection per thread with ``options``, kept between calls until :meth:`close`.

    A finished thread's connection goes back to the pool when another thread first
    holds one, or on :meth:`close`. A connection in use when :meth:`close` runs is
    closed by its own thread as its call ends, never under it; a call that comes after
    :meth:`close` (a thread still on a closed store) gets a connection for itself alone.
    As SQLAlchemy fixes a connection's logging when it makes it, a thread's connection
    is made anew when SQL logging has been turned on or off since.
    """

    def __init__(self, engine: Engine, options: Mapping[str, Any]) -> None:
        self._engine = engine
        self._options = dict(options)
        self._mine = threading.local()
        self._lock = threading.Lock()
        self._held: dict[int, _Held] = {}
        self._closed = False

    def connection(self) -> _Lease:
        return _Lease(self, self._acquire())

    def _busy(self) -> _Held | None:
        """This thread's held connection if a call of this thread is running on it."""
        held: _Held | None = getattr(self._mine, "held", None)
        return held if held is not None and held.busy else None

    def _acquire(self) -> _Held:
        held: _Held | None = getattr(self._mine, "held", None)
        nested = False
        if held is not None:
            with self._lock:
                if held.retired:  # close() ran since this thread's last call
                    held = None
                else:
                    nested, held.busy = held.busy, True
        if (
            held is None
            or held.connection.closed
            or held.connection.invalidated
            or (held.logged is not self._logging() and not nested)
        ):
            held = self._hold()
        return held

    def _logging(self) -> bool:
        return self._engine.logger.isEnabledFor(logging.INFO)

    def _hold(self) -> _Held:
        with self._lock:
            finished = [i for i, held in self._held.items() if not held.thread.is_alive()]
            gone = [self._held.pop(ident) for ident in finished]
            stale = self._held.pop(threading.get_ident(), None)
        # The connections of finished threads go back first: a bounded pool may need them.
        for held in [*gone, *([stale] if stale is not None else [])]:
            held.connection.close()
        # The options set on the connection, not through an options engine: one level
        # fewer of joined event dispatch for unwatched() to walk on every call (0.7 -> 0.4
        # µs an event name).
        connection = self._engine.connect()
        if self._options:
            connection = connection.execution_options(**self._options)
        # Judged once, as SQLAlchemy fixes a connection's logging when it makes it.
        logged = self._logging()
        plain = not logged and connection.get_execution_options().keys() <= self._options.keys()
        held = _Held(connection, threading.current_thread(), logged=logged, plain=plain)
        held.busy = True
        with self._lock:
            if self._closed:  # a call after close(): its connection is closed as it ends
                held.retired = True
            else:
                self._held[threading.get_ident()] = held
        self._mine.held = held  # retired or not: _busy() sees the call running on it
        return held

    def done(self, held: _Held, *, failed: bool) -> None:
        """A call on ``held`` ended; a failed or retired connection is closed now."""
        with self._lock:
            held.busy = False
            closing = failed or held.retired
            if closing and self._held.get(threading.get_ident()) is held:
                del self._held[threading.get_ident()]
        if closing:
            held.retired = True
            if failed:
                # A failed call may leave the connection in any state: the next starts afresh.
                held.connection.invalidate()
            held.connection.close()

    def retire(self, connection: Connection) -> None:
        """Close ``connection``, this thread's, when its call ends; the next call holds another.

        Nothing for a connection this thread does not hold: its block closes it anyway.
        """
        held = self._busy()
        if held is None or held.connection is not connection:
            return
        with self._lock:
            held.retired = True
            if self._held.get(threading.get_ident()) is held:
                del self._held[threading.get_ident()]

    def close(self) -> None:
        """Return every idle thread's connection to the pool; busy ones follow as they end."""
        with self._lock:
            self._closed = True
            entries = list(self._held.values())
            self._held.clear()
            for held in entries:
                held.retired = True
            idle = [held for held in entries if not held.busy]
        for held in idle:
            held.connection.close()

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)


class HeldReaders(HeldConnections):
    """Each thread's read connection: no transaction, so each SELECT sees every commit.

    :meth:`rows` runs a statement on the driver itself (taskdb.prepared) unless
    something watches the statements: execute or error listeners (on the engine, or
    on ``Engine`` / ``Connection`` for all), execution options of the caller's
    (``schema_translate_map``, ...), or SQL logging (``echo``, the ``sqlalchemy.engine``
    logger at INFO; the thread's connection is made anew when that changes). Those get
    Core.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, backend_for(engine).read_options())
        self._prepared: dict[Select[Any], Prepared | None] = {}

    def rows(self, statement: Select[Any], parameters: Mapping[str, Any]) -> Rows:
        """Every row of ``statement``, on this thread's held connection."""
        lease = self.connection()
        with lease as connection:
            prepared = self._prepare(statement) if lease.unwatched() else None
            if prepared is None:
                return connection.execute(statement, parameters).all()
            return prepared.rows(lease.driver, parameters)

    def _prepare(self, statement: Select[Any]) -> Prepared | None:
        try:
            return self._prepared[statement]
        except KeyError:
            # Two threads may both compile it once; either result is the same.
            prepared = self._prepared[statement] = prepare(statement, self._engine)
            return prepared


class HeldWriters(HeldConnections):
    """Each thread's write connection, between its transactions holding none.

    A write begins and commits its transaction (``BEGIN IMMEDIATE`` on SQLite, from
    taskdb's engine) on it, as on a pooled one, without the checkout and return. A
    write started while this thread's transaction is open (from a listener inside a
    write) is refused at once: it would wait out the busy timeout for that
    transaction's lock. While the connection is in use outside a transaction, a write
    checks one out of the pool instead.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, {})

    def transaction(self) -> AbstractContextManager[Connection]:
        """This thread's connection in a transaction, committed when the block ends."""
        if self._busy_elsewhere():
            return self._engine.begin()
        return _Writing(self, begin=True)

    def connected(self) -> AbstractContextManager[Connection]:
        """This thread's connection, outside a transaction, for the block to begin one."""
        if self._busy_elsewhere():
            return self._engine.connect()
        return _Writing(self, begin=False)

    def _busy_elsewhere(self) -> bool:
        """Whether a call of this thread runs on its connection, outside a transaction."""
        busy = self._busy()
        if busy is not None and busy.connection.in_transaction():
            raise InvalidEntry(_WRITE_IN_WRITE)
        return busy is not None


class _Writing:
    """This thread's held write connection for one call or unit of work.

    After an error the connection is kept if its transaction was rolled back cleanly
    (a refused row, an error of the caller's); after an interrupt, a lost connection
    or a failed commit it is dropped, and the next call makes another.
    """

    __slots__ = ("_begin", "_held", "_holder", "_transaction")

    def __init__(self, holder: HeldConnections, *, begin: bool) -> None:
        self._holder = holder
        self._begin = begin
        self._transaction: RootTransaction | None = None

    def __enter__(self) -> Connection:
        held = self._held = self._holder._acquire()
        connection = held.connection
        try:
            if connection.in_transaction():
                raise InvalidEntry(_LEFT_IN_TRANSACTION)
            if self._begin:
                self._transaction = connection.begin()
        except BaseException:
            self._holder.done(held, failed=True)
            raise
        return connection

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: object
    ) -> None:
        transaction = self._transaction
        try:
            if transaction is not None:
                # Commits, or rolls back after an error, as ``with connection.begin()`` does.
                transaction.__exit__(kind, error, trace)
            elif self._held.connection.in_transaction():
                self._held.connection.rollback()  # a block that left its transaction open
        except BaseException:
            self._holder.done(self._held, failed=True)
            raise
        self._holder.done(self._held, failed=kind is not None and not self._clean(kind))

    def _clean(self, kind: type[BaseException]) -> bool:
        """Whether the failed call left the connection as a new one would be."""
        held = self._held
        if not issubclass(kind, Exception) or held.connection.invalidated:
            return False
        try:
            return not held.driver.in_transaction
        except sqlite3.Error:  # the driver's connection is unusable
            return False


class _Lease:
    """This thread's held connection for one read (a class: cheaper than a generator)."""

    __slots__ = ("_held", "_readers")

    def __init__(self, readers: HeldConnections, held: _Held) -> None:
        self._readers = readers
        self._held = held

    @property
    def driver(self) -> sqlite3.Connection:
        return self._held.driver

    def unwatched(self) -> bool:
        """Nothing expects to see this read's statement run through SQLAlchemy."""
        held = self._held
        return held.plain and unwatched(held.connection)

    def __enter__(self) -> Connection:
        return self._held.connection

    def __exit__(self, kind: type[BaseException] | None, error: object, *_: object) -> None:
        # An entry error is the repository's answer about the rows, not the connection's.
        self._readers.done(
            self._held, failed=kind is not None and not isinstance(error, EntryError)
        )


class AutocommitRunner:
    """Each call in its own transaction, committed when the call returns.

    ``hold`` keeps a read and a write connection per thread (SQLite, with a pool that
    grows as threads need: taskdb's own engines); otherwise each call checks one out.
    """

    def __init__(self, engine: Engine, *, hold: bool = False) -> None:
        self._engine = engine
        # Readers take no write lock on SQLite, so they never wait for a writer.
        self._reader = single_statement_reader(engine)
        self._held = HeldReaders(engine) if hold else None
        self._writers = HeldWriters(engine) if hold else None
        self.writes = driver_writes(engine)
        self._inside = threading.local()  # refusal: why the store may not write now

    def close(self) -> None:
        """Release the connections held by every thread."""
        if self._held is not None:
            self._held.close()
        if self._writers is not None:
            self._writers.close()

    @contextmanager
    def unit_of_work(self) -> Iterator[Connection]:
        """A connection for a unit of work, this thread marked as inside one meanwhile.

        The store itself must not write in the meantime: on SQLite that write would
        wait for the unit of work's own lock.
        """
        with self._writing_inside(_WRITE_IN_UNIT_OF_WORK):
            writers = self._writers
            with writers.connected() if writers is not None else self._engine.connect() as held:
                yield held

    @contextmanager
    def _writing_inside(self, refusal: str) -> Iterator[None]:
        """This thread inside a block holding a transaction: the store's writes say ``refusal``."""
        self._refuse_if_inside()
        self._inside.refusal = refusal
        try:
            yield
        finally:
            self._inside.refusal = None

    def _refuse_if_inside(self) -> None:
        refusal = getattr(self._inside, "refusal", None)
        if refusal is not None:
            raise InvalidEntry(refusal)

    def retire(self, connection: Connection) -> None:
        """Close a unit of work's ``connection`` as it ends, instead of holding it on."""
        if self._writers is not None:
            self._writers.retire(connection)

    def writing(self, *, one_write: bool = False) -> AbstractContextManager[Connection]:
        self._refuse_if_inside()
        if self._writers is not None:
            return self._writers.transaction()
        return self._engine.begin()

    def execute(
        self, connection: Connection, statement: UpdateBase, parameters: Mapping[str, Any]
    ) -> Written:
        writes = self.writes
        if writes is None:
            return connection.execute(statement, parameters)
        return writes.execute(
            connection, statement, parameters, skip_core=writes.may_skip_core(connection)
        )

    def reading(self) -> AbstractContextManager[Connection]:
        if self._held is not None:
            return self._held.connection()
        return self._reader.connect()

    def rows(self, statement: Select[Any], parameters: Mapping[str, Any]) -> Rows:
        if self._held is not None:
            return self._held.rows(statement, parameters)
        with self._reader.connect() as connection:
            return connection.execute(statement, parameters).all()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session in a transaction of its own, committed when the block ends."""
        with (
            self._writing_inside(_WRITE_IN_SESSION),
            # Closed for good at the end, so a session kept past the block cannot write again.
            Session(self._engine, close_resets_only=False) as session,
            session.begin(),
        ):
            yield session


def store_runner(engine: Engine, *, owned: bool) -> AutocommitRunner:
    """A store's runner: SQLite connections held per thread on an engine taskdb made.

    Only where the pool grows as threads need (a SQLite file, taskdb's pool sizing): a
    caller's engine, or pool options of the caller's, may bound it, and held
    connections would exhaust it; their calls check one out each.
    """
    return AutocommitRunner(engine, hold=owned and holds_reads(engine))


class _Doom:
    """Why a unit of work cannot go on: what its later calls and its end say."""

    __slots__ = ("on_call", "on_end")

    def __init__(self, on_call: str, on_end: str) -> None:
        self.on_call = on_call
        self.on_end = on_end


_FAILED_WITHOUT_SAVEPOINTS = _Doom(
    "a call of this unit of work failed, and without savepoints the transaction cannot "
    "go on: leave the block (it rolls back), or use unit_of_work(savepoints=True) to "
    "keep going after a failed call",
    "the unit of work was rolled back: one of its calls failed, and without savepoints "
    "nothing of it can be committed",
)
_FAILED_AFTER_WRITING = _Doom(
    "a call of this unit of work failed after its write had run, or lost the transaction, "
    "so the transaction cannot go on: leave the block (it rolls back)",
    "the unit of work was rolled back: one of its calls failed after its write had run, "
    "or lost the transaction, and committing could have kept half of that call",
)

_ENDED = _Doom(
    "this unit of work has ended: call the store's repositories, or open another unit of work",
    "the unit of work has already ended",
)


class _Doomable:
    """One call of a unit of work without savepoints: a failure dooms the unit of work."""

    __slots__ = ("_runner",)

    def __init__(self, runner: TransactionRunner) -> None:
        self._runner = runner

    def __enter__(self) -> Connection:
        return self._runner.usable()

    def __exit__(self, kind: type[BaseException] | None, error: object, *_: object) -> None:
        # An entry error (a missing row, a refused value) leaves the transaction usable;
        # anything else may have been a failed statement, which PostgreSQL aborts on.
        if kind is not None and not isinstance(error, EntryError):
            self._runner.doom = _FAILED_WITHOUT_SAVEPOINTS


class _Witnessed:
    """A call with one write, in a unit of work with savepoints, run without one.

    The driver shows whether the failed call left anything behind: a refused statement
    changed nothing and the unit of work goes on; a call that failed after its write ran
    (or a transaction the database ended) dooms it rather than commit half a call.
    """

    __slots__ = ("_changes", "_runner", "_witness")

    def __init__(self, runner: TransactionRunner, witness: StatementWitness) -> None:
        self._runner = runner
        self._witness = witness
        self._changes = 0

    def __enter__(self) -> Connection:
        connection = self._runner.usable()
        self._changes = self._witness.total_changes
        return connection

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None and not self._left_nothing():
            self._runner.doom = _FAILED_AFTER_WRITING

    def _left_nothing(self) -> bool:
        connection = self._runner.connection
        # SQLAlchemy invalidates (closes) the connection when an interrupt cuts a statement.
        if connection.invalidated:
            return False
        witness = self._witness
        try:
            return witness.in_transaction and witness.total_changes == self._changes
        except sqlite3.Error:  # the driver's connection is unusable: never hide the error
            return False


def _rolled_back(savepoint: NestedTransaction) -> bool:
    """Roll back to ``savepoint``; False if the database no longer has it."""
    try:
        savepoint.rollback()
    except Exception:
        return False
    return True


class TransactionRunner:
    """Every call on one connection and transaction, owned by a unit of work.

    With ``savepoints`` (the default) a failed call undoes itself alone and the unit of
    work goes on: each write runs in a savepoint, except a call with one write on an
    engine that undoes a failed statement alone and shows it (SQLite), where the
    savepoint's two statements would buy nothing. Without, calls run directly on the
    transaction (two statements fewer per write); the first failed call dooms it.
    """

    def __init__(
        self,
        connection: Connection,
        *,
        savepoints: bool = True,
        writes: DriverWrites | None = None,
    ) -> None:
        self.connection = connection
        self._savepoints = savepoints
        self._writes = writes
        self._skip_core: bool | None = None
        self._witness = backend_for(connection).statement_witness(connection)
        self.doom: _Doom | None = None
        # A session handed out: the caller may keep its connection past the unit of work.
        self.handed_out = False

    @property
    def failure(self) -> _Doom | None:
        """Why the unit of work cannot go on or commit, if it cannot."""
        if self.doom is None and self.connection.invalidated:
            # An interrupt (or a lost server) cut a statement short: SQLAlchemy dropped it all.
            self.doom = _FAILED_AFTER_WRITING
        return self.doom

    def end(self) -> None:
        """The unit of work is over: its repositories refuse later calls."""
        # Its connection stays open when the thread holds it (taskdb.connections.HeldWriters).
        self.doom = _ENDED

    def usable(self) -> Connection:
        """The connection, unless a failed call doomed the unit of work."""
        failure = self.failure
        if failure is not None:
            raise InvalidEntry(failure.on_call)
        return self.connection

    def writing(self, *, one_write: bool = False) -> AbstractContextManager[Connection]:
        if not self._savepoints:
            return _Doomable(self)
        if one_write and self._witness is not None:
            return _Witnessed(self, self._witness)
        # A savepoint undoes a failed call alone, and keeps a PostgreSQL transaction usable.
        return self._in_savepoint()

    def execute(
        self, connection: Connection, statement: UpdateBase, parameters: Mapping[str, Any]
    ) -> Written:
        writes = self._writes
        if writes is None:
            return connection.execute(statement, parameters)
        if self._skip_core is None:
            # Judged once a block, as SQLAlchemy fixes a connection's logging when it makes it.
            self._skip_core = writes.may_skip_core(connection)
        return writes.execute(connection, statement, parameters, skip_core=self._skip_core)

    def reading(self) -> AbstractContextManager[Connection]:
        return _Doomable(self) if not self._savepoints else nullcontext(self.usable())

    def rows(self, statement: Select[Any], parameters: Mapping[str, Any]) -> Rows:
        with self.reading() as connection:
            return connection.execute(statement, parameters).all()

    @contextmanager
    def _in_savepoint(self) -> Iterator[Connection]:
        connection = self.usable()
        savepoint = connection.begin_nested()
        try:
            yield connection
        except BaseException:
            if not _rolled_back(savepoint):
                # The database ended the whole transaction under the call (a MariaDB deadlock
                # takes the savepoints with it): what came before is gone, so nothing may commit.
                self.doom = _FAILED_AFTER_WRITING
            raise  # the call's own error (a deadlock), not the savepoint's
        savepoint.commit()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session inside the unit of work's transaction, on a savepoint of its own."""
        # Closed for good at the end: a session kept past the block would otherwise write on
        # the thread's held connection later, outside any unit of work.
        self.handed_out = True
        with (
            # A savepoint of the unit of work's own around the session's: should the
            # database end the transaction under a flush, it dooms the unit of work.
            self._in_savepoint() as connection,
            Session(
                bind=connection,
                join_transaction_mode="create_savepoint",
                close_resets_only=False,
            ) as session,
            session.begin(),
        ):
            yield session
