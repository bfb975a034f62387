"""A crowd file made by the seed code is adopted, then every repository works on it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from taskdb.crowd import CrowdStore
from taskdb.errors import DatabaseError, InvalidEntry
from taskdb.spec import CROWD
from tests.support.seed_files import dump, fill_crowd_seed_file, make_crowd_seed_file


def test_every_repository_works_on_an_adopted_seed_file(tmp_path: Path) -> None:
    path = make_crowd_seed_file(tmp_path / "mephisto.db")
    fill_crowd_seed_file(path)
    before = dump(path, CROWD.tables)

    with CrowdStore(f"sqlite:///{path}") as store:
        # The seed's rows read back through the records, dates as the seed stored them.
        legacy_unit = store.units.get("1")
        assert (legacy_unit.status, legacy_unit.agent_id, legacy_unit.worker_id) == (
            "assigned",
            1,
            1,
        )
        assert store.projects.get(1).creation_date == before["projects"][0][5]
        assert [g.value for g in store.granted_qualifications.check(worker_id=1)] == [3]

        project = store.projects.new("adopted-project")
        task = store.tasks.new("adopted-task", "mock", project)
        store.tasks.update(task, task_name="adopted-task-renamed")
        requester = store.requesters.new("adopted-requester", "mock")
        run = store.task_runs.new(task, requester, "{}", "mock", "mock")
        store.task_runs.update(run, True)
        (assignment,) = store.assignments.new_many(
            [
                {
                    "task_id": task,
                    "task_run_id": run,
                    "requester_id": requester,
                    "task_type": "mock",
                    "provider_type": "mock",
                }
            ]
        )
        unit = store.units.new(task, run, requester, assignment, 0, 1.5, "mock", "mock")
        worker = store.workers.new("adopted-worker", "mock")
        agent = store.agents.new(worker, unit, task, run, assignment, "mock", "mock")
        store.agents.update_status(agent, "completed")
        store.units.update_status(unit, "completed")
        onboarding = store.onboarding_agents.new(worker, task, run, "mock")
        store.onboarding_agents.update_status(onboarding, "approved")
        qualification = store.qualifications.make("adopted-qualification")
        store.granted_qualifications.grant(qualification, worker, 7)
        store.granted_qualifications.grant(qualification, 1, 1)
        assert store.granted_qualifications.revoke(qualification, 1) is True
        store.units.clear_agent(1)

        assert [u.unit_id for u in store.units.find(worker_id=worker)] == [unit]
        assert [a.status for a in store.agents.find(worker_id=worker)] == ["completed"]
        assert store.tasks.get(task).task_name == "adopted-task-renamed"
        assert store.task_runs.get(run).is_completed is True
        assert store.onboarding_agents.find(status="approved")[0].onboarding_agent_id == onboarding
        assert store.granted_qualifications.get(qualification, worker).value == 7
        store.qualifications.delete("adopted-qualification")
        assert store.qualifications.find(qualification_name="adopted-qualification") == []
        cleared = store.units.get(1)
        assert (cleared.status, cleared.agent_id, cleared.worker_id) == ("launched", None, None)
        # New ids continue after the seed's, as AUTOINCREMENT promises.
        assert (project, task, unit, worker) == (2, 2, 2, 2)


def test_a_stored_row_taskdb_cannot_read_is_a_database_error(tmp_path: Path) -> None:
    path = make_crowd_seed_file(tmp_path / "mephisto.db")
    fill_crowd_seed_file(path)
    connection = sqlite3.connect(path)
    connection.execute("UPDATE units SET unit_index = 'first' WHERE unit_id = 1")
    connection.commit()
    connection.close()

    with (
        CrowdStore(f"sqlite:///{path}") as store,
        pytest.raises(DatabaseError, match="units row unit_id=1") as raised,
    ):
        store.units.find()
    assert not isinstance(raised.value, InvalidEntry)


@pytest.mark.parametrize("stored", [2, "maybe", 0.5, "no", "yes"])
def test_a_stored_flag_that_is_not_0_or_1_is_a_database_error(
    tmp_path: Path, stored: object
) -> None:
    # SQLAlchemy's own reading of a SQLite boolean is bool(value): 2 would come back True.
    path = make_crowd_seed_file(tmp_path / "mephisto.db")
    fill_crowd_seed_file(path)
    connection = sqlite3.connect(path)
    connection.execute("UPDATE units SET sandbox = ? WHERE unit_id = 1", (stored,))
    connection.commit()
    connection.close()

    with CrowdStore(f"sqlite:///{path}") as store:
        with pytest.raises(DatabaseError, match=r"units row unit_id=1 .*sandbox"):
            store.units.get(1)
        with pytest.raises(DatabaseError, match=r"units row unit_id=1 .*sandbox"):
            store.units.find()
        # The seed's own 0/1 flags still read as booleans.
        run = store.task_runs.get(1)
        assert (run.sandbox, run.is_completed) == (True, False)


def test_a_seed_file_with_dangling_references_is_adopted_as_it_is(tmp_path: Path) -> None:
    path = make_crowd_seed_file(tmp_path / "mephisto.db")
    fill_crowd_seed_file(path)
    connection = sqlite3.connect(path)  # foreign keys off, as the seed left most connections
    connection.execute("UPDATE units SET worker_id = 999 WHERE unit_id = 1")
    connection.commit()
    connection.close()
    before = dump(path, CROWD.tables)

    with CrowdStore(f"sqlite:///{path}") as store:
        assert store.units.get(1).worker_id == 999

    assert dump(path, CROWD.tables) == before
