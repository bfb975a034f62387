"""Every crowd finder pages (``limit``/``after``), counts and streams (``iterate``) its matches."""

from __future__ import annotations

from typing import Any

import pytest

from taskdb.crowd import CrowdStore
from taskdb.crowd.repositories.base import Repository
from taskdb.errors import InvalidEntry, InvalidType
from taskdb.spec import CROWD
from tests.support.crowd_world import World, build_world

# Every crowd table has its repository, named as the table.
REPOSITORIES = CROWD.tables


def _finder(repository: Repository[Any]) -> Any:
    return getattr(repository, repository.finder)


def _key(repository: Repository[Any], record: Any) -> int:
    return int(getattr(record, repository.key().name))


@pytest.fixture
def worlds(store: CrowdStore) -> list[World]:
    """Five linked chains: every table holds several rows."""
    return [build_world(store, f"-{n}") for n in range(5)]


@pytest.mark.parametrize("name", REPOSITORIES)
def test_pages_count_and_iteration_cover_the_finder_exactly(
    store: CrowdStore, worlds: list[World], name: str
) -> None:
    repository: Repository[Any] = getattr(store, name)
    everything = _finder(repository)()
    assert len(everything) >= 5

    pages: list[Any] = []
    after = None
    while True:
        page = _finder(repository)(limit=2, after=after)
        assert len(page) <= 2
        if not page:
            break
        pages.extend(page)
        after = _key(repository, page[-1])

    assert pages == everything
    assert repository.count() == len(everything)
    assert list(repository.iterate(batch=2)) == everything
    assert list(repository.iterate(batch=len(everything))) == everything
    assert _finder(repository)(limit=0) == []


def test_filters_apply_to_pages_counts_and_iteration(
    store: CrowdStore, worlds: list[World]
) -> None:
    for n in range(7):
        store.units.new(
            worlds[1].task,
            worlds[1].task_run,
            worlds[1].requester,
            worlds[1].assignment,
            n + 1,
            0.5,
            "mock",
            "mock-task",
        )
    store.units.update_status(worlds[1].unit, "launched")
    matching = store.units.find(task_run_id=worlds[1].task_run, status="created")
    assert len(matching) == 7

    assert store.units.count(task_run_id=worlds[1].task_run, status="created") == 7
    assert store.units.count(task_run_id=worlds[1].task_run) == 8
    assert store.units.count(task_run_id=str(worlds[1].task_run), status=None) == 8
    streamed = store.units.iterate(batch=3, task_run_id=worlds[1].task_run, status="created")
    assert list(streamed) == matching
    second = store.units.find(
        task_run_id=worlds[1].task_run, status="created", limit=3, after=matching[2].unit_id
    )
    assert second == matching[3:6]
    grants = store.granted_qualifications
    assert grants.count(worker_id=worlds[2].worker) == 1
    assert grants.check(worker_id=worlds[2].worker, limit=5) == grants.check(
        worker_id=worlds[2].worker
    )


def test_iteration_reads_one_batch_at_a_time(store: CrowdStore, worlds: list[World]) -> None:
    streamed = store.workers.iterate(batch=2)
    first = next(streamed)
    late = store.workers.new("added-while-iterating", "mock")

    rest = list(streamed)

    # Each batch is a new query: a worker committed meanwhile with a higher id is included.
    assert [first, *rest][-1].worker_id == late
    assert len([first, *rest]) == 6


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda s: s.units.find(limit=-1), InvalidEntry, "limit"),
        (lambda s: s.units.find(limit="10"), InvalidType, "limit"),
        (lambda s: s.units.find(limit=True), InvalidType, "limit"),
        (lambda s: s.units.find(after="x"), InvalidEntry, "after"),
        (lambda s: s.units.find(after=1.5), InvalidType, "after"),
        (
            lambda s: s.units.count(colour="red"),
            InvalidType,
            "unexpected keyword argument 'colour'",
        ),
        (lambda s: s.units.count(limit=3), InvalidType, "unexpected keyword argument 'limit'"),
        (lambda s: s.units.count(status="launchd"), InvalidEntry, "status"),
        (lambda s: s.units.iterate(batch=0), InvalidEntry, "batch"),
        (lambda s: s.units.iterate(batch="5"), InvalidType, "batch"),
        (
            lambda s: s.units.iterate(colour="red"),
            InvalidType,
            "unexpected keyword argument 'colour'",
        ),
        (lambda s: s.units.iterate(task_run_id="x"), InvalidEntry, "task_run_id"),
        (
            lambda s: s.granted_qualifications.count(qualification_name="q"),
            InvalidType,
            "filters of check",
        ),
    ],
)
def test_bad_paging_arguments_are_refused_when_called(
    store: CrowdStore, call: Any, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        call(store)
