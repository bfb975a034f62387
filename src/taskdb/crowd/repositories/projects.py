"""Projects: the named groups tasks belong to."""

from __future__ import annotations

from taskdb.crowd.inputs import NewProject
from taskdb.crowd.models import Project
from taskdb.crowd.records import ProjectRecord
from taskdb.crowd.repositories.base import IdLike, Repository, table_of
from taskdb.errors import operation


class ProjectRepository(Repository[ProjectRecord]):
    table = table_of(Project)
    record = ProjectRecord
    entity = "project"

    @operation("creating {entity}")
    def new(self, project_name: str) -> int:
        """Create a project; its name may be neither empty nor ``NO_PROJECT``.

        Returns:
            The new project's id.

        Raises:
            EntryAlreadyExists: a project already has this name.
            InvalidType: the name is not a string (also a ``TypeError``).
            InvalidEntry: the name is empty, ``NO_PROJECT``, or holds NUL or a lone surrogate.
            DatabaseError: the database failed.
        """
        values = self._validated(NewProject, {"project_name": project_name})
        with self._runner.writing(one_write=True) as connection:
            return self._insert(connection, values.model_dump())

    @operation("finding {entity}s")
    def find(
        self,
        *,
        project_name: str | None = None,
        limit: int | None = None,
        after: IdLike | None = None,
    ) -> list[ProjectRecord]:
        """Projects matching every filter that is not None.

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
        return self._find(project_name=project_name, limit=limit, after=after)
