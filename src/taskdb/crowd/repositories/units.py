"""Units: one piece of work inside an assignment, done by at most one agent at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import TypeAdapter

from taskdb.crowd.fields import UnitStatusFilter
from taskdb.crowd.inputs import NewUnit, UnitChange
from taskdb.crowd.models import Unit
from taskdb.crowd.records import UnitRecord
from taskdb.crowd.repositories.base import IdLike, Repository, parse_id, table_of
from taskdb.crowd.vocab import UnitStatus, UnitStatusLike
from taskdb.errors import operation

# Every unit starts here, whichever way it is created.
_CREATED = {"status": UnitStatus.CREATED.value}


class UnitRepository(Repository[UnitRecord]):
    table = table_of(Unit)
    record = UnitRecord
    entity = "unit"
    filters = {"status": TypeAdapter(UnitStatusFilter)}

    @operation("creating {entity}")
    def new(
        self,
        task_id: IdLike,
        task_run_id: IdLike,
        requester_id: IdLike,
        assignment_id: IdLike,
        unit_index: int,
        pay_amount: float,
        provider_type: str,
        task_type: str | int,
        sandbox: bool = True,
    ) -> int:
        """Create a unit in status ``created``; one index per assignment.

        Returns:
            The new unit's id.

        Raises:
            EntryAlreadyExists: the assignment already has a unit at ``unit_index``.
            EntryDoesNotExist: no task, task run, requester or assignment has the id given.
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: ``pay_amount`` is not a finite number, the provider type is not
                registered, or an id or the index is out of range.
            DatabaseError: the database failed.
        """
        values = self._validated(
            NewUnit,
            {
                "task_id": task_id,
                "task_run_id": task_run_id,
                "requester_id": requester_id,
                "assignment_id": assignment_id,
                "unit_index": unit_index,
                "pay_amount": pay_amount,
                "provider_type": provider_type,
                "task_type": task_type,
                "sandbox": sandbox,
            },
        )
        with self._runner.writing(one_write=True) as connection:
            return self._insert(connection, {**values.model_dump(), **_CREATED})

    @operation("creating {entity}s")
    def new_many(self, units: Iterable[NewUnit | Mapping[str, Any]]) -> list[int]:
        """Create many units in status ``created``, in one transaction: all or none.

        ``units`` holds ``NewUnit`` models or mappings with the arguments of ``new``;
        every item is validated before anything is written.

        Returns:
            The new ids, in input order.

        Raises:
            EntryAlreadyExists: two items, or an item and a stored unit, share an
                assignment and index.
            EntryDoesNotExist: an item names a task, task run, requester or assignment
                that does not exist.
            InvalidType: ``units`` is not a list of items, or an item or one of its fields
                is of a type it does not take (also a ``TypeError``).
            InvalidEntry: an item is invalid (the message gives its index).
            DatabaseError: the database failed.
        """
        return self._create_many(NewUnit, units, "units", _CREATED)

    @operation("finding {entity}s")
    def find(
        self,
        *,
        task_id: IdLike | None = None,
        task_run_id: IdLike | None = None,
        requester_id: IdLike | None = None,
        assignment_id: IdLike | None = None,
        unit_index: int | None = None,
        provider_type: str | None = None,
        task_type: str | int | None = None,
        agent_id: IdLike | None = None,
        worker_id: IdLike | None = None,
        sandbox: bool | None = None,
        status: UnitStatusLike | None = None,
        limit: int | None = None,
        after: IdLike | None = None,
    ) -> list[UnitRecord]:
        """Units matching every filter that is not None.

        ``status`` is a ``UnitStatus`` or its value (``"created"``), ``mixed`` included.

        ``limit`` and ``after`` read one page: at most ``limit`` records, with ids
        above ``after`` (give the last id of the page before); ``count`` and
        ``iterate`` take the same filters.

        Returns:
            Their records, in id order (empty if none matches).

        Raises:
            InvalidType: a filter is of a type it does not take (also a ``TypeError``).
            InvalidEntry: ``status`` is not a unit status (the message lists them), or
                another filter has a value no entry can have.
            DatabaseError: the database failed, or a row holds values taskdb cannot read.
        """
        return self._find(
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
            status=status,
            limit=limit,
            after=after,
        )

    @operation("updating {entity}")
    def update(
        self, unit_id: IdLike, status: UnitStatusLike, agent_id: IdLike | None = None
    ) -> None:
        """Set a unit's status (any unit status but ``mixed``) and, if given, its agent.

        Returns:
            None.

        Raises:
            EntryDoesNotExist: no unit has ``unit_id``, or no agent has ``agent_id``.
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: ``status`` is not a unit status or is ``mixed`` (the message
                lists the allowed ones), or an id is not one.
            DatabaseError: the database failed.
        """
        self._change(unit_id, self._validated(UnitChange, {"status": status, "agent_id": agent_id}))

    @operation("updating {entity}")
    def update_status(self, unit_id: IdLike, status: UnitStatusLike) -> None:
        """Set a unit's status: the seed's name for ``update(unit_id, status)``.

        Returns:
            None.

        Raises:
            EntryDoesNotExist: no unit has ``unit_id``.
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: ``status`` is not a unit status or is ``mixed``, or the id is not one.
            DatabaseError: the database failed.
        """
        self.update(unit_id, status)

    @operation("clearing the agent of {entity}")
    def clear_agent(self, unit_id: IdLike) -> None:
        """Detach a unit from its agent and worker and make it ``launched`` again.

        Returns:
            None.

        Raises:
            EntryDoesNotExist: no unit has ``unit_id``.
            InvalidType: ``unit_id`` is neither an int nor a string (also a ``TypeError``).
            InvalidEntry: ``unit_id`` is not an id.
            DatabaseError: the database failed.
        """
        wanted = parse_id(unit_id, "unit_id")
        values = {"agent_id": None, "worker_id": None, "status": UnitStatus.LAUNCHED.value}
        with self._runner.writing(one_write=True) as connection:
            self._update(connection, wanted, values)
