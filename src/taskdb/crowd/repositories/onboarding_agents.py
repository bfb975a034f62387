"""Onboarding agents: a worker's attempt at a task's onboarding."""

from __future__ import annotations

from pydantic import TypeAdapter

from taskdb.crowd.fields import AgentStatusFilter
from taskdb.crowd.inputs import AgentStatusChange, NewOnboardingAgent
from taskdb.crowd.models import OnboardingAgent
from taskdb.crowd.records import OnboardingAgentRecord
from taskdb.crowd.repositories.base import IdLike, Repository, table_of
from taskdb.crowd.vocab import AgentStatus, AgentStatusLike
from taskdb.errors import operation


class OnboardingAgentRepository(Repository[OnboardingAgentRecord]):
    table = table_of(OnboardingAgent)
    record = OnboardingAgentRecord
    entity = "onboarding agent"
    filters = {"status": TypeAdapter(AgentStatusFilter)}

    @operation("creating {entity}")
    def new(
        self, worker_id: IdLike, task_id: IdLike, task_run_id: IdLike, task_type: str | int
    ) -> int:
        """Create an onboarding agent in status ``none``.

        Returns:
            The new onboarding agent's id.

        Raises:
            EntryDoesNotExist: no worker has ``worker_id``, or no task run has ``task_run_id``.
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: an id is not one, or ``task_type`` is not storable (it may be
                empty, as the seed's).
            DatabaseError: the database failed.
        """
        values = self._validated(
            NewOnboardingAgent,
            {
                "worker_id": worker_id,
                "task_id": task_id,
                "task_run_id": task_run_id,
                "task_type": task_type,
            },
        )
        with self._runner.writing(one_write=True) as connection:
            return self._insert(
                connection, {**values.model_dump(), "status": AgentStatus.NONE.value}
            )

    @operation("updating {entity}")
    def update_status(self, onboarding_agent_id: IdLike, status: AgentStatusLike) -> None:
        """Set an onboarding agent's status: an ``AgentStatus`` or its value.

        Returns:
            None.

        Raises:
            EntryDoesNotExist: no onboarding agent has ``onboarding_agent_id``.
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: ``status`` is not an agent status (the message lists them), or
                the id is not one.
            DatabaseError: the database failed.
        """
        change = self._validated(AgentStatusChange, {"status": status})
        self._change(onboarding_agent_id, change)

    @operation("finding {entity}s")
    def find(
        self,
        *,
        status: AgentStatusLike | None = None,
        worker_id: IdLike | None = None,
        task_id: IdLike | None = None,
        task_run_id: IdLike | None = None,
        task_type: str | int | None = None,
        limit: int | None = None,
        after: IdLike | None = None,
    ) -> list[OnboardingAgentRecord]:
        """Onboarding agents matching every filter that is not None.

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
            worker_id=worker_id,
            task_id=task_id,
            task_run_id=task_run_id,
            task_type=task_type,
            limit=limit,
            after=after,
        )
