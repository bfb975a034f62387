"""The ORM cookbook (docs/orm.md) timed beside the repository calls that answer the same question.

Both sides run on the cookbook data set (tests/support/cookbook_data.py) at the
benchmark's smallest size. An ORM operation is a whole ``with store.session() as
session:`` block around the cookbook function (a ``Session`` on the quantum store's
engine for the quantum questions): the transaction, and on SQLite its write lock,
are part of the cost. A repository operation is the calls docs/orm.md names, with the
Python that puts their records together. Before any timing, each pair's answers are
checked to be the same.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from benchmarks.timing import Side, Workload
from taskdb.crowd import CrowdStore, UnitStatus
from taskdb.quantum import TaskStore
from tests.support import cookbook
from tests.support.cookbook_data import CookbookData

QUALIFICATION = "math"
STATUS = UnitStatus.ACCEPTED
PAGE = 100
NEWEST = 3


@dataclass
class Question:
    """One cookbook question: its ORM call, the repository calls, and how to compare them."""

    name: str
    orm: Callable[[Session, Any], Any]  # (session, parameter) -> the cookbook's answer
    repository: Callable[[Any], Any]  # parameter -> the answer put together from records
    plain: Callable[[Any], Any]  # the ORM answer as plain values, inside its session
    plain_repository: Callable[[Any], Any]
    parameters: Sequence[Any]  # cycled, the same sequence on both sides
    calls: str  # the repository calls, for the report
    ops: int = 10
    quantum: bool = False


def _ids(answer: Sequence[Any], key: str) -> list[Any]:
    return [getattr(item, key) for item in answer]


def _sorted_counts(counts: Counter[Any]) -> list[tuple[Any, ...]]:
    return sorted((*key, count) for key, count in counts.items())


def questions(store: CrowdStore, tasks: TaskStore, data: CookbookData) -> list[Question]:
    """The cookbook's questions with their parameters on this data set."""
    runs = [row["task_run_id"] for row in data.rows("task_runs")]
    firsts = {run: first for run in runs if (first := _first_unit(data, run)) is not None}
    worked = list(firsts)  # the runs that have units

    def qualified(run: int) -> list[Any]:
        [qualification] = store.qualifications.find(qualification_name=QUALIFICATION)
        workers = {
            grant.worker_id
            for grant in store.granted_qualifications.check(
                qualification_id=qualification.qualification_id
            )
            if grant.value >= 3
        }
        return [unit for unit in store.units.find(task_run_id=run) if unit.worker_id in workers]

    def average_pay(_: None) -> list[tuple[str, float]]:
        answer = []
        for task in sorted(store.tasks.find(), key=lambda task: task.task_name):
            pays = [u.pay_amount for u in store.units.find(task_id=task.task_id, status=STATUS)]
            if pays:
                answer.append((task.task_name, sum(pays) / len(pays)))
        return answer

    def agents_per_worker(_: None) -> list[tuple[Any, ...]]:
        names = {worker.worker_id: worker.worker_name for worker in store.workers.find()}
        return _sorted_counts(
            Counter((names[agent.worker_id], agent.status) for agent in store.agents.find())
        )

    def nothing_to_assign(_: None) -> list[Any]:
        busy = {
            unit.task_run_id
            for status in (UnitStatus.CREATED, UnitStatus.LAUNCHED)
            for unit in store.units.find(status=status)
        }
        return [run for run in store.task_runs.find() if run.task_run_id not in busy]

    def unit_counts(_: None) -> list[tuple[Any, ...]]:
        return _sorted_counts(
            Counter((unit.task_run_id, unit.status) for unit in store.units.find())
        )

    def with_qualifications(_: None) -> list[tuple[str, dict[str, int]]]:
        names = {q.qualification_id: q.qualification_name for q in store.qualifications.find()}
        grants: dict[int, dict[str, int]] = defaultdict(dict)
        for grant in store.granted_qualifications.check():
            grants[grant.worker_id][names[grant.qualification_id]] = grant.value
        return [(w.worker_name, grants.get(w.worker_id, {})) for w in store.workers.find()]

    def with_agent_and_worker(run: int) -> list[tuple[Any, ...]]:
        units = store.units.find(task_run_id=run, status=STATUS)
        agents = {agent.agent_id: agent for agent in store.agents.find(task_run_id=run)}
        workers = {worker.worker_id: worker for worker in store.workers.find()}
        answer = []
        for unit in units:
            assert unit.agent_id is not None and unit.worker_id is not None  # held: both set
            answer.append((unit, agents[unit.agent_id], workers[unit.worker_id]))
        return answer

    def onboarded(run: int) -> list[Any]:
        approved = {
            agent.worker_id
            for agent in store.onboarding_agents.find(task_run_id=run, status="approved")
        }
        holding = {unit.worker_id for unit in store.units.find(task_run_id=run)}
        return [store.workers.get(worker) for worker in sorted(approved - holding)]

    def page(where: tuple[int, int]) -> list[Any]:
        run, after = where
        return [unit for unit in store.units.find(task_run_id=run) if unit.unit_id > after][:PAGE]

    def per_backend(_: None) -> list[tuple[Any, ...]]:
        return _sorted_counts(Counter((task.backend, task.status) for task in tasks.list()))

    def newest_failed(_: None) -> list[Any]:
        newest: dict[str, list[Any]] = defaultdict(list)
        for task in tasks.list(status="failed"):  # newest first
            if len(newest[task.backend]) < NEWEST:
                newest[task.backend].append(task)
        return [task for backend in sorted(newest) for task in newest[backend]]

    per_run = sum(1 for unit in data.rows("units") if unit["task_run_id"] == worked[0])
    middle = [(run, firsts[run] - 1 + per_run // 2) for run in worked]
    no_parameter = [None]
    as_tuples = list  # rows of a GROUP BY compare equal to tuples
    return [
        Question(
            f"units of a task run whose worker holds {QUALIFICATION} >= 3",
            lambda session, run: cookbook.qualified_units(session, run, QUALIFICATION),
            qualified,
            lambda answer: _ids(answer, "unit_id"),
            lambda answer: _ids(answer, "unit_id"),
            worked,
            "qualifications.find + granted_qualifications.check + units.find(task_run_id)",
        ),
        Question(
            "average pay per task of accepted units",
            lambda session, _: cookbook.average_accepted_pay(session),
            average_pay,
            lambda answer: [(name, round(pay, 9)) for name, pay in answer],
            lambda answer: [(name, round(pay, 9)) for name, pay in answer],
            no_parameter,
            "tasks.find + units.find(task_id, status) per task",
            ops=2,
        ),
        Question(
            "agents per worker and status",
            lambda session, _: cookbook.agents_per_worker_and_status(session),
            agents_per_worker,
            as_tuples,
            as_tuples,
            no_parameter,
            "workers.find + agents.find (all)",
            ops=2,
        ),
        Question(
            "task runs with no unit left to assign",
            lambda session, _: cookbook.runs_with_nothing_to_assign(session),
            nothing_to_assign,
            lambda answer: _ids(answer, "task_run_id"),
            lambda answer: _ids(answer, "task_run_id"),
            no_parameter,
            "units.find(status) x2 + task_runs.find",
            ops=2,
        ),
        Question(
            "units per task run and status",
            lambda session, _: cookbook.unit_counts_by_status(session),
            unit_counts,
            as_tuples,
            as_tuples,
            no_parameter,
            "units.find (all)",
            ops=2,
        ),
        Question(
            "workers with their qualifications (selectinload)",
            lambda session, _: cookbook.workers_with_qualifications(session),
            with_qualifications,
            lambda answer: [
                (
                    worker.worker_name,
                    {
                        g.qualification.qualification_name: g.value
                        for g in worker.granted_qualifications
                    },
                )
                for worker in answer
            ],
            list,
            no_parameter,
            "workers.find + granted_qualifications.check + qualifications.find",
            ops=3,
        ),
        Question(
            f"{STATUS.value} units of a task run with agent and worker (joinedload)",
            lambda session, run: cookbook.units_with_agent_and_worker(session, run, STATUS),
            with_agent_and_worker,
            lambda answer: [(u.unit_id, u.agent.status, u.worker.worker_name) for u in answer],
            lambda answer: [(u.unit_id, a.status, w.worker_name) for u, a, w in answer],
            worked,
            "units.find(task_run_id, status) + agents.find(task_run_id) + workers.find",
            ops=5,
        ),
        Question(
            "workers onboarded for a task run with no unit in it",
            lambda session, run: cookbook.onboarded_without_units(session, run),
            onboarded,
            lambda answer: _ids(answer, "worker_id"),
            lambda answer: _ids(answer, "worker_id"),
            runs,
            "onboarding_agents.find + units.find(task_run_id) + workers.get each",
            ops=5,
        ),
        Question(
            f"a page of {PAGE} units of a task run (keyset, mid-run)",
            lambda session, where: cookbook.unit_page(session, where[0], where[1], PAGE),
            page,
            lambda answer: _ids(answer, "unit_id"),
            lambda answer: _ids(answer, "unit_id"),
            middle,
            "units.find(task_run_id), sliced",
        ),
        Question(
            "quantum tasks per backend and status",
            lambda session, _: cookbook.tasks_per_backend_and_status(session),
            per_backend,
            as_tuples,
            as_tuples,
            no_parameter,
            "TaskStore.list() (all)",
            ops=2,
            quantum=True,
        ),
        Question(
            f"newest {NEWEST} failed quantum tasks per backend (window)",
            lambda session, _: cookbook.newest_failed_per_backend(session, NEWEST),
            newest_failed,
            # Ties may come out in another order: compare what does not depend on it.
            lambda answer: [(task.backend, task.submit_time) for task in answer],
            lambda answer: [(task.backend, task.submit_time) for task in answer],
            no_parameter,
            'TaskStore.list(status="failed")',
            ops=5,
            quantum=True,
        ),
    ]


def _first_unit(data: CookbookData, run: int) -> int | None:
    return next((u["unit_id"] for u in data.rows("units") if u["task_run_id"] == run), None)


def workloads(store: CrowdStore, tasks: TaskStore, data: CookbookData) -> list[Workload]:
    """One workload per question: the ORM block against the repository calls, checked first."""
    made = []
    for question in questions(store, tasks, data):
        open_session = _opener(store, tasks, question.quantum)
        for parameter in question.parameters[:2]:
            with open_session() as session:
                mine = question.plain(question.orm(session, parameter))
            theirs = question.plain_repository(question.repository(parameter))
            if mine != theirs:
                raise AssertionError(f"{question.name}: the ORM and the repositories differ")
        rows = len(mine)
        made.append(_workload(question, open_session, rows))
    return made


def _opener(store: CrowdStore, tasks: TaskStore, quantum: bool) -> Callable[[], Any]:
    if quantum:
        engine = tasks.engine
        return lambda: Session(engine)
    return store.session


def _workload(question: Question, open_session: Callable[[], Any], rows: int) -> Workload:
    orm_parameters = itertools.cycle(question.parameters)
    repository_parameters = itertools.cycle(question.parameters)

    def orm() -> object:
        with open_session() as session:
            return question.orm(session, next(orm_parameters))

    return Workload(
        question.name,
        "orm",
        Side(orm),
        Side(lambda: question.repository(next(repository_parameters))),
        ops=question.ops,
        rows=rows,
        note=question.calls,
    )
