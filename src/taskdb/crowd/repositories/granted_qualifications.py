"""Granted qualifications: which worker holds which qualification, with what value."""

from __future__ import annotations

from sqlalchemy import Insert, Table, bindparam, delete

from taskdb.backends import Backend, backend_for
from taskdb.crowd.inputs import Grant, GrantKey
from taskdb.crowd.models import GrantedQualification
from taskdb.crowd.records import GrantedQualificationRecord
from taskdb.crowd.repositories.base import IdLike, Repository, table_of
from taskdb.errors import EntryDoesNotExist, operation


class GrantedQualificationRepository(Repository[GrantedQualificationRecord]):
    table = table_of(GrantedQualification)
    record = GrantedQualificationRecord
    entity = "granted qualification"
    finder = "check"

    @operation("granting a qualification")
    def grant(self, qualification_id: IdLike, worker_id: IdLike, value: int = 1) -> None:
        """Give a worker a qualification, or change its value if already granted: one upsert.

        A regrant keeps the grant's id and creation date.

        Returns:
            None.

        Raises:
            EntryDoesNotExist: no qualification has ``qualification_id``, or no worker
                has ``worker_id``.
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: an id is not one, or ``value`` is out of range.
            DatabaseError: the database failed.
        """
        grant = {"qualification_id": qualification_id, "worker_id": worker_id, "value": value}
        values = self._validated(Grant, grant).model_dump()
        with self._runner.writing(one_write=True) as connection:
            backend = backend_for(connection)
            self._write(
                connection,
                self._statement(
                    ("upsert", backend.family), lambda: _grant_statement(self.table, backend)
                ),
                values,
            )

    @operation("getting {entity}")
    def get(  # type: ignore[override]
        self, qualification_id: IdLike, worker_id: IdLike
    ) -> GrantedQualificationRecord:
        """The grant of this qualification to this worker.

        Returns:
            Its record.

        Raises:
            EntryDoesNotExist: the worker has no grant of the qualification.
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: an id is not one.
            DatabaseError: the database failed, or the row holds values taskdb cannot read.
        """
        wanted = self._validated(
            GrantKey, {"qualification_id": qualification_id, "worker_id": worker_id}
        )
        statement = self._statement(
            ("get_grant",),
            lambda: self._selection().where(
                self.table.c.qualification_id == bindparam("qualification_id"),
                self.table.c.worker_id == bindparam("worker_id"),
            ),
        )
        rows = self._records(self._runner.rows(statement, wanted.model_dump()))
        if not rows:
            raise EntryDoesNotExist(
                f"worker {wanted.worker_id} has no grant of "
                f"qualification {wanted.qualification_id}",
                table=self.table.name,
                columns=("qualification_id", "worker_id"),
                values=wanted.model_dump(),
            )
        return rows[0]

    @operation("checking {entity}s")
    def check(
        self,
        *,
        qualification_id: IdLike | None = None,
        worker_id: IdLike | None = None,
        value: int | None = None,
        limit: int | None = None,
        after: IdLike | None = None,
    ) -> list[GrantedQualificationRecord]:
        """Grants matching every filter that is not None (the seed's name for ``find``).

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
            qualification_id=qualification_id,
            worker_id=worker_id,
            value=value,
            limit=limit,
            after=after,
        )

    @operation("revoking a qualification")
    def revoke(self, qualification_id: IdLike, worker_id: IdLike) -> bool:
        """Take a qualification from a worker; not granted is not an error.

        Returns:
            True if a grant was removed, False if there was none.

        Raises:
            InvalidType: an argument is of a type it does not take (also a ``TypeError``).
            InvalidEntry: an id is not one.
            DatabaseError: the database failed.
        """
        wanted = self._validated(
            GrantKey, {"qualification_id": qualification_id, "worker_id": worker_id}
        )
        statement = self._statement(
            ("revoke",),
            lambda: delete(self.table).where(
                self.table.c.qualification_id == bindparam("qualification_id"),
                self.table.c.worker_id == bindparam("worker_id"),
            ),
        )
        with self._runner.writing(one_write=True) as connection:
            parameters = wanted.model_dump()
            return bool(self._runner.execute(connection, statement, parameters).rowcount)


def _grant_statement(table: Table, backend: Backend) -> Insert:
    # A regrant changes the value and keeps the row's id and creation date.
    return backend.upsert(table, ("worker_id", "qualification_id"), ("value",))
