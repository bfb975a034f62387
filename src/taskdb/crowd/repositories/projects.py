"""Projects: the named groups tasks belong to."""

from __future__ import annotations

from taskdb.crowd.inputs import NewProject
from taskdb.crowd.models import Project
from taskdb.crowd.records import ProjectRecord
from taskdb.crowd.repositories.base import Repository, table_of
from taskdb.errors import operation


class ProjectRepository(Repository[ProjectRecord]):
    table = table_of(Project)
    record = ProjectRecord
    entity = "project"

    @operation("creating {entity}")
    def new(self, project_name: str) -> int:
        """Create a project; its name may be neither empty nor ``NO_PROJECT``.

        Raises EntryAlreadyExists for a taken name, InvalidEntry for a bad one.
        """
        values = self._validated(NewProject, {"project_name": project_name})
        with self._runner.writing() as connection:
            return self._insert(connection, values.model_dump())

    @operation("finding {entity}s")
    def find(self, *, project_name: str | None = None) -> list[ProjectRecord]:
        """Projects matching every filter that is not None, in id order."""
        return self._find(project_name=project_name)
