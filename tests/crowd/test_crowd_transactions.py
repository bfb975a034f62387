"""Units of work, bulk creation and concurrent use of one store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from taskdb.crowd import CrowdStore, NewUnit
from taskdb.crowd.models import Project
from taskdb.crowd.repositories import base
from taskdb.crowd.store import CrowdRepositories
from taskdb.errors import (
    DatabaseError,
    EntryAlreadyExists,
    EntryDoesNotExist,
    InvalidEntry,
    InvalidType,
    TaskdbError,
)
from taskdb.spec import CROWD
from tests.support.crowd_world import World, counts, snapshot


class Boom(Exception):
    pass


def test_unit_of_work_commits_at_the_end(store: CrowdStore, crowd_url: str) -> None:
    with CrowdStore(crowd_url) as observer, store.unit_of_work() as work:
        project = work.projects.new("p")
        task = work.tasks.new("t", "x", project)
        requester = work.requesters.new("r", "mock")
        run = work.task_runs.new(task, requester, "{}", "mock", "x")
        assert work.tasks.get(task).project_id == project  # the block reads its own writes
        assert [r.task_run_id for r in work.task_runs.find(task_id=task)] == [run]
        assert observer.projects.find() == []  # nothing visible before the commit
    assert store.tasks.get(task).task_name == "t"
    assert counts(crowd_url)["task_runs"] == 1


def test_unit_of_work_rolls_back_when_the_block_raises(
    store: CrowdStore, world: World, crowd_url: str
) -> None:
    before = snapshot(crowd_url)
    with pytest.raises(Boom), store.unit_of_work() as work:
        work.projects.new("gone")
        work.units.update_status(world.unit, "expired")
        work.qualifications.delete("qualification")
        work.units.new_many(
            [
                {
                    "task_id": world.task,
                    "task_run_id": world.task_run,
                    "requester_id": world.requester,
                    "assignment_id": world.assignment,
                    "unit_index": index,
                    "pay_amount": 1.0,
                    "provider_type": "mock",
                    "task_type": "x",
                }
                for index in range(1, 4)
            ]
        )
        raise Boom
    assert snapshot(crowd_url) == before


def test_a_failed_call_inside_a_unit_of_work_undoes_only_itself(
    store: CrowdStore, world: World
) -> None:
    unit = store.units.new(
        world.task, world.task_run, world.requester, world.assignment, 1, 1.0, "mock", "x"
    )
    with store.unit_of_work() as work:
        kept = work.projects.new("kept")
        with pytest.raises(EntryAlreadyExists):
            work.projects.new("kept")
        with pytest.raises(EntryDoesNotExist):
            work.agents.new(world.worker, "999999", world.task, world.task_run, 1, "x", "mock")
        with pytest.raises(EntryDoesNotExist):
            work.agents.new("999999", unit, world.task, world.task_run, 1, "x", "mock")
        after = work.projects.new("after")
    assert [p.project_id for p in store.projects.find()] == [world.project, kept, after]
    assert store.units.get(unit).status == "created"  # the failed agent left its unit alone
    assert len(store.agents.find()) == 1


def _statements(engine: sa.Engine) -> list[str]:
    """Every statement the engine sends from now on (the list fills as they run)."""
    sent: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    return sent


def _fail_after_inserting_project(engine: sa.Engine, name: str, error: type[BaseException]) -> None:
    """Raise ``error`` once the INSERT of the project ``name`` has run on the driver."""

    def fail(*args: Any) -> None:
        if "INSERT INTO projects" in args[2] and name in str(args[3]):
            raise error

    sa.event.listen(engine, "after_cursor_execute", fail)


def _savepoints(sent: list[str]) -> int:
    return len([s for s in sent if s.upper().startswith("SAVEPOINT")])


def test_a_unit_of_work_without_savepoints_commits_with_two_statements_fewer_per_write(
    store: CrowdStore, world: World
) -> None:
    sent = _statements(store.engine)
    with store.unit_of_work(savepoints=False) as work:
        assignment = work.assignments.new(world.task, world.task_run, world.requester, "x", "mock")
        for index in range(4):
            work.units.new(
                world.task, world.task_run, world.requester, assignment, index, 0.5, "mock", "x"
            )
        work.agents.new(world.worker, world.unit, world.task, world.task_run, 1, "x", "mock")
        assert len(work.units.find(assignment_id=assignment)) == 4
    assert [u.unit_index for u in store.units.find(assignment_id=assignment)] == [0, 1, 2, 3]
    assert not [s for s in sent if "SAVEPOINT" in s.upper()]


def test_with_savepoints_sqlite_runs_a_call_with_one_write_without_one(
    store: CrowdStore, world: World
) -> None:
    sent = _statements(store.engine)
    with store.unit_of_work() as work:
        assignment = work.assignments.new(world.task, world.task_run, world.requester, "x", "mock")
        work.units.new(world.task, world.task_run, world.requester, assignment, 0, 0.5, "mock", "x")
        work.units.update_status(world.unit, "expired")
    one_write_calls = _savepoints(sent)
    with store.unit_of_work() as work:  # two writes: a savepoint on every engine
        work.agents.new(world.worker, world.unit, world.task, world.task_run, 1, "x", "mock")
    assert _savepoints(sent) - one_write_calls == 1
    # SQLite undoes a refused statement alone and shows it; the servers need the savepoint.
    assert one_write_calls == (0 if store.engine.dialect.name == "sqlite" else 3)


def test_a_refused_or_answered_one_write_call_leaves_the_unit_of_work_going(
    store: CrowdStore, world: World
) -> None:
    with store.unit_of_work() as work:
        kept = work.projects.new("kept")
        with pytest.raises(EntryAlreadyExists):
            work.projects.new("kept")
        with pytest.raises(InvalidEntry, match="already has task runs"):
            work.tasks.update(world.task, task_name="renamed")  # an UPDATE that changed nothing
        with pytest.raises(EntryDoesNotExist):
            work.units.update_status(999999, "expired")
        work.units.update_status(world.unit, "expired")
    assert [p.project_id for p in store.projects.find()] == [world.project, kept]
    assert store.tasks.get(world.task).task_name != "renamed"
    assert store.units.get(world.unit).status == "expired"


def test_a_call_that_fails_after_its_write_ran_never_commits_that_write(
    store: CrowdStore, world: World, crowd_url: str
) -> None:
    _fail_after_inserting_project(store.engine, "half", Boom)
    before = snapshot(crowd_url)
    if store.engine.dialect.name != "sqlite":
        # The call's savepoint undoes its insert, and the unit of work goes on.
        with store.unit_of_work() as work:
            with pytest.raises(Boom):
                work.projects.new("half")
            work.projects.new("after")
        assert [p.project_name for p in store.projects.find()][1:] == ["after"]
        return
    # Without a savepoint the insert stays in the transaction: the unit of work is doomed.
    ended = pytest.raises(InvalidEntry, match="could have kept half of that call")
    with ended, store.unit_of_work() as work:
        with pytest.raises(Boom):
            work.projects.new("half")
        with pytest.raises(InvalidEntry, match="after its write had run"):
            work.projects.new("after")
        with pytest.raises(InvalidEntry, match="after its write had run"):
            work.projects.find()
    assert snapshot(crowd_url) == before


def test_an_interrupt_inside_a_write_comes_out_as_it_is_and_commits_nothing(
    store: CrowdStore, world: World, crowd_url: str
) -> None:
    _fail_after_inserting_project(store.engine, "cut", KeyboardInterrupt)
    before = snapshot(crowd_url)
    lost = "failed after its write had run, or lost the transaction"
    for caught_up_in in ("a later call", "the end of the block"):
        with (
            pytest.raises(InvalidEntry, match=r"rolled back: .*could have kept half"),
            store.unit_of_work() as work,
        ):
            work.projects.new("kept until the end")
            with pytest.raises(KeyboardInterrupt):
                work.projects.new("cut")
            if caught_up_in == "a later call":
                with pytest.raises(InvalidEntry, match=lost):
                    work.projects.new("after")
        assert snapshot(crowd_url) == before


def _end_transaction_at_project(engine: sa.Engine, name: str) -> None:
    """As a MariaDB deadlock does: the server rolls back the whole transaction, savepoints too."""

    def end_transaction(*args: Any) -> None:
        if "INSERT INTO projects" in args[2] and name in str(args[3]):
            args[1].execute("ROLLBACK")
            raise Boom

    sa.event.listen(engine, "after_cursor_execute", end_transaction)


def _victim_by_repository(work: CrowdRepositories) -> None:
    with pytest.raises(Boom):  # the call's own error, not the lost savepoint's
        work.projects.new("victim")


def _victim_by_session(work: CrowdRepositories) -> None:
    with pytest.raises(DatabaseError), work.session() as session:
        session.add(Project(project_name="victim"))
        session.flush()


@pytest.mark.parametrize("victim", [_victim_by_repository, _victim_by_session])
def test_a_call_whose_transaction_the_database_ended_dooms_the_unit_of_work(
    store: CrowdStore, world: World, crowd_url: str, victim: Callable[[CrowdRepositories], None]
) -> None:
    _end_transaction_at_project(store.engine, "victim")
    before = snapshot(crowd_url)
    with (
        pytest.raises(InvalidEntry, match="could have kept half"),
        store.unit_of_work() as work,
    ):
        work.projects.new("before")
        victim(work)
        with pytest.raises(InvalidEntry, match="lost the transaction"):
            work.projects.new("after")
    assert snapshot(crowd_url) == before


def test_without_savepoints_a_failed_call_dooms_the_unit_of_work(
    store: CrowdStore, world: World, crowd_url: str
) -> None:
    before = snapshot(crowd_url)
    doomed = pytest.raises(InvalidEntry, match="rolled back: one of its calls failed")
    with doomed, store.unit_of_work(savepoints=False) as work:
        with pytest.raises(EntryDoesNotExist):
            work.projects.get(999999)  # an answer, not a failed statement: not doomed yet
        work.projects.new("first")
        with pytest.raises(EntryAlreadyExists):
            work.projects.new("first")
        with pytest.raises(InvalidEntry, match="cannot go on"):
            work.projects.new("second")
        with pytest.raises(InvalidEntry, match="cannot go on"):
            work.projects.find()
    assert snapshot(crowd_url) == before


def test_without_savepoints_the_failing_call_s_error_comes_out_of_the_block(
    store: CrowdStore, world: World, crowd_url: str
) -> None:
    before = snapshot(crowd_url)
    with pytest.raises(EntryDoesNotExist), store.unit_of_work(savepoints=False) as work:
        work.projects.new("gone")
        work.agents.new(world.worker, 999999, world.task, world.task_run, 1, "x", "mock")
    assert snapshot(crowd_url) == before
    refused = pytest.raises(InvalidType, match="savepoints is True or False")
    with refused, store.unit_of_work(savepoints="no"):  # type: ignore[arg-type]
        pass


def test_repositories_of_a_finished_unit_of_work_refuse_calls(store: CrowdStore) -> None:
    with store.unit_of_work() as work:
        work.projects.new("p")
    with pytest.raises(TaskdbError):
        work.projects.new("q")
    assert [p.project_name for p in store.projects.find()] == ["p"]


def unit_input(world: World, index: int, **changes: Any) -> dict[str, Any]:
    return {
        "task_id": world.task,
        "task_run_id": str(world.task_run),
        "requester_id": world.requester,
        "assignment_id": world.assignment,
        "unit_index": index,
        "pay_amount": index / 4,
        "provider_type": "mock",
        "task_type": index,
        "sandbox": index % 2,
        **changes,
    }


def test_bulk_creates_return_ids_in_input_order(
    store: CrowdStore, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base, "BULK_CHUNK", 7)  # several statements for one call
    assignment_inputs = [
        {
            "task_id": world.task,
            "task_run_id": world.task_run,
            "requester_id": world.requester,
            "task_type": f"type {n}",
            "provider_type": "mturk" if n % 3 else "mock",
            "sandbox": bool(n % 2),
        }
        for n in range(30)
    ]
    assignment_ids = store.assignments.new_many(assignment_inputs)
    assert len(assignment_ids) == 30 and assignment_ids == sorted(assignment_ids)
    for assignment_id, given in zip(assignment_ids, assignment_inputs, strict=True):
        record = store.assignments.get(assignment_id)
        assert (record.task_type, record.provider_type, record.sandbox) == (
            given["task_type"],
            given["provider_type"],
            given["sandbox"],
        )
    units = [unit_input(world, n) for n in range(1, 21)]
    units[4] = NewUnit(**{**unit_input(world, 5), "provider_type": "mturk"})
    unit_ids = store.units.new_many(units)
    found = {u.unit_id: u for u in store.units.find(assignment_id=world.assignment)}
    for n, unit_id in enumerate(unit_ids, start=1):
        record = found[unit_id]
        assert (record.unit_index, record.pay_amount, record.task_type) == (n, n / 4, str(n))
        assert record.sandbox is bool(n % 2) and record.status == "created"
    assert found[unit_ids[4]].provider_type == "mturk"
    assert store.units.new_many([]) == []
    assert store.assignments.new_many(iter([])) == []


def test_bulk_creates_fail_as_single_creates_and_write_nothing(
    store: CrowdStore, world: World, crowd_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base, "BULK_CHUNK", 2)
    before = snapshot(crowd_url)
    good = [unit_input(world, n) for n in range(1, 6)]
    with pytest.raises(EntryAlreadyExists):
        store.units.new_many([*good, unit_input(world, 0)])  # index 0 exists already
    with pytest.raises(EntryAlreadyExists):
        store.units.new_many([*good, unit_input(world, 1)])  # duplicate within the batch
    with pytest.raises(EntryDoesNotExist):
        store.units.new_many([*good, unit_input(world, 9, assignment_id="999999")])
    with pytest.raises(InvalidEntry, match=r"^creating units: 3\.provider_type: unknown"):
        store.units.new_many([*good[:3], unit_input(world, 9, provider_type="nope")])
    with pytest.raises(EntryDoesNotExist):
        store.assignments.new_many(
            [
                {
                    "task_id": world.task,
                    "task_run_id": "999999",
                    "requester_id": world.requester,
                    "task_type": "x",
                    "provider_type": "mock",
                }
            ]
        )
    assert snapshot(crowd_url) == before


@pytest.mark.slow
def test_one_store_shared_by_eight_threads(sqlite_target: Any) -> None:
    url = sqlite_target.migrated_url(CROWD)
    errors: list[BaseException] = []
    created: dict[str, int] = {"workers": 0, "units": 0, "grants": 0, "agents": 0}
    lock = threading.Lock()
    with CrowdStore(url) as store:
        from tests.support.crowd_world import build_world

        world = build_world(store)
        deadline = time.monotonic() + 3.0

        def work(thread: int) -> None:
            n = 0
            try:
                while time.monotonic() < deadline:
                    n += 1
                    worker = store.workers.new(f"worker {thread}-{n}", "mock")
                    unit = store.units.new(
                        world.task,
                        world.task_run,
                        world.requester,
                        world.assignment,
                        thread * 1_000_000 + n,
                        1.0,
                        "mock",
                        "x",
                    )
                    store.agents.new(
                        worker, unit, world.task, world.task_run, world.assignment, "x", "mock"
                    )
                    store.units.update_status(unit, "completed")
                    store.granted_qualifications.grant(world.qualification, worker, n)
                    assert store.units.get(unit).worker_id == worker
                    assert store.workers.find(worker_name=f"worker {thread}-{n}")[0].worker_id == (
                        worker
                    )
                    with lock:
                        for key in created:
                            created[key] += 1
            except BaseException as error:  # reported below, with the thread's progress
                errors.append(error)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert created["workers"] > 8
    rows = counts(url)
    assert rows["workers"] == created["workers"] + 1
    assert rows["units"] == created["units"] + 1
    assert rows["agents"] == created["agents"] + 1
    assert rows["granted_qualifications"] == created["grants"] + 1
    done = [u for u in snapshot(url)["units"] if u[5] == "completed"]
    assert len(done) == created["units"]


def test_writing_through_the_store_inside_a_unit_of_work_fails_fast(store: CrowdStore) -> None:
    started = time.monotonic()
    with store.unit_of_work() as work:
        work.projects.new("inside")
        with pytest.raises(InvalidEntry, match="write through the repositories it yields"):
            store.projects.new("beside")
        with pytest.raises(InvalidEntry, match="second unit of work"), store.unit_of_work():
            pass
        assert store.projects.find() == []  # reads still work; the block is not committed yet
        work.projects.new("still-usable")
    assert time.monotonic() - started < 10
    assert [p.project_name for p in store.projects.find()] == ["inside", "still-usable"]
    store.projects.new("after")


def test_writing_through_the_store_inside_a_session_fails_fast(store: CrowdStore) -> None:
    # On SQLite the store's write would wait out the busy timeout for the session's lock.
    started = time.monotonic()
    with store.session() as session:
        session.add(Project(project_name="inside"))
        session.flush()
        with pytest.raises(InvalidEntry, match="write through the session"):
            store.projects.new("beside")
        with pytest.raises(InvalidEntry, match="write through the session"), store.unit_of_work():
            pass
        with pytest.raises(InvalidEntry, match="second session"), store.session():
            pass
        assert store.projects.find() == []  # reads still work; the block is not committed yet
    assert time.monotonic() - started < 10
    assert [p.project_name for p in store.projects.find()] == ["inside"]
    store.projects.new("after")


def test_bulk_creates_send_few_statements(store: CrowdStore, world: World) -> None:
    inserts: list[bool] = []

    def count(_conn: Any, _cursor: Any, statement: str, _p: Any, _c: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO UNITS"):
            inserts.append(many)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        unit_ids = store.units.new_many([unit_input(world, n) for n in range(1, 41)])
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)

    assert len(unit_ids) == 40
    if store.engine.dialect.name == "sqlite":
        assert inserts == [True]  # one executemany; ids from last_insert_rowid()
    else:
        assert len(inserts) == 1  # insertmanyvalues: one multi-row INSERT ... RETURNING
