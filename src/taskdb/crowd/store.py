"""The crowd store: one engine, the eleven repositories, and units of work."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from taskdb.connections import Runner, TransactionRunner, store_runner
from taskdb.crowd.repositories import (
    AgentRepository,
    AssignmentRepository,
    GrantedQualificationRepository,
    OnboardingAgentRepository,
    ProjectRepository,
    QualificationRepository,
    RequesterRepository,
    TaskRepository,
    TaskRunRepository,
    UnitRepository,
    WorkerRepository,
)
from taskdb.crowd.session_rules import enforce
from taskdb.crowd.vocab import PROVIDERS, ProviderRegistry
from taskdb.engine import Durability, public_url
from taskdb.errors import InvalidEntry, InvalidType, operation, translated
from taskdb.lifecycle.open import open_engine
from taskdb.spec import CROWD


class CrowdRepositories:
    """The eleven repositories, one per table, all running on one runner.

    Each is listed below (help() shows them as data descriptors) with what it holds;
    every public method of a repository documents what it returns and raises.
    """

    # A dict of slots gives each attribute its docstring: help() lists them with it.
    __slots__ = {
        "_runner": "Runner: hands out the connections, and sessions, of all the repositories.",
        "agents": "AgentRepository: a worker's attempt at a unit, with its status.",
        "assignments": "AssignmentRepository: bundles of units a task run hands to one worker.",
        "granted_qualifications": (
            "GrantedQualificationRepository: which worker holds which qualification, and its value."
        ),
        "onboarding_agents": "OnboardingAgentRepository: a worker's attempt at onboarding.",
        "projects": "ProjectRepository: named groups of tasks.",
        "providers": "ProviderRegistry: the provider types this store accepts.",
        "qualifications": "QualificationRepository: named abilities a worker can be granted.",
        "requesters": "RequesterRepository: who pays for task runs, on one provider.",
        "task_runs": "TaskRunRepository: one launch of a task by a requester.",
        "tasks": "TaskRepository: what a requester runs, possibly inside a project.",
        "units": "UnitRepository: pieces of work inside an assignment, with their status.",
        "workers": "WorkerRepository: the people who do units, on one provider.",
    }
    providers: ProviderRegistry
    projects: ProjectRepository
    tasks: TaskRepository
    requesters: RequesterRepository
    task_runs: TaskRunRepository
    assignments: AssignmentRepository
    units: UnitRepository
    workers: WorkerRepository
    agents: AgentRepository
    onboarding_agents: OnboardingAgentRepository
    qualifications: QualificationRepository
    granted_qualifications: GrantedQualificationRepository

    def __init__(self, runner: Runner, providers: ProviderRegistry) -> None:
        self._runner = runner
        self.providers = providers
        self.projects = ProjectRepository(runner, providers)
        self.tasks = TaskRepository(runner, providers)
        self.requesters = RequesterRepository(runner, providers)
        self.task_runs = TaskRunRepository(runner, providers)
        self.assignments = AssignmentRepository(runner, providers)
        self.units = UnitRepository(runner, providers)
        self.workers = WorkerRepository(runner, providers)
        self.agents = AgentRepository(runner, providers)
        self.onboarding_agents = OnboardingAgentRepository(runner, providers)
        self.qualifications = QualificationRepository(runner, providers)
        self.granted_qualifications = GrantedQualificationRepository(runner, providers)

    @operation("opening a crowd session")
    @contextmanager
    def session(self) -> Iterator[Session]:
        """A SQLAlchemy ORM ``Session`` for queries the repositories do not cover.

        Committed when the block ends, rolled back if it raises; integrity errors at
        flush or commit come out as taskdb's errors. Relationships load only when asked
        (``selectinload``/``joinedload``): see docs/orm.md. Inside ``unit_of_work()``,
        ``work.session()`` shares the unit of work's transaction; it and its connection
        are closed when the unit of work ends.
        """
        with translated("in a crowd session"), self._runner.session() as session:
            enforce(session, self.providers)
            yield session


class CrowdStore(CrowdRepositories):
    """Mephisto-style crowd data on SQLite, PostgreSQL or MariaDB, chosen by URL.

    The data is reached through eleven repositories, one per table (``store.units``,
    ``store.agents``, ...: listed below under "Data descriptors inherited from
    CrowdRepositories"). Each repository call commits on its own. ``unit_of_work()``
    groups calls in one transaction. An embedded SQLite database upgrades itself on
    open; a server database must already be at head (DatabaseBehind names the command)
    unless ``upgrade=True`` is given.

    Args:
        url: The database URL; else ``TASKDB_CROWD_URL``, else the default file.
        providers: The provider names the store accepts.
        engine_options: Keyword arguments of ``sqlalchemy.create_engine`` laid over
            taskdb's own (``connect_args`` merged key by key), e.g.
            ``{"pool_size": 10, "connect_args": {"connect_timeout": 3}}``.
        engine: An existing engine to use instead of a URL: any PostgreSQL or MariaDB
            engine, or a SQLite one made by ``taskdb.engine.create_engine(url, CROWD)``.
            The store checks (and, on SQLite, upgrades) its database, and leaves the
            engine open on ``close()``: the caller disposes it.
        upgrade: Bring a PostgreSQL or MariaDB database to head on open (creating the
            tables of a fresh one) under the migration lock, instead of raising
            ``DatabaseBehind``; for an application that owns its database. Off by
            default: upgrading a shared database is an operator's decision. SQLite
            files upgrade themselves either way.
        durability: SQLite's commit guarantee: ``"normal"`` (the default; WAL with
            ``synchronous=NORMAL``, safe if the application crashes, a power loss may
            undo the last commits) or ``"full"`` (an fsync per commit: also safe against
            power loss, as the seed's rollback journal was). Servers keep their own.
    """

    @operation("opening the crowd store")
    def __init__(
        self,
        url: str | None = None,
        *,
        providers: ProviderRegistry | None = None,
        engine_options: Mapping[str, Any] | None = None,
        engine: Engine | None = None,
        upgrade: bool = False,
        durability: Durability = "normal",
    ) -> None:
        if providers is not None and not isinstance(providers, ProviderRegistry):
            raise InvalidType(f"providers must be a ProviderRegistry, got {providers!r}")
        with translated("opening the crowd store"):
            self.engine: Engine = open_engine(
                CROWD,
                url,
                engine_options=engine_options,
                engine=engine,
                upgrade=upgrade,
                durability=durability,
            )
        # A store disposes only the engine it created.
        self._owns_engine = engine is None
        self._autocommit = store_runner(self.engine, owned=self._owns_engine)
        super().__init__(self._autocommit, PROVIDERS if providers is None else providers)

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return public_url(self.engine)

    @operation("opening a crowd unit of work")
    @contextmanager
    def unit_of_work(self, *, savepoints: bool = True) -> Iterator[CrowdRepositories]:
        """Repositories on one transaction: committed at the end, rolled back on an error.

        With ``savepoints`` (the default) a call that fails leaves the transaction as
        it was, and the block may catch the error and go on: each write runs in a
        savepoint, except, on SQLite, a call that writes with one statement (all but
        ``agents.new``, the bulk ``new_many`` and ``qualifications.delete``), which
        SQLite undoes alone when it is refused. Should such a call fail after its
        write ran (a ``KeyboardInterrupt``, a raising listener), or lose the
        transaction, the unit of work is doomed as below rather than commit half a
        call. ``savepoints=False`` drops the rest of the savepoints, two statements
        per write (the ratios are in benchmarks/RESULTS.md), at a price: the first
        failed call dooms the unit of work. Later calls in a doomed unit of work raise
        ``InvalidEntry``, and the block rolls back when it ends, raising
        ``InvalidEntry`` if it ends without an error.
        """
        if not isinstance(savepoints, bool):
            raise InvalidType(f"savepoints is True or False, got {savepoints!r}")
        with (
            translated("running a crowd unit of work"),
            self._autocommit.unit_of_work() as connection,
        ):
            runner = TransactionRunner(
                connection, savepoints=savepoints, writes=self._autocommit.writes
            )
            try:
                with connection.begin() as transaction:
                    yield CrowdRepositories(runner, self.providers)
                    failure = runner.failure
                    if failure is not None:
                        transaction.rollback()
                        raise InvalidEntry(failure.on_end)
            finally:
                runner.end()
                if runner.handed_out:
                    # session.connection() may outlive the block: closed, it cannot write later.
                    self._autocommit.retire(connection)

    @operation("closing the crowd store")
    def close(self) -> None:
        """Release the pooled connections of an engine the store created; a given one stays."""
        self._autocommit.close()
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> CrowdStore:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CrowdStore({self.url!r})"
