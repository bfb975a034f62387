"""Mephisto on taskdb: a ``MephistoDB`` whose data lives in taskdb's crowd store.

``TaskdbMephistoDB`` runs Mephisto unmodified on SQLite, PostgreSQL or MariaDB. It
is a drop-in for Mephisto's ``LocalMephistoDB``: it takes the same ``database_path``
(the SQLite file, by default ``database.db`` in Mephisto's data directory) and returns
what that class returns:

- ``get_*`` rows are mappings with the same keys, and values of the same types: ids
  as ``str``, flags as 0/1, ``creation_date`` as ``YYYY-MM-DD HH:MM:SS`` text,
  statuses as plain text;
- ``find_*`` return Mephisto's data-model objects, in id order;
- errors are Mephisto's: ``EntryAlreadyExistsException``, ``EntryDoesNotExistException``,
  and ``MephistoDBException`` for anything else (bad input, a database failure);
- provider types are checked against Mephisto's provider registry as it is at each
  call, so a provider registered after the database was opened is accepted;
- the blob methods (``write_dict``, ``read_dict``, ``write_text``, ``read_text``,
  ``key_exists``) read and write files under the database's folder (``db_root``),
  whatever engine holds the rows, as ``LocalMephistoDB`` does.

Every table operation is one call of taskdb's public crowd API (``store.projects.new``,
...), so the rules of docs/crowd.md hold: foreign keys are enforced everywhere, a
missing id is ``EntryDoesNotExistException`` where the seed silently did nothing
(``update_task_run``, ``clear_unit_agent_assignment``), and an unknown status filter
is refused instead of finding nothing.

Only this module imports Mephisto (the ``taskdb[mephisto]`` extra); ``import taskdb``
never does. Mephisto 1.1.1 as released does not import on Python 3.11 (a dataclass
default in ``mephisto/operations/hydra_config.py``): see README.md.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar, cast

from taskdb.crowd import CrowdStore, ProviderRegistry, Record
from taskdb.errors import EntryAlreadyExists, EntryDoesNotExist, TaskdbError
from taskdb.spec import CROWD

try:
    from mephisto.abstractions.database import (
        EntryAlreadyExistsException,
        EntryDoesNotExistException,
        MephistoDB,
        MephistoDBException,
    )
    from mephisto.data_model.agent import Agent, OnboardingAgent
    from mephisto.data_model.assignment import Assignment
    from mephisto.data_model.project import Project
    from mephisto.data_model.qualification import GrantedQualification, Qualification
    from mephisto.data_model.requester import Requester
    from mephisto.data_model.task import Task
    from mephisto.data_model.task_run import TaskRun
    from mephisto.data_model.unit import Unit
    from mephisto.data_model.worker import Worker
    from mephisto.operations.registry import get_valid_provider_types
except ModuleNotFoundError as missing:  # pragma: no cover - depends on what is installed
    if missing.name is None or missing.name.split(".")[0] != "mephisto":
        raise
    raise ImportError(
        "taskdb.integrations.mephisto needs Mephisto: pip install 'taskdb[mephisto]'"
    ) from missing
except ValueError as broken:  # pragma: no cover - depends on what is installed
    raise ImportError(
        f"Mephisto could not be imported ({broken}). Mephisto 1.1.1 as released does not "
        "import on Python 3.11 or newer: its mephisto/operations/hydra_config.py gives "
        "dataclass fields instance defaults; see taskdb's README, 'Mephisto on taskdb'"
    ) from broken

F = TypeVar("F", bound=Callable[..., Any])
__all__ = ["MephistoProviders", "TaskdbMephistoDB"]


def _mephisto_errors(method: F) -> F:
    """Raise Mephisto's exception classes for taskdb's, chained to them."""

    @functools.wraps(method)
    def translating(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except EntryAlreadyExists as error:
            raise EntryAlreadyExistsException(str(error)) from error
        except EntryDoesNotExist as error:
            raise EntryDoesNotExistException(str(error)) from error
        except TaskdbError as error:
            raise MephistoDBException(str(error)) from error

    return cast(F, translating)


def _row(record: Record) -> dict[str, Any]:
    """A record as LocalMephistoDB's rows read: ids as text, flags 0/1, statuses as text."""
    row: dict[str, Any] = {}
    for name, value in record:
        if value is None:
            row[name] = None
        elif name.endswith("_id"):
            row[name] = str(value)
        elif isinstance(value, bool):
            row[name] = int(value)
        elif isinstance(value, Enum):
            row[name] = value.value
        else:
            row[name] = value
    return row


class MephistoProviders(ProviderRegistry):
    """The provider types of Mephisto's live registry, plus any registered here.

    Mephisto registers a crowd provider when its module is imported; this registry
    asks Mephisto at each check, so such a provider is accepted from then on.
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        super().__init__(names)

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or (
            isinstance(name, str) and name in get_valid_provider_types()
        )

    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*get_valid_provider_types(), *super().names()]))


class TaskdbMephistoDB(MephistoDB):  # type: ignore[misc]  # Mephisto is untyped
    """Mephisto's database on taskdb's crowd store: SQLite, PostgreSQL or MariaDB.

    Args:
        database_path: As ``LocalMephistoDB``'s: the SQLite file, by default
            ``database.db`` in Mephisto's data directory. Its folder (``db_root``) holds
            the blob files and the providers' datastores whatever the engine.
        url: A database URL (``postgresql+psycopg://...``, ``mysql+pymysql://...``,
            ``sqlite:///...``); else ``TASKDB_CROWD_URL`` if set; else the SQLite file
            at ``database_path``. A SQLite file made by ``LocalMephistoDB`` is adopted
            in place on first open (its rows untouched; ``LocalMephistoDB`` still opens
            it).
        upgrade: Bring a server database to head when the tables are initialised (at
            construction, as ``LocalMephistoDB`` creates its tables), under the
            migration lock. With False a server database not at head is refused
            (``MephistoDBException`` naming the command to run). SQLite files are
            brought to head either way.
        engine_options: ``sqlalchemy.create_engine`` arguments over taskdb's own.

    The underlying ``CrowdStore`` is ``self.store``. One instance may be shared by
    threads (each call takes its own pooled connection).
    """

    def __init__(
        self,
        database_path: str | os.PathLike[str] | None = None,
        url: str | None = None,
        *,
        upgrade: bool = True,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._url = url or os.environ.get(CROWD.url_env) or None
        self._upgrade = upgrade
        self._engine_options = engine_options
        self._store: CrowdStore | None = None
        self.providers = MephistoProviders()
        # Sets db_path and db_root, then calls init_tables().
        super().__init__(os.fspath(database_path) if database_path is not None else None)

    @property
    def store(self) -> CrowdStore:
        """The crowd store holding the rows."""
        if self._store is None:
            raise MephistoDBException("the database's tables were not initialised")
        return self._store

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self.store.url

    @_mephisto_errors
    def init_tables(self) -> None:
        """Open the crowd store: create (or adopt, or upgrade) its tables as needed."""
        if self._store is not None:
            return
        url = self._url or f"sqlite:///{os.path.abspath(self.db_path)}"
        self._store = CrowdStore(
            url,
            providers=self.providers,
            engine_options=self._engine_options,
            upgrade=self._upgrade,
        )

    def shutdown(self) -> None:
        """Close the pooled connections; a later call opens new ones."""
        if self._store is not None:
            self._store.close()

    def __repr__(self) -> str:
        url = self._store.url if self._store is not None else None
        return f"TaskdbMephistoDB({self.db_path!r}, url={url!r})"

    def _objects(self, cls: Any, key: str, records: Iterable[Record]) -> list[Any]:
        rows = [_row(record) for record in records]
        return [cls(self, row[key], row=row, _used_new_call=True) for row in rows]

    # Projects

    @_mephisto_errors
    def _new_project(self, project_name: str) -> str:
        return str(self.store.projects.new(project_name))

    @_mephisto_errors
    def _get_project(self, project_id: str) -> Mapping[str, Any]:
        return _row(self.store.projects.get(project_id))

    @_mephisto_errors
    def _find_projects(self, project_name: str | None = None) -> list[Any]:
        found = self.store.projects.find(project_name=project_name)
        return self._objects(Project, "project_id", found)

    # Tasks

    @_mephisto_errors
    def _new_task(self, task_name: str, task_type: str, project_id: str | None = None) -> str:
        return str(self.store.tasks.new(task_name, task_type, project_id))

    @_mephisto_errors
    def _get_task(self, task_id: str) -> Mapping[str, Any]:
        return _row(self.store.tasks.get(task_id))

    @_mephisto_errors
    def _find_tasks(self, task_name: str | None = None, project_id: str | None = None) -> list[Any]:
        found = self.store.tasks.find(task_name=task_name, project_id=project_id)
        return self._objects(Task, "task_id", found)

    @_mephisto_errors
    def _update_task(
        self, task_id: str, task_name: str | None = None, project_id: str | None = None
    ) -> None:
        self.store.tasks.update(task_id, task_name=task_name, project_id=project_id)

    # Task runs

    @_mephisto_errors
    def _new_task_run(
        self,
        task_id: str,
        requester_id: str,
        init_params: str,
        provider_type: str,
        task_type: str,
        sandbox: bool = True,
    ) -> str:
        return str(
            self.store.task_runs.new(
                task_id, requester_id, init_params, provider_type, task_type, sandbox
            )
        )

    @_mephisto_errors
    def _get_task_run(self, task_run_id: str) -> Mapping[str, Any]:
        return _row(self.store.task_runs.get(task_run_id))

    @_mephisto_errors
    def _find_task_runs(
        self,
        task_id: str | None = None,
        requester_id: str | None = None,
        is_completed: bool | None = None,
    ) -> list[Any]:
        found = self.store.task_runs.find(
            task_id=task_id, requester_id=requester_id, is_completed=is_completed
        )
        return self._objects(TaskRun, "task_run_id", found)

    @_mephisto_errors
    def _update_task_run(self, task_run_id: str, is_completed: bool) -> None:
        self.store.task_runs.update(task_run_id, is_completed)

    # Assignments

    @_mephisto_errors
    def _new_assignment(
        self,
        task_id: str,
        task_run_id: str,
        requester_id: str,
        task_type: str,
        provider_type: str,
        sandbox: bool = True,
    ) -> str:
        return str(
            self.store.assignments.new(
                task_id, task_run_id, requester_id, task_type, provider_type, sandbox
            )
        )

    @_mephisto_errors
    def _get_assignment(self, assignment_id: str) -> Mapping[str, Any]:
        return _row(self.store.assignments.get(assignment_id))

    @_mephisto_errors
    def _find_assignments(
        self,
        task_run_id: str | None = None,
        task_id: str | None = None,
        requester_id: str | None = None,
        task_type: str | None = None,
        provider_type: str | None = None,
        sandbox: bool | None = None,
    ) -> list[Any]:
        found = self.store.assignments.find(
            task_run_id=task_run_id,
            task_id=task_id,
            requester_id=requester_id,
            task_type=task_type,
            provider_type=provider_type,
            sandbox=sandbox,
        )
        return self._objects(Assignment, "assignment_id", found)

    # Units

    @_mephisto_errors
    def _new_unit(
        self,
        task_id: str,
        task_run_id: str,
        requester_id: str,
        assignment_id: str,
        unit_index: int,
        pay_amount: float,
        provider_type: str,
        task_type: str,
        sandbox: bool = True,
    ) -> str:
        return str(
            self.store.units.new(
                task_id,
                task_run_id,
                requester_id,
                assignment_id,
                unit_index,
                pay_amount,
                provider_type,
                task_type,
                sandbox,
            )
        )

    @_mephisto_errors
    def _get_unit(self, unit_id: str) -> Mapping[str, Any]:
        return _row(self.store.units.get(unit_id))

    @_mephisto_errors
    def _find_units(
        self,
        task_id: str | None = None,
        task_run_id: str | None = None,
        requester_id: str | None = None,
        assignment_id: str | None = None,
        unit_index: int | None = None,
        provider_type: str | None = None,
        task_type: str | None = None,
        agent_id: str | None = None,
        worker_id: str | None = None,
        sandbox: bool | None = None,
        status: str | None = None,
    ) -> list[Any]:
        found = self.store.units.find(
            task_id=task_id,
            task_run_id=task_run_id,
            requester_id=requester_id,
            assignment_id=assignment_id,
            unit_index=unit_index,
            provider_type=provider_type,
            task_type=task_type,
            agent_id=agent_id,
            worker_id=worker_id,
            sandbox=sandbox,
            status=cast(Any, status),  # checked at run time: an unknown status is refused
        )
        return self._objects(Unit, "unit_id", found)

    @_mephisto_errors
    def _clear_unit_agent_assignment(self, unit_id: str) -> None:
        self.store.units.clear_agent(unit_id)

    @_mephisto_errors
    def _update_unit(
        self, unit_id: str, agent_id: str | None = None, status: str | None = None
    ) -> None:
        self.store.units.update(unit_id, cast(Any, status), agent_id=agent_id)

    # Requesters

    @_mephisto_errors
    def _new_requester(self, requester_name: str, provider_type: str) -> str:
        return str(self.store.requesters.new(requester_name, provider_type))

    @_mephisto_errors
    def _get_requester(self, requester_id: str) -> Mapping[str, Any]:
        return _row(self.store.requesters.get(requester_id))

    @_mephisto_errors
    def _find_requesters(
        self, requester_name: str | None = None, provider_type: str | None = None
    ) -> list[Any]:
        found = self.store.requesters.find(
            requester_name=requester_name, provider_type=provider_type
        )
        return self._objects(Requester, "requester_id", found)

    # Workers

    @_mephisto_errors
    def _new_worker(self, worker_name: str, provider_type: str) -> str:
        return str(self.store.workers.new(worker_name, provider_type))

    @_mephisto_errors
    def _get_worker(self, worker_id: str) -> Mapping[str, Any]:
        return _row(self.store.workers.get(worker_id))

    @_mephisto_errors
    def _find_workers(
        self, worker_name: str | None = None, provider_type: str | None = None
    ) -> list[Any]:
        found = self.store.workers.find(worker_name=worker_name, provider_type=provider_type)
        return self._objects(Worker, "worker_id", found)

    # Agents

    @_mephisto_errors
    def _new_agent(
        self,
        worker_id: str,
        unit_id: str,
        task_id: str,
        task_run_id: str,
        assignment_id: str,
        task_type: str,
        provider_type: str,
    ) -> str:
        return str(
            self.store.agents.new(
                worker_id, unit_id, task_id, task_run_id, assignment_id, task_type, provider_type
            )
        )

    @_mephisto_errors
    def _get_agent(self, agent_id: str) -> Mapping[str, Any]:
        return _row(self.store.agents.get(agent_id))

    @_mephisto_errors
    def _update_agent(self, agent_id: str, status: str | None = None) -> None:
        self.store.agents.update_status(agent_id, cast(Any, status))

    @_mephisto_errors
    def _find_agents(
        self,
        status: str | None = None,
        unit_id: str | None = None,
        worker_id: str | None = None,
        task_id: str | None = None,
        task_run_id: str | None = None,
        assignment_id: str | None = None,
        task_type: str | None = None,
        provider_type: str | None = None,
    ) -> list[Any]:
        found = self.store.agents.find(
            status=cast(Any, status),
            unit_id=unit_id,
            worker_id=worker_id,
            task_id=task_id,
            task_run_id=task_run_id,
            assignment_id=assignment_id,
            task_type=task_type,
            provider_type=provider_type,
        )
        return self._objects(Agent, "agent_id", found)

    # Onboarding agents

    @_mephisto_errors
    def _new_onboarding_agent(
        self, worker_id: str, task_id: str, task_run_id: str, task_type: str
    ) -> str:
        return str(self.store.onboarding_agents.new(worker_id, task_id, task_run_id, task_type))

    @_mephisto_errors
    def _get_onboarding_agent(self, onboarding_agent_id: str) -> Mapping[str, Any]:
        return _row(self.store.onboarding_agents.get(onboarding_agent_id))

    @_mephisto_errors
    def _update_onboarding_agent(self, onboarding_agent_id: str, status: str | None = None) -> None:
        self.store.onboarding_agents.update_status(onboarding_agent_id, cast(Any, status))

    @_mephisto_errors
    def _find_onboarding_agents(
        self,
        status: str | None = None,
        worker_id: str | None = None,
        task_id: str | None = None,
        task_run_id: str | None = None,
        task_type: str | None = None,
    ) -> list[Any]:
        found = self.store.onboarding_agents.find(
            status=cast(Any, status),
            worker_id=worker_id,
            task_id=task_id,
            task_run_id=task_run_id,
            task_type=task_type,
        )
        return self._objects(OnboardingAgent, "onboarding_agent_id", found)

    # Qualifications

    @_mephisto_errors
    def _make_qualification(self, qualification_name: str) -> str:
        return str(self.store.qualifications.make(qualification_name))

    @_mephisto_errors
    def _find_qualifications(self, qualification_name: str | None = None) -> list[Any]:
        found = self.store.qualifications.find(qualification_name=qualification_name)
        return self._objects(Qualification, "qualification_id", found)

    @_mephisto_errors
    def _get_qualification(self, qualification_id: str) -> Mapping[str, Any]:
        return _row(self.store.qualifications.get(qualification_id))

    @_mephisto_errors
    def _delete_qualification(self, qualification_name: str) -> None:
        self.store.qualifications.delete(qualification_name)

    @_mephisto_errors
    def _grant_qualification(self, qualification_id: str, worker_id: str, value: int = 1) -> None:
        self.store.granted_qualifications.grant(qualification_id, worker_id, value)

    @_mephisto_errors
    def _check_granted_qualifications(
        self,
        qualification_id: str | None = None,
        worker_id: str | None = None,
        value: int | None = None,
    ) -> list[Any]:
        found = self.store.granted_qualifications.check(
            qualification_id=qualification_id, worker_id=worker_id, value=value
        )
        rows = [_row(record) for record in found]
        return [
            GrantedQualification(self, row["qualification_id"], row["worker_id"], row=row)
            for row in rows
        ]

    @_mephisto_errors
    def _get_granted_qualification(
        self, qualification_id: str, worker_id: str
    ) -> Mapping[str, Any]:
        return _row(self.store.granted_qualifications.get(qualification_id, worker_id))

    @_mephisto_errors
    def _revoke_qualification(self, qualification_id: str, worker_id: str) -> None:
        self.store.granted_qualifications.revoke(qualification_id, worker_id)

    # Files ("blobs") under the database's folder, as LocalMephistoDB keeps them

    def _in_domain(self, path_key: str) -> Path:
        """The file at ``path_key``, which must lie under ``db_root``."""
        root = Path(os.path.realpath(self.db_root or os.curdir))
        path = Path(os.path.realpath(path_key))
        if not path.is_relative_to(root):
            raise MephistoDBException(f"Accessing invalid key {path_key} for root {self.db_root}")
        return Path(path_key)

    def write_dict(self, path_key: str, target_dict: Mapping[str, Any]) -> None:
        """Write ``target_dict`` as JSON to the file ``path_key``, creating its folders."""
        self.write_text(path_key, json.dumps(target_dict))

    def read_dict(self, path_key: str) -> dict[str, Any]:
        """The JSON object in the file ``path_key``."""
        loaded: dict[str, Any] = json.loads(self.read_text(path_key))
        return loaded

    def write_text(self, path_key: str, data_string: str) -> None:
        """Write ``data_string`` to the file ``path_key``, creating its folders."""
        path = self._in_domain(path_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data_string)

    def read_text(self, path_key: str) -> str:
        """The text of the file ``path_key``."""
        return self._in_domain(path_key).read_text()

    def key_exists(self, path_key: str) -> bool:
        """Whether a file (or folder) exists at ``path_key``."""
        return self._in_domain(path_key).exists()
