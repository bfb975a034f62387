"""Projects, tasks, requesters and workers: the named entries everything else points at."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select

from taskdb.crowd.models import Project, Requester, Task, TaskRun, Worker
from taskdb.crowd.records import (
    Id,
    Input,
    Name,
    NewProject,
    NewRequester,
    NewTask,
    NewWorker,
    ProjectRecord,
    RequesterRecord,
    TaskRecord,
    WorkerRecord,
)
from taskdb.crowd.repositories.base import (
    IdLike,
    Repository,
    arguments,
    operation,
    parse_id,
    table_of,
)
from taskdb.errors import EntryDoesNotExist, InvalidEntry


class ProjectRepository(Repository[ProjectRecord]):
    table = table_of(Project)
    record = ProjectRecord
    entity = "project"

    @operation("creating {entity}")
    def new(self, project_name: str) -> int:
        """Create a project; its name may be neither empty nor ``NO_PROJECT``."""
        values = self._validated(NewProject, {"project_name": project_name})
        with self._runner.writing() as connection:
            return self._insert(connection, values.model_dump())

    @operation("finding {entity}s")
    def find(self, *, project_name: str | None = None) -> list[ProjectRecord]:
        return self._find(**arguments(locals()))


class TaskChange(Input):
    task_name: Name | None = None
    project_id: Id | None = None


class TaskRepository(Repository[TaskRecord]):
    table = table_of(Task)
    record = TaskRecord
    entity = "task"

    @operation("creating {entity}")
    def new(self, task_name: str, task_type: str | int, project_id: IdLike | None = None) -> int:
        values = self._validated(NewTask, arguments(locals()))
        with self._runner.writing() as connection:
            return self._insert(connection, {**values.model_dump(), "parent_task_id": None})

    @operation("finding {entity}s")
    def find(
        self, *, task_name: str | None = None, project_id: IdLike | None = None
    ) -> list[TaskRecord]:
        return self._find(**arguments(locals()))

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


class RequesterRepository(Repository[RequesterRecord]):
    table = table_of(Requester)
    record = RequesterRecord
    entity = "requester"

    @operation("creating {entity}")
    def new(self, requester_name: str, provider_type: str) -> int:
        values = self._validated(
            NewRequester, {"requester_name": requester_name, "provider_type": provider_type}
        )
        with self._runner.writing() as connection:
            return self._insert(connection, values.model_dump())

    @operation("finding {entity}s")
    def find(
        self, *, requester_name: str | None = None, provider_type: str | None = None
    ) -> list[RequesterRecord]:
        return self._find(**arguments(locals()))


class WorkerRepository(Repository[WorkerRecord]):
    table = table_of(Worker)
    record = WorkerRecord
    entity = "worker"

    @operation("creating {entity}")
    def new(self, worker_name: str, provider_type: str) -> int:
        values = self._validated(
            NewWorker, {"worker_name": worker_name, "provider_type": provider_type}
        )
        with self._runner.writing() as connection:
            return self._insert(connection, values.model_dump())

    @operation("finding {entity}s")
    def find(
        self, *, worker_name: str | None = None, provider_type: str | None = None
    ) -> list[WorkerRecord]:
        return self._find(**arguments(locals()))
