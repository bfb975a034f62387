"""Tasks: what a requester runs, possibly inside a project."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, exists, select

from taskdb.crowd.inputs import NewTask, TaskChange
from taskdb.crowd.models import Task, TaskRun
from taskdb.crowd.records import TaskRecord
from taskdb.crowd.repositories.base import IdLike, Repository, parse_id, table_of
from taskdb.errors import InvalidEntry, operation


class TaskRepository(Repository[TaskRecord]):
    table = table_of(Task)
    record = TaskRecord
    entity = "task"

    @operation("creating {entity}")
    def new(self, task_name: str, task_type: str | int, project_id: IdLike | None = None) -> int:
        """Create a task, in a project or (``project_id=None``) in none.

        Returns:
            The new task's id.

        Raises:
            EntryAlreadyExists: a task already has this name.
            EntryDoesNotExist: no project has ``project_id``.
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: the name is empty, or an id is not one.
            DatabaseError: the database failed.
        """
        values = self._validated(
            NewTask, {"task_name": task_name, "task_type": task_type, "project_id": project_id}
        )
        with self._runner.writing(one_write=True) as connection:
            return self._insert(connection, {**values.model_dump(), "parent_task_id": None})

    @operation("finding {entity}s")
    def find(
        self,
        *,
        task_name: str | None = None,
        project_id: IdLike | None = None,
        limit: int | None = None,
        after: IdLike | None = None,
    ) -> list[TaskRecord]:
        """Tasks matching every filter that is not None.

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
        return self._find(task_name=task_name, project_id=project_id, limit=limit, after=after)

    @operation("updating {entity}")
    def update(
        self, task_id: IdLike, task_name: str | None = None, project_id: IdLike | None = None
    ) -> None:
        """Rename a task or move it to another project, only while it has no task runs.

        Arguments left None are not changed.

        Returns:
            None.

        Raises:
            EntryDoesNotExist: no task has ``task_id``, or no project has ``project_id``.
            EntryAlreadyExists: another task already has ``task_name``.
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: the task already has task runs, the name is empty, or an id is
                not one.
            DatabaseError: the database failed.
        """
        wanted = parse_id(task_id, "task_id")
        change = self._validated(TaskChange, {"task_name": task_name, "project_id": project_id})
        values = change.model_dump(exclude_none=True)
        runs = table_of(TaskRun)
        has_runs = exists().where(runs.c.task_id == bindparam("_entry_id"))
        with self._runner.writing(one_write=True) as connection:
            if values:
                names = tuple(sorted(values))
                # Built once per set of columns: the prepared statements are kept by statement.
                statement = self._statement(
                    ("update unless run", *names),
                    lambda: (
                        self.table.update()
                        .where(self.key() == bindparam("_entry_id"), ~has_runs)
                        .values({name: bindparam(f"_set_{name}") for name in names})
                    ),
                )
                parameters = {f"_set_{name}": value for name, value in values.items()}
                written = self._write(
                    connection, statement, {"_entry_id": wanted, **parameters}, [values]
                )
                if written.rowcount == 1:
                    return
            # Nothing changed: say why, from inside the same transaction.
            found: Any = connection.execute(
                select(self.key(), has_runs).where(self.key() == wanted), {"_entry_id": wanted}
            ).first()
            if found is None:
                raise self._missing(wanted)
            if found[1]:
                raise InvalidEntry(
                    f"task {wanted} already has task runs; a task can be renamed or moved "
                    "to another project only before its first run",
                    table=self.table.name,
                    columns=("task_id",),
                    values={"task_id": wanted},
                )
