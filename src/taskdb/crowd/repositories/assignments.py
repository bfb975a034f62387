"""Assignments: a bundle of units a task run hands to one worker."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from taskdb.crowd.inputs import NewAssignment
from taskdb.crowd.models import Assignment
from taskdb.crowd.records import AssignmentRecord
from taskdb.crowd.repositories.base import IdLike, Repository, table_of
from taskdb.errors import operation


class AssignmentRepository(Repository[AssignmentRecord]):
    table = table_of(Assignment)
    record = AssignmentRecord
    entity = "assignment"

    @operation("creating {entity}")
    def new(
        self,
        task_id: IdLike,
        task_run_id: IdLike,
        requester_id: IdLike,
        task_type: str | int,
        provider_type: str,
        sandbox: bool = True,
    ) -> int:
        """Create an assignment of a task run.

        Returns:
            The new assignment's id.

        Raises:
            EntryDoesNotExist: no task, task run or requester has the id given.
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: the provider type is not registered, or an id is out of range.
            DatabaseError: the database failed.
        """
        values = self._validated(
            NewAssignment,
            {
                "task_id": task_id,
                "task_run_id": task_run_id,
                "requester_id": requester_id,
                "task_type": task_type,
                "provider_type": provider_type,
                "sandbox": sandbox,
            },
        )
        with self._runner.writing(one_write=True) as connection:
            return self._insert(connection, values.model_dump())

    @operation("creating {entity}s")
    def new_many(self, assignments: Iterable[NewAssignment | Mapping[str, Any]]) -> list[int]:
        """Create many assignments in one transaction: all or none.

        ``assignments`` holds ``NewAssignment`` models or mappings with the arguments
        of ``new``; every item is validated before anything is written.

        Returns:
            The new ids, in input order.

        Raises:
            EntryDoesNotExist: an item names a task, task run or requester that does not exist.
            InvalidType: ``assignments`` is not a list of items, or an item or one of its
                fields is of a type it does not take (also a ``TypeError``).
            InvalidEntry: an item is invalid (the message gives its index).
            DatabaseError: the database failed.
        """
        return self._create_many(NewAssignment, assignments, "assignments")

    @operation("finding {entity}s")
    def find(
        self,
        *,
        task_run_id: IdLike | None = None,
        task_id: IdLike | None = None,
        requester_id: IdLike | None = None,
        task_type: str | int | None = None,
        provider_type: str | None = None,
        sandbox: bool | None = None,
        limit: int | None = None,
        after: IdLike | None = None,
    ) -> list[AssignmentRecord]:
        """Assignments matching every filter that is not None.

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
            task_run_id=task_run_id,
            task_id=task_id,
            requester_id=requester_id,
            task_type=task_type,
            provider_type=provider_type,
            sandbox=sandbox,
            limit=limit,
            after=after,
        )
