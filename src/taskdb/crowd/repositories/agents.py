"""Agents and onboarding agents: a worker's attempt at a unit, or at a task's onboarding."""

from __future__ import annotations

from sqlalchemy import Update, bindparam

from taskdb.crowd.models import Agent, OnboardingAgent, Unit
from taskdb.crowd.records import (
    AgentRecord,
    AgentStatusValue,
    Input,
    NewAgent,
    NewOnboardingAgent,
    OnboardingAgentRecord,
)
from taskdb.crowd.repositories.base import (
    IdLike,
    Repository,
    arguments,
    operation,
    table_of,
)
from taskdb.crowd.vocab import AgentStatus, UnitStatus


class AgentStatusChange(Input):
    status: AgentStatusValue


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
        """Create an agent in status ``none`` and assign its unit to it, in one transaction."""
        values = self._validated(NewAgent, arguments(locals()))
        with self._runner.writing() as connection:
            agent_id = self._insert(
                connection, {**values.model_dump(), "status": AgentStatus.NONE.value}
            )
            # The agent's foreign key already refused a missing unit, so this updates one row.
            connection.execute(
                self._cached(("assign_unit",), _assign_unit),
                {"unit": values.unit_id, "agent": agent_id, "worker": values.worker_id},
            )
            return agent_id

    @operation("updating {entity}")
    def update_status(self, agent_id: IdLike, status: str) -> None:
        """Set an agent's status: one of the agent statuses; None is refused."""
        self._change(agent_id, AgentStatusChange, {"status": status})

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
        return self._find(**arguments(locals()))


class OnboardingAgentRepository(Repository[OnboardingAgentRecord]):
    table = table_of(OnboardingAgent)
    record = OnboardingAgentRecord
    entity = "onboarding agent"

    @operation("creating {entity}")
    def new(
        self, worker_id: IdLike, task_id: IdLike, task_run_id: IdLike, task_type: str | int
    ) -> int:
        """Create an onboarding agent in status ``none``."""
        values = self._validated(NewOnboardingAgent, arguments(locals()))
        with self._runner.writing() as connection:
            return self._insert(
                connection, {**values.model_dump(), "status": AgentStatus.NONE.value}
            )

    @operation("updating {entity}")
    def update_status(self, onboarding_agent_id: IdLike, status: str) -> None:
        """Set an onboarding agent's status: one of the agent statuses; None is refused."""
        self._change(onboarding_agent_id, AgentStatusChange, {"status": status})

    @operation("finding {entity}s")
    def find(
        self,
        *,
        status: str | None = None,
        worker_id: IdLike | None = None,
        task_id: IdLike | None = None,
        task_run_id: IdLike | None = None,
        task_type: str | int | None = None,
    ) -> list[OnboardingAgentRecord]:
        return self._find(**arguments(locals()))


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
