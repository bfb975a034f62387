"""Task runs, assignments and units: the work a task run hands out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from taskdb.crowd.models import Assignment, TaskRun, Unit
from taskdb.crowd.records import (
    AssignmentRecord,
    Flag,
    Input,
    NewAssignment,
    NewTaskRun,
    NewUnit,
    TaskRunRecord,
    UnitRecord,
    UnitStatusValue,
)
from taskdb.crowd.records import Id as IdField
from taskdb.crowd.repositories.base import (
    IdLike,
    Repository,
    arguments,
    operation,
    parse_id,
    table_of,
)
from taskdb.crowd.vocab import UnitStatus


class TaskRunRepository(Repository[TaskRunRecord]):
    table = table_of(TaskRun)
    record = TaskRunRecord
    entity = "task run"

    @operation("creating {entity}")
    def new(
        self,
        task_id: IdLike,
        requester_id: IdLike,
        init_params: str,
        provider_type: str,
        task_type: str | int,
        sandbox: bool = True,
    ) -> int:
        values = self._validated(NewTaskRun, arguments(locals()))
        with self._runner.writing() as connection:
            return self._insert(connection, {**values.model_dump(), "is_completed": False})

    @operation("finding {entity}s")
    def find(
        self,
        *,
        task_id: IdLike | None = None,
        requester_id: IdLike | None = None,
        is_completed: bool | None = None,
    ) -> list[TaskRunRecord]:
        return self._find(**arguments(locals()))

    @operation("updating {entity}")
    def update(self, task_run_id: IdLike, is_completed: bool) -> None:
        """Mark a task run completed or not; its completion is all that can change."""
        change = self._validated(
            TaskRunCompletion, {"task_run_id": task_run_id, "is_completed": is_completed}
        )
        with self._runner.writing() as connection:
            self._update(connection, change.task_run_id, {"is_completed": change.is_completed})


class TaskRunCompletion(Input):
    task_run_id: IdField
    is_completed: Flag


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
        values = self._validated(NewAssignment, arguments(locals()))
        with self._runner.writing() as connection:
            return self._insert(connection, values.model_dump())

    @operation("creating {entity}s")
    def new_many(self, assignments: Iterable[NewAssignment | Mapping[str, Any]]) -> list[int]:
        """Create many assignments in one transaction: all or none; ids in input order."""
        rows = [
            item.model_dump()
            for item in self._validated_many(NewAssignment, assignments, "assignments")
        ]
        return self._insert_many(rows)

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
    ) -> list[AssignmentRecord]:
        return self._find(**arguments(locals()))


class UnitChange(Input):
    status: UnitStatusValue
    agent_id: IdField | None = None


class UnitRepository(Repository[UnitRecord]):
    table = table_of(Unit)
    record = UnitRecord
    entity = "unit"

    @operation("creating {entity}")
    def new(
        self,
        task_id: IdLike,
        task_run_id: IdLike,
        requester_id: IdLike,
        assignment_id: IdLike,
        unit_index: int,
        pay_amount: float,
        provider_type: str,
        task_type: str | int,
        sandbox: bool = True,
    ) -> int:
        """Create a unit in status ``created``; one index per assignment."""
        values = self._validated(NewUnit, arguments(locals()))
        with self._runner.writing() as connection:
            return self._insert(connection, self._row(values))

    @operation("creating {entity}s")
    def new_many(self, units: Iterable[NewUnit | Mapping[str, Any]]) -> list[int]:
        """Create many units in one transaction: all or none; ids in input order."""
        return self._insert_many(
            [self._row(unit) for unit in self._validated_many(NewUnit, units, "units")]
        )

    @staticmethod
    def _row(unit: NewUnit) -> dict[str, Any]:
        return {**unit.model_dump(), "status": UnitStatus.CREATED.value}

    @operation("finding {entity}s")
    def find(
        self,
        *,
        task_id: IdLike | None = None,
        task_run_id: IdLike | None = None,
        requester_id: IdLike | None = None,
        assignment_id: IdLike | None = None,
        unit_index: int | None = None,
        provider_type: str | None = None,
        task_type: str | int | None = None,
        agent_id: IdLike | None = None,
        worker_id: IdLike | None = None,
        sandbox: bool | None = None,
        status: str | None = None,
    ) -> list[UnitRecord]:
        return self._find(**arguments(locals()))

    @operation("updating {entity}")
    def update(self, unit_id: IdLike, status: str, agent_id: IdLike | None = None) -> None:
        """Set a unit's status (any unit status but ``mixed``) and, if given, its agent."""
        self._change(unit_id, UnitChange, {"status": status, "agent_id": agent_id})

    def update_status(self, unit_id: IdLike, status: str) -> None:
        """Set a unit's status: any unit status but ``mixed``; None is refused."""
        self.update(unit_id, status)

    @operation("clearing the agent of {entity}")
    def clear_agent(self, unit_id: IdLike) -> None:
        """Detach a unit from its agent and worker and make it ``launched`` again."""
        wanted = parse_id(unit_id, "unit_id")
        values = {"agent_id": None, "worker_id": None, "status": UnitStatus.LAUNCHED.value}
        with self._runner.writing() as connection:
            self._update(connection, wanted, values)
