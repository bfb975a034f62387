"""Requesters: who pays for task runs, on one provider."""

from __future__ import annotations

from taskdb.crowd.inputs import NewRequester
from taskdb.crowd.models import Requester
from taskdb.crowd.records import RequesterRecord
from taskdb.crowd.repositories.base import IdLike, Repository, table_of
from taskdb.errors import operation


class RequesterRepository(Repository[RequesterRecord]):
    table = table_of(Requester)
    record = RequesterRecord
    entity = "requester"

    @operation("creating {entity}")
    def new(self, requester_name: str, provider_type: str) -> int:
        """Create a requester on a registered provider.

        Returns:
            The new requester's id.

        Raises:
            EntryAlreadyExists: a requester already has this name.
            InvalidType: an argument is not a string (also a ``TypeError``).
            InvalidEntry: the name is empty, or the provider type is not registered.
            DatabaseError: the database failed.
        """
        values = self._validated(
            NewRequester, {"requester_name": requester_name, "provider_type": provider_type}
        )
        with self._runner.writing(one_write=True) as connection:
            return self._insert(connection, values.model_dump())

    @operation("finding {entity}s")
    def find(
        self,
        *,
        requester_name: str | None = None,
        provider_type: str | None = None,
        limit: int | None = None,
        after: IdLike | None = None,
    ) -> list[RequesterRecord]:
        """Requesters matching every filter that is not None.

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
            requester_name=requester_name, provider_type=provider_type, limit=limit, after=after
        )
