"""TaskdbMephistoDB beyond Mephisto's BaseDatabaseTests, on every engine.

What that suite does not reach: the rows' exact keys and value types (checked against
LocalMephistoDB itself), every finder filter, clear_unit_agent_assignment,
update_onboarding_agent, get_qualification, the blob methods, the live provider
registry, threads sharing one instance, reopening the same database, the opt-in
upgrade of a server database, and where the database lives by default.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.engines import Target
from tests.support.mephisto_compat import require_mephisto

require_mephisto()

from mephisto.abstractions.database import (  # noqa: E402
    EntryAlreadyExistsException,
    EntryDoesNotExistException,
    MephistoDB,
    MephistoDBException,
)
from mephisto.abstractions.databases.local_database import LocalMephistoDB  # noqa: E402
from mephisto.data_model.qualification import Qualification  # noqa: E402
from mephisto.operations import registry  # noqa: E402

from taskdb.errors import DatabaseBehind, EntryAlreadyExists, InvalidEntry  # noqa: E402
from taskdb.integrations.mephisto import TaskdbMephistoDB  # noqa: E402
from tests.support.mephisto_world import (  # noqa: E402
    FINDERS,
    found_ids,
    populate,
    rows,
    typed,
)

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalMephistoDB]:
    """Mephisto's own LocalMephistoDB on a file of its own: the reference."""
    (tmp_path / "local").mkdir()
    opened = LocalMephistoDB(str(tmp_path / "local" / "database.db"))
    yield opened
    opened.shutdown()


def test_rows_have_the_keys_and_value_types_of_local_mephisto_db(
    db: TaskdbMephistoDB, local: LocalMephistoDB
) -> None:
    ours, theirs = rows(db, populate(db)), rows(local, populate(local))
    # Same keys in the same order, same values of the same types (ids str, flags 0/1).
    assert typed(ours) == typed(theirs)
    assert [list(row) for entries in ours.values() for row in entries] == [
        list(row) for entries in theirs.values() for row in entries
    ]
    for entries in ours.values():
        for row in entries:
            assert isinstance(row["creation_date"], str)
            assert TIMESTAMP.fullmatch(row["creation_date"])
    unit = ours["units"][0]
    assert (unit["unit_id"], unit["sandbox"], unit["pay_amount"]) == ("1", 1, 1.5)
    assert ours["task_runs"][1]["is_completed"] == 1 and type(unit["status"]) is str


def test_every_find_filter_finds_what_local_mephisto_db_finds(
    db: TaskdbMephistoDB, local: LocalMephistoDB
) -> None:
    populate(db)
    world = populate(local)
    reference = rows(local, world)

    def in_id_order(found: list[Any]) -> list[Any]:
        # LocalMephistoDB returns rows in whatever order SQLite's plan gives (an index's
        # order, for units by task); taskdb promises id order.
        def key(item: Any) -> int:
            return world.grants.index(item) if isinstance(item, tuple) else int(item)

        return sorted(found, key=key)

    calls = 0
    for finder, (table, _getter, _key) in FINDERS.items():
        ours, theirs = getattr(db, finder), getattr(local, finder)
        everything = in_id_order(found_ids(theirs()))
        assert found_ids(ours()) == everything and everything  # all of them, in id order
        assert sorted(type(item).__name__ for item in ours()) == sorted(
            type(item).__name__ for item in theirs()
        )
        parameters = [name for name in inspect.signature(getattr(MephistoDB, finder)).parameters]
        for name in parameters[1:]:  # after self
            values = {row[name] for row in reference[table]} - {None}
            assert len(values) > 1, f"{finder}({name}=...) would not tell entries apart"
            if name in ("sandbox", "is_completed"):
                values |= {bool(value) for value in values}
            for value in sorted(values, key=repr):
                expected = in_id_order(found_ids(theirs(**{name: value})))
                assert found_ids(ours(**{name: value})) == expected, f"{finder}({name}={value!r})"
                assert expected != everything or len(everything) == 1
                calls += 1
    assert calls > 60


def test_clear_unit_agent_assignment(db: TaskdbMephistoDB) -> None:
    world = populate(db)
    unit_id = world.ids["units"][0]
    assert (db.get_unit(unit_id)["agent_id"], db.get_unit(unit_id)["worker_id"]) == ("1", "1")
    db.clear_unit_agent_assignment(unit_id)
    row = db.get_unit(unit_id)
    assert (row["agent_id"], row["worker_id"], row["status"]) == (None, None, "launched")
    assert db.find_units(agent_id="1") == []
    assert "1" in [agent.db_id for agent in db.find_agents(unit_id=unit_id)]  # the agent stays
    with pytest.raises(EntryDoesNotExistException):
        db.clear_unit_agent_assignment("999")
    with pytest.raises(MephistoDBException):
        db.clear_unit_agent_assignment("abc")


def test_update_onboarding_agent(db: TaskdbMephistoDB) -> None:
    world = populate(db)
    first = world.ids["onboarding_agents"][0]
    assert db.get_onboarding_agent(first)["status"] == "none"
    db.update_onboarding_agent(first, status="waiting")
    assert db.get_onboarding_agent(first)["status"] == "waiting"
    assert [a.db_id for a in db.find_onboarding_agents(status="waiting")] == [first]
    for bad in ("FAKE_STATUS", None):
        with pytest.raises(MephistoDBException) as refused:
            db.update_onboarding_agent(first, status=bad)
        assert isinstance(refused.value.__cause__, InvalidEntry)
    with pytest.raises(EntryDoesNotExistException):
        db.update_onboarding_agent("999", status="waiting")
    assert db.get_onboarding_agent(first)["status"] == "waiting"


def test_get_qualification(db: TaskdbMephistoDB) -> None:
    qualification_id = db.make_qualification("skilled")
    row = db.get_qualification(qualification_id)
    assert list(row) == ["qualification_id", "qualification_name", "creation_date"]
    assert (row["qualification_id"], row["qualification_name"]) == (qualification_id, "skilled")
    assert Qualification.get(db, qualification_id).qualification_name == "skilled"
    with pytest.raises(EntryDoesNotExistException):
        db.get_qualification("999")


def test_blob_methods_keep_files_under_the_database_folder(
    db: TaskdbMephistoDB, local: LocalMephistoDB, database_path: Path
) -> None:
    assert db.db_root == str(database_path.parent)  # on a server too: files stay local
    data = {"answer": [1, 2], "text": "é"}
    key = os.path.join(db.db_root, "runs", "NO_PROJECT", "1", "agent_data.json")
    assert not db.key_exists(key)
    db.write_dict(key, data)
    assert db.key_exists(key) and db.read_dict(key) == data
    # Byte for byte what LocalMephistoDB writes for the same dict.
    theirs = os.path.join(local.db_root, "runs", "NO_PROJECT", "1", "agent_data.json")
    local.write_dict(theirs, data)
    assert Path(key).read_bytes() == Path(theirs).read_bytes()
    assert local.read_dict(key.replace(db.db_root, local.db_root)) == data

    text_key = os.path.join(db.db_root, "notes", "deep", "note.txt")
    db.write_text(text_key, "line 1\nline 2")
    assert db.read_text(text_key) == "line 1\nline 2" and db.key_exists(text_key)
    db.write_text(text_key, "replaced")
    assert db.read_text(text_key) == "replaced"

    outside = database_path.parent.parent / "elsewhere" / "x.json"
    escaping = os.path.join(db.db_root, "..", "escape.json")
    for bad in (str(outside), escaping):
        calls = (
            (db.write_dict, (bad, {})),
            (db.read_dict, (bad,)),
            (db.write_text, (bad, "")),
            (db.read_text, (bad,)),
            (db.key_exists, (bad,)),
        )
        for method, arguments in calls:
            with pytest.raises(MephistoDBException, match="invalid key"):
                method(*arguments)
    assert not outside.exists() and not Path(escaping).exists()


def test_provider_types_come_from_mephistos_live_registry(
    db: TaskdbMephistoDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(MephistoDBException, match="mock"):
        db.new_worker("late", "latecomer")
    assert "latecomer" not in db.providers
    # A provider Mephisto registers after the database opened is accepted at once.
    monkeypatch.setitem(registry.PROVIDERS, "latecomer", object)
    db.new_worker("late", "latecomer")
    assert "latecomer" in db.providers.names()
    db.providers.register("own")
    assert db.new_requester("mine", "own") == "1"
    assert set(registry.get_valid_provider_types()) <= set(db.providers.names())


def test_errors_are_mephistos_chained_to_taskdbs(db: TaskdbMephistoDB) -> None:
    db.new_project("p")
    with pytest.raises(EntryAlreadyExistsException, match="already exists") as taken:
        db.new_project("p")
    assert isinstance(taken.value.__cause__, EntryAlreadyExists)
    with pytest.raises(EntryDoesNotExistException, match="no project has project_id 999"):
        db.get_project("999")
    with pytest.raises(MephistoDBException, match="string of digits"):
        db.get_project("abc")
    with pytest.raises(MephistoDBException, match="unit status"):
        db.find_units(status="FAKE_STATUS")


def test_threads_share_one_instance(db: TaskdbMephistoDB) -> None:
    task = db.new_task("t", "mock")
    requester = db.new_requester("r", "mock")
    run = db.new_task_run(task, requester, "{}", "mock", "mock")
    assignment = db.new_assignment(task, run, requester, "mock", "mock")
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def work(thread: int) -> None:
        try:
            start.wait(timeout=30)
            for step in range(5):
                index = thread * 5 + step
                worker = db.new_worker(f"w{index}", "mock")
                unit = db.new_unit(task, run, requester, assignment, index, 1.0, "mock", "mock")
                db.new_agent(worker, unit, task, run, assignment, "mock", "mock")
                assert db.get_unit(unit)["worker_id"] == worker
                assert len(db.find_units(assignment_id=assignment)) >= step + 1
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    units = db.find_units(assignment_id=assignment, status="assigned")
    assert sorted(unit.unit_index for unit in units) == list(range(40))
    assert len({unit.db_id for unit in units}) == 40 and len(db.find_agents()) == 40


def test_reopening_the_same_database(
    db: TaskdbMephistoDB, database_path: Path, mephisto_url: str | None
) -> None:
    world = populate(db)
    before = rows(db, world)
    second = TaskdbMephistoDB(database_path, mephisto_url)  # while the first is open
    try:
        assert rows(second, world) == before
        extra = second.new_project("from the second")
        assert db.get_project(extra)["project_name"] == "from the second"
    finally:
        second.shutdown()
    db.shutdown()
    assert rows(db, world) == before  # a shut-down instance reconnects, as LocalMephistoDB's
    db.shutdown()
    third = TaskdbMephistoDB(database_path, mephisto_url)
    try:
        assert rows(third, world) == before
        assert [p.project_name for p in third.find_projects()][-1] == "from the second"
    finally:
        third.shutdown()


def test_a_server_database_is_made_at_start_up_unless_refused(
    server_target: Target, database_path: Path
) -> None:
    url = server_target.fresh_url("meph")
    with pytest.raises(MephistoDBException, match="taskdb upgrade") as refused:
        TaskdbMephistoDB(database_path, url, upgrade=False)
    assert isinstance(refused.value.__cause__, DatabaseBehind)
    made = TaskdbMephistoDB(database_path, url)  # as LocalMephistoDB makes its tables
    try:
        assert made.find_projects() == []
        assert made.store.engine.dialect.name == server_target.name
    finally:
        made.shutdown()
    again = TaskdbMephistoDB(database_path, url, upgrade=False)  # at head now
    again.shutdown()


def test_where_the_database_lives(
    mephisto_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = TaskdbMephistoDB()  # as LocalMephistoDB(): database.db in Mephisto's data dir
    try:
        assert default.db_path == str(mephisto_data_dir / "database.db")
        assert default.url == f"sqlite:///{mephisto_data_dir / 'database.db'}"
        assert (mephisto_data_dir / "database.db").exists()
        assert "TaskdbMephistoDB(" in repr(default)
    finally:
        default.shutdown()
        (mephisto_data_dir / "database.db").unlink()

    elsewhere = tmp_path / "elsewhere.sqlite"
    monkeypatch.setenv("TASKDB_CROWD_URL", f"sqlite:///{elsewhere}")
    chosen = TaskdbMephistoDB(tmp_path / "files" / "database.db")
    try:
        assert chosen.url == f"sqlite:///{elsewhere}" and elsewhere.exists()
        assert chosen.db_root == str(tmp_path / "files")  # blobs still beside database_path
        assert not (tmp_path / "files" / "database.db").exists()
    finally:
        chosen.shutdown()
    explicit = tmp_path / "explicit.sqlite"
    given = TaskdbMephistoDB(tmp_path / "files" / "database.db", f"sqlite:///{explicit}")
    given.shutdown()
    assert explicit.exists()  # a URL argument wins over TASKDB_CROWD_URL


def test_a_closed_or_unopened_store_is_refused_clearly(database_path: Path) -> None:
    db = TaskdbMephistoDB(database_path)
    db.init_tables()  # a second call keeps the open store
    store = db.store
    db.init_tables()
    assert db.store is store
    db._store = None
    assert repr(db) == f"TaskdbMephistoDB({str(database_path)!r}, url=None)"
    with pytest.raises(MephistoDBException, match="not initialised"):
        db.find_projects()
    db.shutdown()  # nothing to close
    store.close()


def _python(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=False
    )


def test_import_taskdb_never_imports_mephisto(tmp_path: Path) -> None:
    done = _python(
        "import sys, taskdb, taskdb.crowd, taskdb.quantum, taskdb.integrations, "
        "taskdb.tools.cli\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'mephisto', 'hydra', 'torch'}))",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Mephisto 1.1.1 imports before 3.11")
def test_mephisto_as_released_is_named_as_the_reason_it_does_not_import(tmp_path: Path) -> None:
    done = _python("import taskdb.integrations.mephisto", tmp_path)
    assert done.returncode != 0
    assert "ImportError" in done.stderr and "Python 3.11" in done.stderr
