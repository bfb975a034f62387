"""Agents: a worker's attempt at a unit."""

from __future__ import annotations

from sqlalchemy import Update, bindparam

from taskdb.crowd.inputs import AgentStatusChange, NewAgent
from taskdb.crowd.models import Agent, Unit
from taskdb.crowd.records import AgentRecord
from taskdb.crowd.repositories.base import IdLike, Repository, table_of
from taskdb.crowd.vocab import AgentStatus, UnitStatus
from taskdb.errors import operation


class AgentRepository(Repository[AgentRecord]):
    table = table_of(Agent)
    record = AgentRecord
    entity = "agent"

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

        Raises EntryDoesNotExist for a missing worker or unit.
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
            connection.execute(
                self._statement(("assign_unit",), _assign_unit),
                {"unit": values.unit_id, "agent": agent_id, "worker": values.worker_id},
            )
            return agent_id

    @operation("updating {entity}")
    def update_status(self, agent_id: IdLike, status: str) -> None:
        """Set an agent's status: one of the agent statuses; None is refused."""
        self._change(agent_id, self._validated(AgentStatusChange, {"status": status}))

    @operation("finding {entity}s")
    def find(
        self,
        *,
        status: str | None = None,
        unit_id: IdLike | None = None,
        worker_id: IdLike | None = None,
        task_id: IdLike | None = None,
        task_run_id: IdLike | None = None,
        assignment_id: IdLike | None = None,
        task_type: str | int | None = None,
        provider_type: str | None = None,
    ) -> list[AgentRecord]:
        """Agents matching every filter that is not None, in id order."""
        return self._find(
            status=status,
            unit_id=unit_id,
            worker_id=worker_id,
            task_id=task_id,
            task_run_id=task_run_id,
            assignment_id=assignment_id,
            task_type=task_type,
            provider_type=provider_type,
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
