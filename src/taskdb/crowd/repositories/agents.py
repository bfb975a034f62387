"""Agents: a worker's attempt at a unit."""

from __future__ import annotations

from pydantic import TypeAdapter
from sqlalchemy import Update, bindparam

from taskdb.crowd.fields import AgentStatusFilter
from taskdb.crowd.inputs import AgentStatusChange, NewAgent
from taskdb.crowd.models import Agent, Unit
from taskdb.crowd.records import AgentRecord
from taskdb.crowd.repositories.base import IdLike, Repository, table_of
from taskdb.crowd.vocab import AgentStatus, AgentStatusLike, UnitStatus
from taskdb.errors import operation


class AgentRepository(Repository[AgentRecord]):
    table = table_of(Agent)
    record = AgentRecord
    entity = "agent"
    filters = {"status": TypeAdapter(AgentStatusFilter)}

    @operation("creating {entity}")
    def new(
        self,
        worker_id: IdLike,
        unit_id: IdLike,
        task_id: IdLike,
        task_run_id: IdLike,
        assignment_id: IdLike,
        task_type: str | int,
        provider_type: str,
    ) -> int:
        """Create an agent in status ``none`` and assign its unit to it, in one transaction.

        The unit becomes ``assigned``, with this agent and worker.

        Returns:
            The new agent's id.

        Raises:
            EntryDoesNotExist: no worker has ``worker_id``, or no unit has ``unit_id``
                (nothing is written).
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: the provider type is not registered, or an id is out of range.
            DatabaseError: the database failed.
        """
        values = self._validated(
            NewAgent,
            {
                "worker_id": worker_id,
                "unit_id": unit_id,
                "task_id": task_id,
                "task_run_id": task_run_id,
                "assignment_id": assignment_id,
                "task_type": task_type,
                "provider_type": provider_type,
            },
        )
        with self._runner.writing() as connection:
            agent_id = self._insert(
                connection, {**values.model_dump(), "status": AgentStatus.NONE.value}
            )
            # The agent's foreign key already refused a missing unit, so this updates one row.
            self._write(
                connection,
                self._statement(("assign_unit",), _assign_unit),
                {"unit": values.unit_id, "agent": agent_id, "worker": values.worker_id},
                [{"unit_id": values.unit_id, "agent_id": agent_id, "worker_id": values.worker_id}],
                table_of(Unit),
            )
            return agent_id

    @operation("updating {entity}")
    def update_status(self, agent_id: IdLike, status: AgentStatusLike) -> None:
        """Set an agent's status: an ``AgentStatus`` or its value (``"in task"``).

        Returns:
            None.

        Raises:
            EntryDoesNotExist: no agent has ``agent_id``.
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: ``status`` is not an agent status (the message lists them), or
                the id is not one.
            DatabaseError: the database failed.
        """
        self._change(agent_id, self._validated(AgentStatusChange, {"status": status}))

    @operation("finding {entity}s")
    def find(
        self,
        *,
        status: AgentStatusLike | None = None,
        unit_id: IdLike | None = None,
        worker_id: IdLike | None = None,
        task_id: IdLike | None = None,
        task_run_id: IdLike | None = None,
        assignment_id: IdLike | None = None,
        task_type: str | int | None = None,
        provider_type: str | None = None,
        limit: int | None = None,
        after: IdLike | None = None,
    ) -> list[AgentRecord]:
        """Agents matching every filter that is not None.

        ``limit`` and ``after`` read one page: at most ``limit`` records, with ids
        above ``after`` (give the last id of the page before); ``count`` and
        ``iterate`` take the same filters.

        Returns:
            Their records, in id order (empty if none matches).

        Raises:
            InvalidType: a filter is of a type it does not take (also a ``TypeError``).
            InvalidEntry: ``status`` is not an agent status (the message lists them), or
                another filter has a value no entry can have.
            DatabaseError: the database failed, or a row holds values taskdb cannot read.
        """
        return self._find(
            status=status,
            unit_id=unit_id,
            worker_id=worker_id,
            task_id=task_id,
            task_run_id=task_run_id,
            assignment_id=assignment_id,
            task_type=task_type,
            provider_type=provider_type,
            limit=limit,
            after=after,
        )


def _assign_unit() -> Update:
    units = table_of(Unit)
    return (
        units.update()
        .where(units.c.unit_id == bindparam("unit"))
        .values(
            status=UnitStatus.ASSIGNED.value,
            agent_id=bindparam("agent"),
            worker_id=bindparam("worker"),
        )
    )
