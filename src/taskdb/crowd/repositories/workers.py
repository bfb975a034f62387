"""Workers: the people who do units, on one provider."""

from __future__ import annotations

from taskdb.crowd.inputs import NewWorker
from taskdb.crowd.models import Worker
from taskdb.crowd.records import WorkerRecord
from taskdb.crowd.repositories.base import IdLike, Repository, table_of
from taskdb.errors import operation


class WorkerRepository(Repository[WorkerRecord]):
    table = table_of(Worker)
    record = WorkerRecord
    entity = "worker"

    @operation("creating {entity}")
    def new(self, worker_name: str, provider_type: str) -> int:
        """Create a worker on a registered provider.

        Returns:
            The new worker's id.

        Raises:
            EntryAlreadyExists: a worker already has this name.
            InvalidType: an argument is not a string (also a ``TypeError``).
            InvalidEntry: the name is empty, or the provider type is not registered.
            DatabaseError: the database failed.
        """
        values = self._validated(
            NewWorker, {"worker_name": worker_name, "provider_type": provider_type}
        )
        with self._runner.writing(one_write=True) as connection:
            return self._insert(connection, values.model_dump())

    @operation("finding {entity}s")
    def find(
        self,
        *,
        worker_name: str | None = None,
        provider_type: str | None = None,
        limit: int | None = None,
        after: IdLike | None = None,
    ) -> list[WorkerRecord]:
        """Workers matching every filter that is not None.

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
            worker_name=worker_name, provider_type=provider_type, limit=limit, after=after
        )
