"""Requesters: who pays for task runs, on one provider."""

from __future__ import annotations

from taskdb.crowd.inputs import NewRequester
from taskdb.crowd.models import Requester
from taskdb.crowd.records import RequesterRecord
from taskdb.crowd.repositories.base import Repository, table_of
from taskdb.errors import operation


class RequesterRepository(Repository[RequesterRecord]):
    table = table_of(Requester)
    record = RequesterRecord
    entity = "requester"

    @operation("creating {entity}")
    def new(self, requester_name: str, provider_type: str) -> int:
        """Create a requester; EntryAlreadyExists for a taken name."""
        values = self._validated(
            NewRequester, {"requester_name": requester_name, "provider_type": provider_type}
        )
        with self._runner.writing() as connection:
            return self._insert(connection, values.model_dump())

    @operation("finding {entity}s")
    def find(
        self, *, requester_name: str | None = None, provider_type: str | None = None
    ) -> list[RequesterRecord]:
        """Requesters matching every filter that is not None, in id order."""
        return self._find(requester_name=requester_name, provider_type=provider_type)
