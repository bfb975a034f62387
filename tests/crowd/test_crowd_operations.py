"""Every seed operation through the crowd store, on every engine: success, then each failure."""

from __future__ import annotations

import re
import sqlite3

import pytest

from taskdb.crowd import AGENT_STATUSES, NO_PROJECT, UNIT_STATUSES, CrowdStore
from taskdb.errors import EntryAlreadyExists, EntryDoesNotExist, InvalidEntry
from tests.support.crowd_world import World, snapshot

MISSING = "999999"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def test_projects_new_get_find(store: CrowdStore) -> None:
    first = store.projects.new("alpha")
    second = store.projects.new("beta")
    assert isinstance(first, int) and second > first
    got = store.projects.get(str(first))
    assert (got.project_id, got.project_name) == (first, "alpha")
    assert got.creation_date is not None and TIMESTAMP.fullmatch(got.creation_date)
    assert [p.project_name for p in store.projects.find()] == ["alpha", "beta"]
    assert [p.project_id for p in store.projects.find(project_name="beta")] == [second]
    assert store.projects.find(project_name="gamma") == []


def test_projects_failures(store: CrowdStore, crowd_url: str) -> None:
    store.projects.new("alpha")
    before = snapshot(crowd_url)
    with pytest.raises(EntryAlreadyExists):
        store.projects.new("alpha")
    for name in ("", NO_PROJECT):
        with pytest.raises(InvalidEntry, match=r"empty|reserved"):
            store.projects.new(name)
    with pytest.raises(EntryDoesNotExist):
        store.projects.get(MISSING)
    with pytest.raises(InvalidEntry, match="string of digits"):
        store.projects.get("abc")
    assert snapshot(crowd_url) == before


def test_tasks_new_get_find_update(store: CrowdStore) -> None:
    project = store.projects.new("p")
    other = store.projects.new("q")
    task = store.tasks.new("t", 7, str(project))
    loose = store.tasks.new("loose", "kind")
    record = store.tasks.get(task)
    assert (record.task_type, record.project_id, record.parent_task_id) == ("7", project, None)
    assert store.tasks.get(loose).project_id is None
    assert [t.task_id for t in store.tasks.find()] == [task, loose]
    assert [t.task_id for t in store.tasks.find(project_id=project)] == [task]
    assert [t.task_id for t in store.tasks.find(task_name="loose")] == [loose]
    store.tasks.update(task, task_name="renamed", project_id=str(other))
    record = store.tasks.get(task)
    assert (record.task_name, record.project_id) == ("renamed", other)
    store.tasks.update(task)  # nothing to change is not an error
    assert store.tasks.get(task) == record


def test_task_type_takes_a_flag_stored_as_the_seed_stored_it(
    store: CrowdStore, world: World
) -> None:
    # Mephisto's own tests pass a sandbox flag where task_type goes; sqlite3 binds True as
    # the integer 1 and the seed's TEXT column keeps it as '1'.
    seed = sqlite3.connect(":memory:")
    seed.execute("CREATE TABLE t (task_type TEXT NOT NULL)")
    seed.executemany("INSERT INTO t VALUES (?)", [(True,), (False,)])
    assert seed.execute("SELECT task_type FROM t").fetchall() == [("1",), ("0",)]
    seed.close()

    task = store.tasks.new("flagged", False)
    unit = store.units.new(
        world.task, world.task_run, world.requester, world.assignment, 1, 1.0, "mock", True
    )
    assert store.tasks.get(task).task_type == "0"
    assert store.units.get(unit).task_type == "1"
    assert [u.unit_id for u in store.units.find(task_type=True)] == [unit]
    assert [u.unit_id for u in store.units.find(task_type="1")] == [unit]
    assert store.units.find(task_type=False) == []


def test_tasks_failures(store: CrowdStore, crowd_url: str) -> None:
    task = store.tasks.new("t", "kind")
    store.tasks.new("u", "kind")
    requester = store.requesters.new("r", "mock")
    before = snapshot(crowd_url)
    with pytest.raises(EntryAlreadyExists):
        store.tasks.new("t", "kind")
    with pytest.raises(InvalidEntry, match="empty"):
        store.tasks.new("", "kind")
    with pytest.raises(EntryDoesNotExist):
        store.tasks.new("v", "kind", MISSING)
    with pytest.raises(EntryDoesNotExist):
        store.tasks.get(MISSING)
    with pytest.raises(EntryAlreadyExists):
        store.tasks.update(task, task_name="u")
    with pytest.raises(EntryDoesNotExist):
        store.tasks.update(task, project_id=MISSING)
    with pytest.raises(EntryDoesNotExist):
        store.tasks.update(MISSING, task_name="w")
    with pytest.raises(EntryDoesNotExist):
        store.tasks.update(MISSING)
    with pytest.raises(InvalidEntry, match="empty"):
        store.tasks.update(task, task_name="")
    assert snapshot(crowd_url) == before
    store.task_runs.new(task, requester, "{}", "mock", "kind")
    before = snapshot(crowd_url)
    for change in ({"task_name": "w"}, {"project_id": store.projects.new("p")}, {}):
        before = snapshot(crowd_url)
        with pytest.raises(InvalidEntry, match="task runs"):
            store.tasks.update(task, **change)
        assert snapshot(crowd_url) == before


def test_requesters_and_workers(store: CrowdStore, crowd_url: str) -> None:
    for repository, name_field in ((store.requesters, "requester"), (store.workers, "worker")):
        first = repository.new("a", "mock")
        second = repository.new("b", "mturk_sandbox")
        record = repository.get(str(second))
        assert getattr(record, f"{name_field}_name") == "b"
        assert record.provider_type == "mturk_sandbox"
        assert [getattr(r, f"{name_field}_id") for r in repository.find()] == [first, second]
        assert [getattr(r, f"{name_field}_id") for r in repository.find(provider_type="mock")] == [
            first
        ]
        found = repository.find(**{f"{name_field}_name": "b"})
        assert [getattr(r, f"{name_field}_id") for r in found] == [second]
        before = snapshot(crowd_url)
        with pytest.raises(EntryAlreadyExists):
            repository.new("a", "mock")
        with pytest.raises(InvalidEntry, match="empty"):
            repository.new("", "mock")
        with pytest.raises(InvalidEntry, match=r"unknown provider type 'prolific'.*mturk_sandbox"):
            repository.new("c", "prolific")
        with pytest.raises(EntryDoesNotExist):
            repository.get(MISSING)
        assert snapshot(crowd_url) == before


def test_task_runs(store: CrowdStore, crowd_url: str) -> None:
    task = store.tasks.new("t", "kind")
    requester = store.requesters.new("r", "mock")
    run = store.task_runs.new(str(task), str(requester), '{"a": 1}', "mock", 3, sandbox=0)
    other = store.task_runs.new(task, requester, "{}", "mturk", "kind")
    record = store.task_runs.get(run)
    assert (record.init_params, record.task_type, record.sandbox) == ('{"a": 1}', "3", False)
    assert record.is_completed is False and store.task_runs.get(other).sandbox is True
    assert [r.task_run_id for r in store.task_runs.find(task_id=task)] == [run, other]
    store.task_runs.update(other, True)
    assert store.task_runs.get(other).is_completed is True
    assert [r.task_run_id for r in store.task_runs.find(is_completed=1)] == [other]
    assert [r.task_run_id for r in store.task_runs.find(requester_id=requester)] == [run, other]
    before = snapshot(crowd_url)
    with pytest.raises(EntryDoesNotExist):
        store.task_runs.new(MISSING, requester, "{}", "mock", "kind")
    with pytest.raises(EntryDoesNotExist):
        store.task_runs.new(task, MISSING, "{}", "mock", "kind")
    with pytest.raises(InvalidEntry, match="provider"):
        store.task_runs.new(task, requester, "{}", "nope", "kind")
    with pytest.raises(EntryDoesNotExist):
        store.task_runs.update(MISSING, True)
    with pytest.raises(InvalidEntry, match="True, False, 0 or 1"):
        store.task_runs.update(run, 2)  # type: ignore[arg-type]
    with pytest.raises(EntryDoesNotExist):
        store.task_runs.get(MISSING)
    assert snapshot(crowd_url) == before


def test_assignments(store: CrowdStore, world: World, crowd_url: str) -> None:
    second = store.assignments.new(
        world.task, world.task_run, world.requester, 9, "mturk", sandbox=False
    )
    record = store.assignments.get(str(second))
    assert (record.task_type, record.provider_type, record.sandbox) == ("9", "mturk", False)
    assert [a.assignment_id for a in store.assignments.find()] == [world.assignment, second]
    assert [a.assignment_id for a in store.assignments.find(sandbox=False)] == [second]
    assert [a.assignment_id for a in store.assignments.find(task_type=9)] == [second]
    found = store.assignments.find(
        task_run_id=world.task_run,
        task_id=world.task,
        requester_id=world.requester,
        provider_type="mock",
    )
    assert [a.assignment_id for a in found] == [world.assignment]
    before = snapshot(crowd_url)
    for missing in (
        (MISSING, world.task_run, world.requester),
        (world.task, MISSING, world.requester),
        (world.task, world.task_run, MISSING),
    ):
        with pytest.raises(EntryDoesNotExist):
            store.assignments.new(*missing, "kind", "mock")
    with pytest.raises(EntryDoesNotExist):
        store.assignments.get(MISSING)
    assert snapshot(crowd_url) == before


def test_units_new_get_find_on_every_filter(store: CrowdStore, world: World) -> None:
    second = store.units.new(
        world.task,
        world.task_run,
        world.requester,
        world.assignment,
        1,
        2,
        "mturk",
        4,
        sandbox=False,
    )
    record = store.units.get(second)
    assert record.status == "created" and record.agent_id is None and record.worker_id is None
    assert (record.unit_index, record.pay_amount, record.task_type) == (1, 2.0, "4")
    first = store.units.get(world.unit)
    assert (first.status, first.agent_id, first.worker_id) == (
        "assigned",
        world.agent,
        world.worker,
    )
    assert [u.unit_id for u in store.units.find()] == [world.unit, second]
    shared = {
        "task_id": world.task,
        "task_run_id": world.task_run,
        "requester_id": world.requester,
        "assignment_id": world.assignment,
    }
    for name, value in shared.items():
        assert [u.unit_id for u in store.units.find(**{name: str(value)})] == [world.unit, second]
    distinct = {
        "unit_index": (0, 1),
        "provider_type": ("mock", "mturk"),
        "task_type": ("mock-task", 4),
        "agent_id": (world.agent, None),
        "worker_id": (world.worker, None),
        "sandbox": (True, False),
        "status": ("assigned", "created"),
    }
    for name, (of_first, of_second) in distinct.items():
        assert [u.unit_id for u in store.units.find(**{name: of_first})] == [world.unit]
        if of_second is not None:
            assert [u.unit_id for u in store.units.find(**{name: of_second})] == [second]
    everything = {**shared, **{name: pair[0] for name, pair in distinct.items()}}
    assert len(everything) == 11
    assert [u.unit_id for u in store.units.find(**everything)] == [world.unit]


def test_units_updates(store: CrowdStore, world: World, crowd_url: str) -> None:
    for status in UNIT_STATUSES:
        store.units.update_status(world.unit, status)
        assert store.units.get(world.unit).status == status
    store.units.clear_agent(str(world.unit))
    cleared = store.units.get(world.unit)
    assert (cleared.agent_id, cleared.worker_id, cleared.status) == (None, None, "launched")
    store.units.update(world.unit, "assigned", agent_id=world.agent)
    updated = store.units.get(world.unit)
    assert (updated.agent_id, updated.status) == (world.agent, "assigned")
    before = snapshot(crowd_url)
    for status in ("mixed", None, "bogus", "ASSIGNED"):
        with pytest.raises(InvalidEntry, match="allowed: created, launched"):
            store.units.update_status(world.unit, status)  # type: ignore[arg-type]
    with pytest.raises(EntryDoesNotExist):
        store.units.update_status(MISSING, "launched")
    with pytest.raises(EntryDoesNotExist):
        store.units.update(world.unit, "launched", agent_id=MISSING)
    with pytest.raises(EntryDoesNotExist):
        store.units.clear_agent(MISSING)
    assert snapshot(crowd_url) == before


def test_units_failures(store: CrowdStore, world: World, crowd_url: str) -> None:
    ids = (world.task, world.task_run, world.requester, world.assignment)
    before = snapshot(crowd_url)
    with pytest.raises(EntryAlreadyExists):
        store.units.new(*ids, 0, 1.0, "mock", "kind")
    for position in range(4):
        dangling = list(ids)
        dangling[position] = MISSING
        with pytest.raises(EntryDoesNotExist):
            store.units.new(*dangling, 5, 1.0, "mock", "kind")
    with pytest.raises(InvalidEntry, match="finite"):
        store.units.new(*ids, 5, float("nan"), "mock", "kind")
    with pytest.raises(EntryDoesNotExist):
        store.units.get(MISSING)
    assert snapshot(crowd_url) == before


def test_agents(store: CrowdStore, world: World, crowd_url: str) -> None:
    record = store.agents.get(str(world.agent))
    assert (record.status, record.unit_id, record.worker_id) == ("none", world.unit, world.worker)
    for status in AGENT_STATUSES:
        store.agents.update_status(world.agent, status)
        assert store.agents.get(world.agent).status == status
    unit = store.units.new(
        world.task, world.task_run, world.requester, world.assignment, 1, 1.0, "mock", "mock-task"
    )
    other_worker = store.workers.new("other", "mturk")
    second = store.agents.new(
        other_worker, unit, world.task, world.task_run, world.assignment, 5, "mturk"
    )
    assigned = store.units.get(unit)
    assert (assigned.status, assigned.agent_id, assigned.worker_id) == (
        "assigned",
        second,
        other_worker,
    )
    assert [a.agent_id for a in store.agents.find()] == [world.agent, second]
    filters = {
        "status": ("rejected", "none"),
        "unit_id": (world.unit, unit),
        "worker_id": (world.worker, other_worker),
        "task_type": ("mock-task", 5),
        "provider_type": ("mock", "mturk"),
    }
    for name, (of_first, of_second) in filters.items():
        assert [a.agent_id for a in store.agents.find(**{name: of_first})] == [world.agent]
        assert [a.agent_id for a in store.agents.find(**{name: of_second})] == [second]
    for name in ("task_id", "task_run_id", "assignment_id"):
        value = getattr(world, name.removesuffix("_id"))
        assert [a.agent_id for a in store.agents.find(**{name: value})] == [world.agent, second]
    assert store.agents.find(task_id=MISSING) == []


def test_agents_failures(store: CrowdStore, world: World, crowd_url: str) -> None:
    free = store.units.new(
        world.task, world.task_run, world.requester, world.assignment, 1, 1.0, "mock", "x"
    )
    before = snapshot(crowd_url)
    rest = (world.task, world.task_run, world.assignment, "x", "mock")
    with pytest.raises(EntryDoesNotExist):
        store.agents.new(world.worker, MISSING, *rest)
    with pytest.raises(EntryDoesNotExist):
        store.agents.new(MISSING, free, *rest)
    with pytest.raises(InvalidEntry, match="unknown provider type"):
        store.agents.new(world.worker, free, *rest[:-1], "nope")
    for status in (None, "bogus", "assigned"):
        with pytest.raises(InvalidEntry, match="allowed: none, accepted"):
            store.agents.update_status(world.agent, status)  # type: ignore[arg-type]
    with pytest.raises(EntryDoesNotExist):
        store.agents.update_status(MISSING, "accepted")
    with pytest.raises(EntryDoesNotExist):
        store.agents.get(MISSING)
    assert snapshot(crowd_url) == before


def test_onboarding_agents(store: CrowdStore, world: World, crowd_url: str) -> None:
    record = store.onboarding_agents.get(str(world.onboarding_agent))
    assert (record.status, record.worker_id, record.task_run_id) == (
        "none",
        world.worker,
        world.task_run,
    )
    store.onboarding_agents.update_status(world.onboarding_agent, "onboarding")
    second = store.onboarding_agents.new(world.worker, world.task, world.task_run, 6)
    assert store.onboarding_agents.get(second).task_type == "6"
    found = store.onboarding_agents.find
    assert [o.onboarding_agent_id for o in found()] == [world.onboarding_agent, second]
    assert [o.onboarding_agent_id for o in found(status="onboarding")] == [world.onboarding_agent]
    assert [o.onboarding_agent_id for o in found(task_type=6)] == [second]
    both = found(worker_id=world.worker, task_id=world.task, task_run_id=world.task_run)
    assert [o.onboarding_agent_id for o in both] == [world.onboarding_agent, second]
    before = snapshot(crowd_url)
    with pytest.raises(EntryDoesNotExist):
        store.onboarding_agents.new(MISSING, world.task, world.task_run, "x")
    with pytest.raises(EntryDoesNotExist):
        store.onboarding_agents.new(world.worker, world.task, MISSING, "x")
    with pytest.raises(InvalidEntry, match="allowed"):
        store.onboarding_agents.update_status(second, None)  # type: ignore[arg-type]
    with pytest.raises(EntryDoesNotExist):
        store.onboarding_agents.update_status(MISSING, "waiting")
    with pytest.raises(EntryDoesNotExist):
        store.onboarding_agents.get(MISSING)
    assert snapshot(crowd_url) == before


def test_qualifications(store: CrowdStore, world: World, crowd_url: str) -> None:
    other = store.qualifications.make("other")
    assert store.qualifications.get(str(other)).qualification_name == "other"
    names = [q.qualification_name for q in store.qualifications.find()]
    assert names == ["qualification", "other"]
    assert [q.qualification_id for q in store.qualifications.find(qualification_name="other")] == [
        other
    ]
    before = snapshot(crowd_url)
    with pytest.raises(EntryAlreadyExists):
        store.qualifications.make("other")
    with pytest.raises(InvalidEntry, match="empty"):
        store.qualifications.make("")
    with pytest.raises(EntryDoesNotExist):
        store.qualifications.get(MISSING)
    with pytest.raises(EntryDoesNotExist, match="no qualification is named 'nothing'"):
        store.qualifications.delete("nothing")
    assert snapshot(crowd_url) == before
    store.granted_qualifications.grant(other, world.worker)
    store.qualifications.delete("qualification")
    assert [q.qualification_id for q in store.qualifications.find()] == [other]
    grants = store.granted_qualifications.check()
    assert [(g.qualification_id, g.worker_id) for g in grants] == [(other, world.worker)]


def test_granted_qualifications(store: CrowdStore, world: World, crowd_url: str) -> None:
    grants = store.granted_qualifications
    first = grants.get(str(world.qualification), str(world.worker))
    assert first.value == 3
    grants.grant(world.qualification, world.worker, 8)  # already granted: value changes
    again = grants.get(world.qualification, world.worker)
    assert (again.granted_qualification_id, again.value) == (first.granted_qualification_id, 8)
    assert again.creation_date == first.creation_date
    other_worker = store.workers.new("w2", "mock")
    other_qualification = store.qualifications.make("q2")
    grants.grant(other_qualification, other_worker, "2")
    grants.grant(world.qualification, other_worker)
    assert len(grants.check()) == 3
    assert [g.worker_id for g in grants.check(qualification_id=world.qualification)] == [
        world.worker,
        other_worker,
    ]
    assert [g.qualification_id for g in grants.check(worker_id=other_worker)] == [
        other_qualification,
        world.qualification,
    ]
    assert [g.worker_id for g in grants.check(value=8)] == [world.worker]
    assert grants.check(qualification_id=other_qualification, value=8) == []
    assert grants.revoke(world.qualification, other_worker) is True
    assert grants.revoke(world.qualification, other_worker) is False  # not granted is fine
    assert grants.revoke(MISSING, MISSING) is False
    before = snapshot(crowd_url)
    with pytest.raises(EntryDoesNotExist):
        grants.get(world.qualification, other_worker)
    with pytest.raises(EntryDoesNotExist):
        grants.grant(MISSING, world.worker)
    with pytest.raises(EntryDoesNotExist):
        grants.grant(world.qualification, MISSING)
    with pytest.raises(InvalidEntry, match="whole number"):
        grants.grant(world.qualification, world.worker, 1.5)  # type: ignore[arg-type]
    assert snapshot(crowd_url) == before


def test_a_second_store_sees_each_call_at_once(store: CrowdStore, crowd_url: str) -> None:
    with CrowdStore(crowd_url) as second:
        project = store.projects.new("seen")
        assert second.projects.get(project).project_name == "seen"
        task = second.tasks.new("t", "x", project)
        assert store.tasks.find(project_id=project)[0].task_id == task
