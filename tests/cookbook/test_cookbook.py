"""The ORM cookbook (docs/orm.md): each question on every engine, against a generated data set.

Every answer is worked out in Python from the generated rows (tests/support/cookbook_data.py),
not from SQL. The data set is loaded once per engine and module (the questions only
read), and docs/orm.md is checked to show the code of tests/support/cookbook.py verbatim.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session

from taskdb.crowd import CrowdStore
from taskdb.quantum import TaskStore
from taskdb.spec import CROWD, QUANTUM
from tests.support import cookbook
from tests.support.cookbook_data import (
    ASSIGNABLE,
    QUALIFICATIONS,
    Row,
    generate,
    load_crowd,
    load_quantum,
)
from tests.support.engines import ENGINES, Target, server_url

DOC = Path(__file__).resolve().parents[2] / "docs" / "orm.md"
DATA = generate(units=600, quantum_tasks=300)
HELD = ("assigned", "completed", "accepted", "rejected", "soft_rejected")


@dataclass(frozen=True)
class Loaded:
    crowd: CrowdStore
    quantum: TaskStore


@pytest.fixture(scope="module", params=ENGINES)
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loaded]:
    """Both stores on one engine, holding DATA: the `target` fixture's engines, once per module."""
    name: str = request.param
    if name != "sqlite":
        server_url(name)
    target = Target(name, tmp_path_factory.mktemp(f"cookbook-{name}"))
    try:
        with (
            CrowdStore(target.migrated_url(CROWD, "cookbook")) as crowd,
            TaskStore(url=target.migrated_url(QUANTUM, "cookbook_q")) as quantum,
        ):
            load_crowd(crowd.engine, DATA)
            load_quantum(quantum.engine, DATA)
            yield Loaded(crowd, quantum)
    finally:
        target.drop_created()


@pytest.fixture
def session(loaded: Loaded) -> Iterator[Session]:
    with loaded.crowd.session() as opened:
        yield opened


@pytest.fixture
def quantum_session(loaded: Loaded) -> Iterator[Session]:
    with Session(loaded.quantum.engine) as opened:
        yield opened


# -- answers worked out from the rows ---------------------------------------------------------

UNITS = DATA.rows("units")
RUNS = [row["task_run_id"] for row in DATA.rows("task_runs")]
WORKER_NAMES = {row["worker_id"]: row["worker_name"] for row in DATA.rows("workers")}
QUALIFICATION_IDS = {
    row["qualification_name"]: row["qualification_id"] for row in DATA.rows("qualifications")
}
GRANTS = {
    (row["worker_id"], row["qualification_id"]): row["value"]
    for row in DATA.rows("granted_qualifications")
}


def _units_of(run: int) -> list[Row]:
    return [unit for unit in UNITS if unit["task_run_id"] == run]


def test_the_data_set_has_what_the_questions_need() -> None:
    assert len(RUNS) == 7 and len(UNITS) == 600
    assert not _units_of(RUNS[-1]), "one run has no unit at all"
    statuses = Counter(unit["status"] for unit in UNITS)
    assert set(statuses) == {*ASSIGNABLE, *HELD, "expired"}
    returned = [agent for agent in DATA.rows("agents") if agent["status"] == "returned"]
    assert returned and all(DATA.by_id("units")[a["unit_id"]]["agent_id"] is None for a in returned)
    assert any(worker % 7 == 0 for worker in WORKER_NAMES), "a worker with no grant"


# -- the questions ----------------------------------------------------------------------------


def test_units_of_a_run_whose_worker_holds_a_qualification(session: Session) -> None:
    found_some = excluded_some = False
    for run in RUNS:
        for name in QUALIFICATIONS:
            qualification = QUALIFICATION_IDS[name]
            held = [unit for unit in _units_of(run) if unit["worker_id"] is not None]
            expected = [
                unit["unit_id"]
                for unit in held
                if GRANTS.get((unit["worker_id"], qualification), -1) >= 3
            ]
            answer = cookbook.qualified_units(session, run, name)
            assert [unit.unit_id for unit in answer] == expected, (run, name)
            found_some |= bool(expected)
            excluded_some |= len(expected) < len(held)
    assert found_some and excluded_some
    assert cookbook.qualified_units(session, RUNS[1], "math", min_value=6) == []


def test_average_pay_of_accepted_units_per_task(session: Session) -> None:
    pays: dict[str, list[float]] = defaultdict(list)
    names = {row["task_id"]: row["task_name"] for row in DATA.rows("tasks")}
    for unit in UNITS:
        if unit["status"] == "accepted":
            pays[names[unit["task_id"]]].append(unit["pay_amount"])
    expected = [(name, sum(values) / len(values)) for name, values in sorted(pays.items())]
    answer = cookbook.average_accepted_pay(session)
    assert [name for name, _ in answer] == [name for name, _ in expected]
    assert [average for _, average in answer] == pytest.approx([a for _, a in expected])
    assert len({round(average, 6) for _, average in answer}) == 3, "the tasks pay differently"


def test_agents_per_worker_and_status(session: Session) -> None:
    counts = Counter((WORKER_NAMES[a["worker_id"]], a["status"]) for a in DATA.rows("agents"))
    expected = sorted((name, status, count) for (name, status), count in counts.items())
    assert list(cookbook.agents_per_worker_and_status(session)) == expected


def test_task_runs_with_no_unit_left_to_assign(session: Session) -> None:
    expected = [
        run for run in RUNS if not any(unit["status"] in ASSIGNABLE for unit in _units_of(run))
    ]
    assert RUNS[-1] in expected and len(expected) < len(RUNS)
    assert [run.task_run_id for run in cookbook.runs_with_nothing_to_assign(session)] == expected


def test_unit_counts_per_task_run_and_status(session: Session) -> None:
    counts = Counter((unit["task_run_id"], unit["status"]) for unit in UNITS)
    expected = sorted((run, status, count) for (run, status), count in counts.items())
    assert list(cookbook.unit_counts_by_status(session)) == expected


def test_workers_with_their_qualifications_loaded(session: Session) -> None:
    names = {number: name for name, number in QUALIFICATION_IDS.items()}
    expected: dict[str, dict[str, int]] = {name: {} for name in WORKER_NAMES.values()}
    for (worker, qualification), value in GRANTS.items():
        expected[WORKER_NAMES[worker]][names[qualification]] = value
    workers = cookbook.workers_with_qualifications(session)
    answer = {
        worker.worker_name: {
            grant.qualification.qualification_name: grant.value
            for grant in worker.granted_qualifications
        }
        for worker in workers
    }
    assert [worker.worker_id for worker in workers] == sorted(WORKER_NAMES)
    assert answer == expected
    assert {} in answer.values()
    with pytest.raises(InvalidRequestError, match="lazy='raise'"):
        _ = workers[0].units  # not asked for: raises instead of querying


def test_units_of_a_run_in_a_status_with_agent_and_worker(session: Session) -> None:
    agents = DATA.by_id("agents")
    for run in RUNS[:-1]:
        for status in HELD:
            expected = [
                (
                    unit["unit_id"],
                    unit["agent_id"],
                    agents[unit["agent_id"]]["status"],
                    WORKER_NAMES[unit["worker_id"]],
                )
                for unit in _units_of(run)
                if unit["status"] == status
            ]
            answer = cookbook.units_with_agent_and_worker(session, run, status)
            assert [
                (unit.unit_id, unit.agent_id, unit.agent.status, unit.worker.worker_name)
                for unit in answer
                if unit.agent is not None and unit.worker is not None
            ] == expected, (run, status)
    launched = cookbook.units_with_agent_and_worker(session, RUNS[1], "launched")
    assert launched and all(u.agent is None and u.worker is None for u in launched)


def test_onboarded_workers_with_no_unit_in_the_run(session: Session) -> None:
    nonempty = 0
    for run in RUNS:
        approved = {
            row["worker_id"]
            for row in DATA.rows("onboarding_agents")
            if row["task_run_id"] == run and row["status"] == "approved"
        }
        holding = {unit["worker_id"] for unit in _units_of(run)}
        expected = sorted(approved - holding)
        answer = cookbook.onboarded_without_units(session, run)
        assert [worker.worker_id for worker in answer] == expected, run
        nonempty += bool(expected) and bool(approved & holding)
    assert nonempty, "some runs have approved workers on both sides"


@pytest.mark.parametrize("size", [7, 100])
def test_keyset_paging_through_the_units_of_a_run(session: Session, size: int) -> None:
    for run in RUNS:
        pages = []
        after = 0
        while page := cookbook.unit_page(session, run, after=after, size=size):
            assert len(page) <= size
            pages.append([unit.unit_id for unit in page])
            after = page[-1].unit_id
        expected = [unit["unit_id"] for unit in _units_of(run)]
        assert [unit_id for page in pages for unit_id in page] == expected
        assert len(pages) == -(-len(expected) // size)


def test_quantum_tasks_per_backend_and_status(quantum_session: Session) -> None:
    counts = Counter((row["backend"], row["status"]) for row in DATA.quantum)
    expected = sorted((backend, status, count) for (backend, status), count in counts.items())
    assert list(cookbook.tasks_per_backend_and_status(quantum_session)) == expected


@pytest.mark.parametrize("newest", [1, 3])
def test_newest_failed_quantum_tasks_per_backend(quantum_session: Session, newest: int) -> None:
    by_backend: dict[str, list[Row]] = defaultdict(list)
    for row in DATA.quantum:
        if row["status"] == "failed":
            by_backend[row["backend"]].append(row)
    expected = [
        row["task_id"]
        for backend in sorted(by_backend)
        for row in sorted(
            by_backend[backend], key=lambda r: (r["submit_time"], r["task_id"]), reverse=True
        )[:newest]
    ]
    answer = cookbook.newest_failed_per_backend(quantum_session, newest=newest)
    assert [task.task_id for task in answer] == expected
    # The tied pair comes out by task_id, not by insertion order, on every engine.
    assert expected[0] == "q-tied-b"


# -- docs/orm.md shows the code that runs here ------------------------------------------------


def _sections() -> dict[str, list[str]]:
    """The python blocks of each ``### `` section of docs/orm.md, by heading."""
    sections: dict[str, list[str]] = {}
    for part in re.split(r"^### ", DOC.read_text(), flags=re.M)[1:]:
        heading, _, body = part.partition("\n")
        sections[heading.strip()] = re.findall(r"```python\n(.*?)```", body, re.S)
    return sections


def _functions() -> dict[str, str]:
    return {
        name: inspect.getsource(function)
        for name, function in inspect.getmembers(cookbook, inspect.isfunction)
        if function.__module__ == cookbook.__name__
    }


def test_the_doc_shows_each_question_verbatim() -> None:
    functions = _functions()
    shown: dict[str, str] = {}
    for heading, blocks in _sections().items():
        assert len(blocks) == 1, f"### {heading}: one python block, the question's function"
        defined = re.match(r"def (\w+)\(", blocks[0])
        assert defined is not None, f"### {heading}: the block starts with the function"
        shown[defined.group(1)] = blocks[0]
    assert sorted(shown) == sorted(functions), "every cookbook function, once"
    for name, source in functions.items():
        assert shown[name] == source, f"docs/orm.md differs from tests/support/cookbook.py: {name}"
    assert len(shown) >= 8


def test_the_doc_shows_the_cookbooks_imports() -> None:
    source = inspect.getsource(cookbook)
    imports = source[source.index("from collections") : source.index("\n\n\ndef ")] + "\n"
    assert f"```python\n{imports}```" in DOC.read_text()


def test_the_docs_session_example_runs_as_written(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the default crowd file, which the autouse isolated_home keeps in tmp_path."""
    # Importing Mephisto (tests/integrations, maybe earlier in this worker) makes the root
    # logger print INFO to stdout; the example's own output is what is checked here.
    monkeypatch.setattr(logging.root, "handlers", [])
    section = DOC.read_text().split("## Sessions\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    exec(compile(blocks[0], f"{DOC}:Sessions", "exec"), {})
    assert capsys.readouterr().out == "[]\n"
