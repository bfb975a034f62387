"""Qualifications: named abilities a worker can be granted (see granted_qualifications)."""

from __future__ import annotations

from pydantic import TypeAdapter
from sqlalchemy import delete, select

from taskdb.crowd.fields import Text
from taskdb.crowd.inputs import NewQualification
from taskdb.crowd.models import GrantedQualification, Qualification
from taskdb.crowd.records import QualificationRecord
from taskdb.crowd.repositories.base import IdLike, Repository, parse, table_of
from taskdb.errors import EntryDoesNotExist, operation

_NAME = TypeAdapter(Text)


class QualificationRepository(Repository[QualificationRecord]):
    table = table_of(Qualification)
    record = QualificationRecord
    entity = "qualification"

    @operation("creating {entity}")
    def make(self, qualification_name: str) -> int:
        """Create a qualification (the seed's name for ``new``).

        Returns:
            The new qualification's id.

        Raises:
            EntryAlreadyExists: a qualification already has this name.
            InvalidType: the name is not a string (also a ``TypeError``).
            InvalidEntry: the name is empty, or holds NUL or a lone surrogate.
            DatabaseError: the database failed.
        """
        values = self._validated(NewQualification, {"qualification_name": qualification_name})
        with self._runner.writing(one_write=True) as connection:
            return self._insert(connection, values.model_dump())

    @operation("finding {entity}s")
    def find(
        self,
        *,
        qualification_name: str | None = None,
        limit: int | None = None,
        after: IdLike | None = None,
    ) -> list[QualificationRecord]:
        """Qualifications matching every filter that is not None.

        ``limit`` and ``after`` read one page: at most ``limit`` records, with ids
        above ``after`` (give the last id of the page before); ``count`` and
        ``iterate`` take the same filters.

        Returns:
            Their records, in id order (empty if none matches).

        Raises:
            InvalidType: a filter is not a string (also a ``TypeError``).
            InvalidEntry: a filter holds NUL or a lone surrogate.
            DatabaseError: the database failed, or a row holds values taskdb cannot read.
        """
        return self._find(qualification_name=qualification_name, limit=limit, after=after)

    @operation("deleting {entity}")
    def delete(self, qualification_name: str) -> None:
        """Delete a qualification by name, with every grant of it, in one transaction.

        Returns:
            None.

        Raises:
            EntryDoesNotExist: no qualification has this name.
            InvalidType: the name is not a string (also a ``TypeError``).
            InvalidEntry: the name holds NUL or a lone surrogate.
            DatabaseError: the database failed.
        """
        name = parse(_NAME, qualification_name, "qualification_name")
        grants = table_of(GrantedQualification)
        with self._runner.writing() as connection:
            found = connection.execute(
                select(self.key()).where(self.table.c.qualification_name == name)
            ).scalar()
            if found is None:
                raise EntryDoesNotExist(
                    f"no qualification is named {name!r}",
                    table=self.table.name,
                    columns=("qualification_name",),
                    values={"qualification_name": name},
                )
            connection.execute(delete(grants).where(grants.c.qualification_id == found))
            connection.execute(delete(self.table).where(self.key() == found))
