"""Onboarding agents: a worker's attempt at a task's onboarding."""

from __future__ import annotations

from taskdb.crowd.inputs import AgentStatusChange, NewOnboardingAgent
from taskdb.crowd.models import OnboardingAgent
from taskdb.crowd.records import OnboardingAgentRecord
from taskdb.crowd.repositories.base import IdLike, Repository, table_of
from taskdb.crowd.vocab import AgentStatus
from taskdb.errors import operation


class OnboardingAgentRepository(Repository[OnboardingAgentRecord]):
    table = table_of(OnboardingAgent)
    record = OnboardingAgentRecord
    entity = "onboarding agent"

    @operation("creating {entity}")
    def new(
        self, worker_id: IdLike, task_id: IdLike, task_run_id: IdLike, task_type: str | int
    ) -> int:
        """Create an onboarding agent in status ``none``; EntryDoesNotExist for a missing worker."""
        values = self._validated(
            NewOnboardingAgent,
            {
                "worker_id": worker_id,
                "task_id": task_id,
                "task_run_id": task_run_id,
                "task_type": task_type,
            },
        )
        with self._runner.writing() as connection:
            return self._insert(
                connection, {**values.model_dump(), "status": AgentStatus.NONE.value}
            )

    @operation("updating {entity}")
    def update_status(self, onboarding_agent_id: IdLike, status: str) -> None:
        """Set an onboarding agent's status: one of the agent statuses; None is refused."""
        change = self._validated(AgentStatusChange, {"status": status})
        self._change(onboarding_agent_id, change)

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
        """Onboarding agents matching every filter that is not None, in id order."""
        return self._find(
            status=status,
            worker_id=worker_id,
            task_id=task_id,
            task_run_id=task_run_id,
            task_type=task_type,
        )
