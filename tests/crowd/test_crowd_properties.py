"""Property: a public crowd call raises only taskdb errors, and a failed one writes nothing.

Every public method of every repository (found by introspection, so a new one is
covered or fails here) is called in every example with arguments that are each
either good (ids of a populated world, registered providers, statuses) or hostile
(tests/support/hostile.py). The call returns, or raises an ``EntryError`` and leaves
every table as it was.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskdb.crowd import CrowdStore
from taskdb.crowd.models import CrowdBase
from taskdb.crowd.store import CrowdRepositories
from taskdb.crowd.vocab import AgentStatus, UnitStatus
from taskdb.spec import CROWD
from tests.support.crowd_world import World, build_world
from tests.support.engines import Target
from tests.support.hostile import HOSTILE, call_checked, examples, rows, spoiled

REPOSITORIES = CROWD.tables
# Every example calls each public method of the repositories under test once.
SQLITE_EXAMPLES = 100
SERVER_EXAMPLES = 10


def public_methods(repository: str) -> dict[str, Callable[..., Any]]:
    """The repository class's public methods by name (``key``, a classmethod, reads no input)."""
    cls = typing.get_type_hints(CrowdRepositories)[repository]
    return {
        name: method
        for name, method in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_every_repository_is_covered() -> None:
    hints = typing.get_type_hints(CrowdRepositories)
    assert set(hints) - {"providers"} == set(REPOSITORIES)
    assert sum(len(public_methods(name)) for name in REPOSITORIES) == 66


def _ids(world: World) -> dict[str, int]:
    return {
        "project_id": world.project,
        "task_id": world.task,
        "requester_id": world.requester,
        "task_run_id": world.task_run,
        "assignment_id": world.assignment,
        "unit_id": world.unit,
        "worker_id": world.worker,
        "agent_id": world.agent,
        "onboarding_agent_id": world.onboarding_agent,
        "qualification_id": world.qualification,
    }


_OWN_ID = {
    "projects": "project_id",
    "tasks": "task_id",
    "requesters": "requester_id",
    "task_runs": "task_run_id",
    "assignments": "assignment_id",
    "units": "unit_id",
    "workers": "worker_id",
    "agents": "agent_id",
    "onboarding_agents": "onboarding_agent_id",
    "qualifications": "qualification_id",
}
_NAMES = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=8)


def good(world: World, repository: str, parameter: str) -> st.SearchStrategy[Any]:
    """Values a caller may pass for this parameter (some still refused: taken names...)."""
    ids = _ids(world)
    if parameter == "entry_id":
        parameter = _OWN_ID.get(repository, "qualification_id")
    if parameter in ids:
        known = ids[parameter]
        return st.one_of(st.sampled_from([known, str(known)]), st.integers(0, 40))
    if parameter.endswith("_name"):
        return _NAMES
    if parameter == "provider_type":
        return st.sampled_from(["mock", "mturk", "mturk_sandbox"])
    if parameter == "task_type":
        return st.one_of(_NAMES, st.integers(0, 9))
    if parameter == "init_params":
        return st.sampled_from(["{}", '{"a": 1}', ""])
    if parameter in ("sandbox", "is_completed"):
        return st.sampled_from([True, False, 0, 1])
    if parameter in ("unit_index", "value"):
        return st.integers(-(2**31), 2**31 - 1)
    if parameter == "after":
        return st.one_of(st.none(), st.integers(0, 40))
    if parameter in ("limit", "batch"):
        return st.integers(1, 5)
    if parameter == "pay_amount":
        return st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(0, 99))
    if parameter == "status":
        statuses = list(UnitStatus) if repository == "units" else list(AgentStatus)
        return st.sampled_from([*statuses, *(str(status) for status in statuses)])
    if parameter in ("assignments", "units"):
        return st.lists(_item(world, parameter), max_size=3)
    raise AssertionError(f"no good values known for {repository} parameter {parameter!r}")


def _item(world: World, kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """One item of a bulk create: each field good or hostile, sometimes a stray key."""
    ids = _ids(world)
    fields: dict[str, st.SearchStrategy[Any]] = {
        "task_id": st.just(ids["task_id"]),
        "task_run_id": st.just(ids["task_run_id"]),
        "requester_id": st.just(ids["requester_id"]),
        "task_type": st.just("mock-task"),
        "provider_type": st.just("mock"),
    }
    if kind == "units":
        fields |= {
            "assignment_id": st.just(ids["assignment_id"]),
            "unit_index": st.integers(1, 10**6),
            "pay_amount": st.just(0.5),
        }
    extra = st.dictionaries(st.sampled_from(["bogus", "sandbox", "status"]), HOSTILE, max_size=1)
    return st.one_of(
        spoiled(fields, at_most=1).flatmap(lambda item: extra.map(lambda more: item | more)),
        HOSTILE,
    )


def _check_calls(target: Target, repositories: tuple[str, ...], count: int) -> None:
    """Call every public method of ``repositories`` in each of ``count`` examples."""
    tables = CrowdBase.metadata.tables
    with CrowdStore(target.migrated_url(CROWD)) as store:
        world = build_world(store)
        calls = {
            (repository, name): {
                parameter.name: good(world, repository, parameter.name)
                for parameter in _parameters(repository, method)
            }
            for repository in repositories
            for name, method in public_methods(repository).items()
        }

        @examples(target.is_server, count, count)
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            for (repository, name), parameters in calls.items():
                arguments = data.draw(spoiled(parameters), label=f"{repository}.{name}")
                method = getattr(getattr(store, repository), name)
                call_checked(
                    functools.partial(_consumed, method, arguments),
                    f"{repository}.{name}(**{arguments!r})",
                    lambda: rows(store.engine, tables),
                )

        check()


def _parameters(repository: str, method: Callable[..., Any]) -> list[inspect.Parameter]:
    """The method's parameters; ``**filters`` (count, iterate) stand for the finder's."""
    named = list(inspect.signature(method).parameters.values())[1:]
    if named and named[-1].kind is inspect.Parameter.VAR_KEYWORD:
        cls = typing.get_type_hints(CrowdRepositories)[repository]
        finder = inspect.signature(getattr(cls, cls.finder)).parameters.values()
        named = named[:-1] + [p for p in finder if p.name not in ("self", "limit", "after")]
    return named


def _consumed(method: Callable[..., Any], arguments: dict[str, Any]) -> object:
    """Call ``method``; an iterator it returns is read to the end (errors come while reading)."""
    result = method(**arguments)
    return list(result) if isinstance(result, Iterator) else result


# On SQLite one database per repository: snapshots stay small, so examples stay cheap.
@pytest.mark.parametrize("repository", REPOSITORIES)
def test_no_input_escapes_or_writes_on_failure(repository: str, sqlite_target: Target) -> None:
    _check_calls(sqlite_target, (repository,), SQLITE_EXAMPLES)


# On a server, one database (each costs a CREATE DATABASE and a migration) for all of them.
def test_no_input_escapes_or_writes_on_failure_on_servers(server_target: Target) -> None:
    _check_calls(server_target, REPOSITORIES, SERVER_EXAMPLES)
