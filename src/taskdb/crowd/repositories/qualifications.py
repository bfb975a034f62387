"""Qualifications and the grants that give them to workers."""

from __future__ import annotations

from pydantic import TypeAdapter
from sqlalchemy import Insert, Table, bindparam, delete, select

from taskdb.backends import Backend, backend_for
from taskdb.crowd.models import GrantedQualification, Qualification
from taskdb.crowd.records import (
    Grant,
    GrantedQualificationRecord,
    NewQualification,
    QualificationRecord,
    Text,
)
from taskdb.crowd.repositories.base import IdLike, Repository, arguments, operation, parse, table_of
from taskdb.errors import EntryDoesNotExist

_NAME = TypeAdapter(Text)


class QualificationRepository(Repository[QualificationRecord]):
    table = table_of(Qualification)
    record = QualificationRecord
    entity = "qualification"

    @operation("creating {entity}")
    def make(self, qualification_name: str) -> int:
        values = self._validated(NewQualification, {"qualification_name": qualification_name})
        with self._runner.writing() as connection:
            return self._insert(connection, values.model_dump())

    @operation("finding {entity}s")
    def find(self, *, qualification_name: str | None = None) -> list[QualificationRecord]:
        return self._find(**arguments(locals()))

    @operation("deleting {entity}")
    def delete(self, qualification_name: str) -> None:
        """Delete a qualification by name, with every grant of it, in one transaction."""
        name = parse(_NAME, qualification_name, "qualification_name")
        grants = table_of(GrantedQualification)
        with self._runner.writing() as connection:
            found = connection.execute(
                select(self.key()).where(self.table.c.qualification_name == name)
            ).scalar()
            if found is None:
                raise EntryDoesNotExist(f"no qualification is named {name!r}")
            connection.execute(delete(grants).where(grants.c.qualification_id == found))
            connection.execute(delete(self.table).where(self.key() == found))


class GrantedQualificationRepository(Repository[GrantedQualificationRecord]):
    table = table_of(GrantedQualification)
    record = GrantedQualificationRecord
    entity = "granted qualification"

    @operation("granting a qualification")
    def grant(self, qualification_id: IdLike, worker_id: IdLike, value: int = 1) -> None:
        """Give a worker a qualification, or change its value if already granted: one upsert."""
        values = self._validated(Grant, arguments(locals())).model_dump()
        with self._runner.writing() as connection:
            backend = backend_for(connection)
            connection.execute(
                self._cached(
                    ("upsert", backend.family), lambda: _grant_statement(self.table, backend)
                ),
                values,
            )

    @operation("getting {entity}")
    def get(  # type: ignore[override]
        self, qualification_id: IdLike, worker_id: IdLike
    ) -> GrantedQualificationRecord:
        """The grant of this qualification to this worker, or EntryDoesNotExist."""
        wanted = self._validated(
            Grant, {"qualification_id": qualification_id, "worker_id": worker_id}
        )
        statement = self._cached(
            ("get_grant",),
            lambda: self._selection().where(
                self.table.c.qualification_id == bindparam("qualification_id"),
                self.table.c.worker_id == bindparam("worker_id"),
            ),
        )
        with self._runner.reading() as connection:
            rows = self._records(
                connection.execute(statement, wanted.model_dump(exclude={"value"}))
            )
        if not rows:
            raise EntryDoesNotExist(
                f"worker {wanted.worker_id} has no grant of qualification {wanted.qualification_id}"
            )
        return rows[0]

    @operation("checking {entity}s")
    def check(
        self,
        *,
        qualification_id: IdLike | None = None,
        worker_id: IdLike | None = None,
        value: int | None = None,
    ) -> list[GrantedQualificationRecord]:
        """Grants matching every filter that is not None, in id order."""
        return self._find(**arguments(locals()))

    @operation("revoking a qualification")
    def revoke(self, qualification_id: IdLike, worker_id: IdLike) -> bool:
        """Take a qualification from a worker; True if it was granted (not granted is fine)."""
        wanted = self._validated(
            Grant, {"qualification_id": qualification_id, "worker_id": worker_id}
        )
        statement = self._cached(
            ("revoke",),
            lambda: delete(self.table).where(
                self.table.c.qualification_id == bindparam("qualification_id"),
                self.table.c.worker_id == bindparam("worker_id"),
            ),
        )
        with self._runner.writing() as connection:
            parameters = wanted.model_dump(exclude={"value"})
            return bool(connection.execute(statement, parameters).rowcount)


def _grant_statement(table: Table, backend: Backend) -> Insert:
    # A regrant changes the value and keeps the row's id and creation date.
    return backend.upsert(table, ("worker_id", "qualification_id"), ("value",))
