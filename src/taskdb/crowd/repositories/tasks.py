"""Tasks: what a requester runs, possibly inside a project."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select

from taskdb.crowd.inputs import NewTask, TaskChange
from taskdb.crowd.models import Task, TaskRun
from taskdb.crowd.records import TaskRecord
from taskdb.crowd.repositories.base import IdLike, Repository, parse_id, table_of
from taskdb.errors import EntryDoesNotExist, InvalidEntry, operation


class TaskRepository(Repository[TaskRecord]):
    table = table_of(Task)
    record = TaskRecord
    entity = "task"

    @operation("creating {entity}")
    def new(self, task_name: str, task_type: str | int, project_id: IdLike | None = None) -> int:
        """Create a task; EntryAlreadyExists for a taken name, EntryDoesNotExist for a project."""
        values = self._validated(
            NewTask, {"task_name": task_name, "task_type": task_type, "project_id": project_id}
        )
        with self._runner.writing() as connection:
            return self._insert(connection, {**values.model_dump(), "parent_task_id": None})

    @operation("finding {entity}s")
    def find(
        self, *, task_name: str | None = None, project_id: IdLike | None = None
    ) -> list[TaskRecord]:
        """Tasks matching every filter that is not None, in id order."""
        return self._find(task_name=task_name, project_id=project_id)

    @operation("updating {entity}")
    def update(
        self, task_id: IdLike, task_name: str | None = None, project_id: IdLike | None = None
    ) -> None:
        """Rename a task or move it to another project, only while it has no task runs."""
        wanted = parse_id(task_id, "task_id")
        change = self._validated(TaskChange, {"task_name": task_name, "project_id": project_id})
        values = change.model_dump(exclude_none=True)
        runs = table_of(TaskRun)
        has_runs = exists().where(runs.c.task_id == wanted)
        with self._runner.writing() as connection:
            if values:
                statement = (
                    self.table.update().where(self.key() == wanted, ~has_runs).values(**values)
                )
                if connection.execute(statement).rowcount == 1:
                    return
            # Nothing changed: say why, from inside the same transaction.
            found: Any = connection.execute(
                select(self.key(), has_runs).where(self.key() == wanted)
            ).first()
            if found is None:
                raise EntryDoesNotExist(f"no task has task_id {wanted}")
            if found[1]:
                raise InvalidEntry(
                    f"task {wanted} already has task runs; a task can be renamed or moved "
                    "to another project only before its first run"
                )
