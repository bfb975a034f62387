"""Task runs: one launch of a task by a requester."""

from __future__ import annotations

from taskdb.crowd.inputs import NewTaskRun, TaskRunCompletion
from taskdb.crowd.models import TaskRun
from taskdb.crowd.records import TaskRunRecord
from taskdb.crowd.repositories.base import IdLike, Repository, table_of
from taskdb.errors import operation


class TaskRunRepository(Repository[TaskRunRecord]):
    table = table_of(TaskRun)
    record = TaskRunRecord
    entity = "task run"

    @operation("creating {entity}")
    def new(
        self,
        task_id: IdLike,
        requester_id: IdLike,
        init_params: str,
        provider_type: str,
        task_type: str | int,
        sandbox: bool = True,
    ) -> int:
        """Create a task run, not completed.

        Returns:
            The new task run's id.

        Raises:
            EntryDoesNotExist: no task has ``task_id``, or no requester has ``requester_id``.
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: the provider type is not registered, or an id is out of range.
            DatabaseError: the database failed.
        """
        values = self._validated(
            NewTaskRun,
            {
                "task_id": task_id,
                "requester_id": requester_id,
                "init_params": init_params,
                "provider_type": provider_type,
                "task_type": task_type,
                "sandbox": sandbox,
            },
        )
        with self._runner.writing(one_write=True) as connection:
            return self._insert(connection, {**values.model_dump(), "is_completed": False})

    @operation("finding {entity}s")
    def find(
        self,
        *,
        task_id: IdLike | None = None,
        requester_id: IdLike | None = None,
        is_completed: bool | None = None,
        limit: int | None = None,
        after: IdLike | None = None,
    ) -> list[TaskRunRecord]:
        """Task runs matching every filter that is not None.

        ``limit`` and ``after`` read one page: at most ``limit`` records, with ids
        above ``after`` (give the last id of the page before); ``count`` and
        ``iterate`` take the same filters.

        Returns:
            Their records, in id order (empty if none matches).

        Raises:
            InvalidType: a filter is of a type it does not take (also a ``TypeError``).
            InvalidEntry: a filter has a value no entry can have.
            DatabaseError: the database failed, or a row holds values taskdb cannot read.
        """
        return self._find(
            task_id=task_id,
            requester_id=requester_id,
            is_completed=is_completed,
            limit=limit,
            after=after,
        )

    @operation("updating {entity}")
    def update(self, task_run_id: IdLike, is_completed: bool) -> None:
        """Mark a task run completed or not; its completion is all that can change.

        Returns:
            None.

        Raises:
            EntryDoesNotExist: no task run has ``task_run_id``.
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: ``is_completed`` is an int other than 0 or 1, or the id is not one.
            DatabaseError: the database failed.
        """
        change = self._validated(
            TaskRunCompletion, {"task_run_id": task_run_id, "is_completed": is_completed}
        )
        with self._runner.writing(one_write=True) as connection:
            self._update(connection, change.task_run_id, {"is_completed": change.is_completed})
