"""Statuses as enums in and out; errors with structured fields, on every engine."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from taskdb.crowd import AgentStatus, CrowdStore, UnitStatus
from taskdb.crowd.models import Unit
from taskdb.engine import create_engine
from taskdb.errors import EntryAlreadyExists, EntryDoesNotExist, EntryError, InvalidEntry
from taskdb.spec import CROWD
from tests.support.crowd_world import World, snapshot

MISSING = 999


def _fields(error: EntryError) -> tuple[Any, ...]:
    return (error.table, error.constraint, error.columns, error.values)


def _unit(world: World, **changes: Any) -> dict[str, Any]:
    return {
        "task_id": world.task,
        "task_run_id": world.task_run,
        "requester_id": world.requester,
        "assignment_id": world.assignment,
        "unit_index": 1,
        "pay_amount": 1.0,
        "provider_type": "mock",
        "task_type": "mock-task",
        **changes,
    }


# Statuses


def test_records_return_status_members(store: CrowdStore, world: World) -> None:
    unit = store.units.get(world.unit)
    agent = store.agents.get(world.agent)
    onboarding = store.onboarding_agents.get(world.onboarding_agent)
    assert unit.status is UnitStatus.ASSIGNED
    assert agent.status is AgentStatus.NONE
    assert onboarding.status is AgentStatus.NONE
    # StrEnum members are strings: comparisons with the plain values hold.
    assert unit.status == "assigned" and agent.status == "none"
    assert [u.status for u in store.units.find()] == [UnitStatus.ASSIGNED]
    assert isinstance(store.units.find()[0].status, UnitStatus)


def test_statuses_are_taken_as_members_or_plain_strings(store: CrowdStore, world: World) -> None:
    store.units.update_status(world.unit, UnitStatus.COMPLETED)
    assert store.units.get(world.unit).status is UnitStatus.COMPLETED
    store.units.update(world.unit, "accepted")
    assert store.units.get(world.unit).status is UnitStatus.ACCEPTED
    assert [u.unit_id for u in store.units.find(status="accepted")] == [world.unit]
    assert [u.unit_id for u in store.units.find(status=UnitStatus.ACCEPTED)] == [world.unit]
    store.agents.update_status(world.agent, "partner disconnect")
    assert store.agents.get(world.agent).status is AgentStatus.PARTNER_DISCONNECT
    store.onboarding_agents.update_status(world.onboarding_agent, AgentStatus.APPROVED)
    found = store.onboarding_agents.find(status="approved")
    assert [o.status for o in found] == [AgentStatus.APPROVED]


def test_a_status_filter_outside_the_statuses_is_refused(store: CrowdStore, world: World) -> None:
    with pytest.raises(InvalidEntry, match="'craeted' is not a unit status; allowed: created, la"):
        store.units.find(status="craeted")  # type: ignore[arg-type]
    with pytest.raises(InvalidEntry) as raised:
        store.units.find(task_id=world.task, status="ASSIGNED")  # type: ignore[arg-type]
    assert _fields(raised.value) == ("units", None, ("status",), {"status": "ASSIGNED"})
    for finder in (store.agents.find, store.onboarding_agents.find):
        with pytest.raises(InvalidEntry, match="allowed: none, accepted, onboarding"):
            finder(status="in_task")  # type: ignore[arg-type]
    # No unit can be "mixed", but a seed file might hold it: the filter is allowed.
    assert store.units.find(status=UnitStatus.MIXED) == []


def test_a_stored_status_outside_the_enum_reads_back_as_text(
    store: CrowdStore, world: World, crowd_url: str
) -> None:
    # Written by other code (the seed stored whatever it was given).
    engine = create_engine(crowd_url, CROWD, poolclass=sa.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.update(Unit.__table__).values(status="paid_out"))
    engine.dispose()
    record = store.units.get(world.unit)
    assert record.status == "paid_out" and not isinstance(record.status, UnitStatus)
    assert [u.status for u in store.units.find(task_id=world.task)] == ["paid_out"]
    # A typed filter cannot name it; a status update brings the row back into the enum.
    with pytest.raises(InvalidEntry):
        store.units.find(status="paid_out")  # type: ignore[arg-type]
    store.units.update_status(world.unit, "completed")
    assert store.units.get(world.unit).status is UnitStatus.COMPLETED


# Structured errors


def test_a_taken_key_names_table_constraint_and_values(store: CrowdStore, world: World) -> None:
    with pytest.raises(EntryAlreadyExists) as raised:
        store.projects.new("project")
    assert _fields(raised.value) == (
        "projects",
        "uq_projects_project_name",
        ("project_name",),
        {"project_name": "project"},
    )
    assert "project_name='project' already exists in projects" in str(raised.value)

    with pytest.raises(EntryAlreadyExists) as raised:
        store.units.new(
            world.task, world.task_run, world.requester, world.assignment, 0, 1, "mock", "x"
        )
    assert _fields(raised.value) == (
        "units",
        "uq_units_assignment_id_unit_index",
        ("assignment_id", "unit_index"),
        {"assignment_id": world.assignment, "unit_index": 0},
    )

    store.tasks.new("other", "mock")
    with pytest.raises(EntryAlreadyExists) as raised:
        store.tasks.update(store.tasks.new("renamed", "mock"), task_name="other")
    assert raised.value.values == {"task_name": "other"}
    assert raised.value.constraint == "uq_tasks_task_name"


def test_a_taken_key_in_a_bulk_create_is_named(store: CrowdStore, world: World) -> None:
    store.units.new(
        world.task, world.task_run, world.requester, world.assignment, 9, 1, "mock", "x"
    )
    before = store.units.find()
    with pytest.raises(EntryAlreadyExists) as raised:  # two items share a key
        store.units.new_many([_unit(world, unit_index=5), _unit(world, unit_index=5)])
    assert raised.value.values == {"assignment_id": world.assignment, "unit_index": 5}
    # An item takes a stored unit's key (on SQLite the items before it are written by then).
    for indexes, taken in (([6, 0, 7, 9], 0), ([0, 6], 0), ([6, 7, 9], 9), ([6, 9, 0], 9)):
        with pytest.raises(EntryAlreadyExists) as raised:
            store.units.new_many([_unit(world, unit_index=index) for index in indexes])
        assert raised.value.values == {"assignment_id": world.assignment, "unit_index": taken}
        assert raised.value.constraint == "uq_units_assignment_id_unit_index"
    assert store.units.find() == before


def test_a_dangling_reference_names_the_missing_entry(
    store: CrowdStore, world: World, crowd_url: str
) -> None:
    before = snapshot(crowd_url)
    with pytest.raises(EntryDoesNotExist) as raised:
        store.units.new(
            MISSING, world.task_run, world.requester, world.assignment, 1, 1, "mock", "x"
        )
    assert str(raised.value) == "creating unit: no task has task_id 999 (units.task_id)"
    assert _fields(raised.value) == (
        "units",
        "fk_units_task_id_tasks",
        ("task_id",),
        {"task_id": MISSING},
    )
    if store.engine.dialect.name == "sqlite":
        # All SQLite said: the repository looked the missing entry up itself.
        assert str(raised.value.__cause__.orig) == "FOREIGN KEY constraint failed"  # type: ignore[union-attr]
    assert isinstance(raised.value.__cause__, sa.exc.IntegrityError)

    # The first missing reference of the row, in column order.
    with pytest.raises(
        EntryDoesNotExist,
        match=r"^creating unit: no assignment has assignment_id 998 \(units\.assignment_id\)$",
    ):
        store.units.new(world.task, world.task_run, 997, 998, 1, 1, "mock", "x")
    with pytest.raises(EntryDoesNotExist, match=r"no agent has agent_id 999 \(units\.agent_id\)$"):
        store.units.update(world.unit, "assigned", agent_id=MISSING)
    with pytest.raises(EntryDoesNotExist, match=r"no unit has unit_id 999 \(agents\.unit_id\)$"):
        store.agents.new(
            world.worker, MISSING, world.task, world.task_run, world.assignment, "x", "mock"
        )
    with pytest.raises(EntryDoesNotExist, match=r"no task run has task_run_id 999 \(onboarding"):
        store.onboarding_agents.new(world.worker, world.task, MISSING, "x")
    with pytest.raises(EntryDoesNotExist) as raised:
        store.granted_qualifications.grant(MISSING, world.worker)
    assert str(raised.value).endswith(
        "no qualification has qualification_id 999 (granted_qualifications.qualification_id)"
    )
    unstarted = store.tasks.new("unstarted", "mock")
    with pytest.raises(
        EntryDoesNotExist, match=r"no project has project_id 999 \(tasks\.project_id\)$"
    ):
        store.tasks.update(unstarted, project_id=MISSING)
    store.tasks.update(unstarted, task_name="task-2")  # and the task is as it was
    with pytest.raises(EntryDoesNotExist) as raised:  # the first item with a missing entry
        store.units.new_many(
            [
                _unit(world),
                _unit(world, unit_index=2, task_id=777),
                _unit(world, unit_index=3, requester_id=778),
            ]
        )
    assert str(raised.value) == "creating units: no task has task_id 777 (units.task_id)"
    assert raised.value.values == {"task_id": 777}
    after = snapshot(crowd_url)
    assert {name: rows for name, rows in after.items() if name != "tasks"} == {
        name: rows for name, rows in before.items() if name != "tasks"
    }


def test_a_dangling_reference_in_a_unit_of_work_is_named_and_the_work_goes_on(
    store: CrowdStore, world: World
) -> None:
    with store.unit_of_work() as work:
        with pytest.raises(EntryDoesNotExist, match=r"no worker has worker_id 999 \(agents\."):
            work.agents.new(
                MISSING, world.unit, world.task, world.task_run, world.assignment, "x", "mock"
            )
        with pytest.raises(EntryAlreadyExists) as raised:
            work.workers.new("worker", "mock")
        assert raised.value.values == {"worker_name": "worker"}
        work.workers.new("second worker", "mock")
    assert [w.worker_name for w in store.workers.find()] == ["worker", "second worker"]


def test_errors_raised_by_the_repositories_name_their_entry(
    store: CrowdStore, world: World
) -> None:
    with pytest.raises(EntryDoesNotExist) as raised:
        store.units.get(MISSING)
    assert _fields(raised.value) == ("units", None, ("unit_id",), {"unit_id": MISSING})
    with pytest.raises(EntryDoesNotExist) as raised:
        store.qualifications.delete("nothing")
    assert raised.value.values == {"qualification_name": "nothing"}
    with pytest.raises(EntryDoesNotExist) as raised:
        store.granted_qualifications.get(world.qualification, MISSING)
    assert raised.value.values == {"qualification_id": world.qualification, "worker_id": MISSING}
    with pytest.raises(InvalidEntry) as raised:
        store.projects.new("")
    assert _fields(raised.value) == ("projects", None, ("project_name",), {"project_name": ""})
    with pytest.raises(InvalidEntry) as raised:
        store.units.get("abc")
    assert _fields(raised.value) == ("units", None, ("unit_id",), {"unit_id": "abc"})
    with pytest.raises(InvalidEntry) as raised:
        store.units.new_many([_unit(world), _unit(world, provider_type="nope")])
    assert _fields(raised.value) == ("units", None, ("provider_type",), {"provider_type": "nope"})
    with pytest.raises(InvalidEntry) as raised:
        store.tasks.update(world.task, task_name="moved")
    assert _fields(raised.value) == ("tasks", None, ("task_id",), {"task_id": world.task})
