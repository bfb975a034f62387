"""Every public repository method, driven with bad input: InvalidEntry, and nothing written."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from taskdb.crowd import CrowdStore
from taskdb.crowd.models import CrowdBase
from taskdb.engine import create_engine
from taskdb.errors import DatabaseError, InvalidEntry, InvalidType, TaskdbError
from taskdb.spec import CROWD
from tests.support.crowd_world import World, snapshot

# Every table has a repository attribute of the same name.
REPOSITORIES = CROWD.tables
NAMES = ("project_name", "task_name", "requester_name", "worker_name", "qualification_name")
BAD_IDS = ("abc", "", "1.5", " 1", "-1", 1.5, True, -1, 2**40, b"1", object())
BAD_TEXT = (5, 1.5, b"text", "nul\x00", "\ud800", object())
BAD_FLAGS = (2, -1, "yes", "1", 1.5)
BAD_COUNTS = ("x", 1.5, True, 2**40)


def good_values(world: World, repository: str) -> dict[str, Any]:
    unit = {
        "task_id": world.task,
        "task_run_id": world.task_run,
        "requester_id": world.requester,
        "assignment_id": world.assignment,
        "unit_index": 9,
        "pay_amount": 1.0,
        "provider_type": "mock",
        "task_type": "x",
    }
    own_ids = {
        "projects": world.project,
        "tasks": world.task,
        "requesters": world.requester,
        "task_runs": world.task_run,
        "assignments": world.assignment,
        "units": world.unit,
        "workers": world.worker,
        "agents": world.agent,
        "onboarding_agents": world.onboarding_agent,
        "qualifications": world.qualification,
    }
    return {
        **{name: f"fresh {name}" for name in NAMES},
        "entry_id": own_ids.get(repository),
        "task_id": world.task,
        "task_run_id": world.task_run,
        "requester_id": world.requester,
        "assignment_id": world.assignment,
        "unit_id": world.unit,
        "worker_id": world.worker,
        "agent_id": world.agent,
        "onboarding_agent_id": world.onboarding_agent,
        "qualification_id": world.qualification,
        "project_id": world.project,
        "init_params": "{}",
        "provider_type": "mock",
        "task_type": "x",
        "sandbox": True,
        "is_completed": True,
        "unit_index": 9,
        "pay_amount": 1.0,
        "value": 2,
        "status": "accepted",  # valid for units and agents alike
        "limit": 10,
        "after": 0,
        "batch": 10,
        "assignments": [{key: unit[key] for key in list(unit)[:3]} | {"task_type": "x"}],
        "units": [unit],
    }


def bad_values(parameter: inspect.Parameter, method: str) -> list[Any]:
    """Values this parameter must refuse; finders treat None and empty names as filters."""
    name = parameter.name
    finder = method in ("find", "check")
    required = parameter.default is inspect.Parameter.empty
    missing = [None] if required else []
    if name.endswith("_id") or name == "after":
        return [*BAD_IDS, *missing]
    if name == "limit":
        return [-1, "3", True, 1.5, 2**63, b"1"]
    if name == "batch":
        return [0, -1, "3", True, 1.5, 2**63]
    if name in NAMES:
        empty = [] if finder or method == "delete" else [""]
        reserved = ["NO_PROJECT"] if name == "project_name" and not finder else []
        return [*BAD_TEXT, *empty, *reserved, *missing]
    if name == "provider_type":
        return [*BAD_TEXT, *([] if finder else ["nope", ""]), *missing]
    if name == "status":  # finders refuse unknown statuses too; "mixed" is a unit status
        return [*BAD_TEXT, "bogus", "ASSIGNED", *([] if finder else ["mixed"]), *missing]
    if name == "task_type":
        return [1.5, b"x", "nul\x00", *missing]
    if name in ("sandbox", "is_completed"):
        return [*BAD_FLAGS, *missing]
    if name in ("unit_index", "value"):
        return [*BAD_COUNTS, *missing]
    if name == "pay_amount":
        return ["1.0", True, float("nan"), float("inf"), None]
    if name == "init_params":
        return [*BAD_TEXT, None]
    if name in ("assignments", "units"):
        return [[{"bogus": 1}], [object()], [{"task_id": "abc"}], 5]
    raise AssertionError(f"no bad values known for {method}({name})")


def wrong_type(name: str, bad: Any) -> bool:
    """Whether ``bad`` is of a type parameter ``name`` does not take (else a bad value)."""
    whole = isinstance(bad, int) and not isinstance(bad, bool)
    if name in ("assignments", "units"):
        return True  # not a list, items that are not mappings, missing or unknown fields
    if name in ("sandbox", "is_completed"):
        return not whole
    if name in ("limit", "batch"):
        return not whole
    if name.endswith("_id") or name in ("unit_index", "value", "after"):
        return not (whole or isinstance(bad, str))  # ints and strings of digits
    if name == "task_type":
        return not (whole or isinstance(bad, str))
    if name == "pay_amount":
        return not (whole or isinstance(bad, float))
    return not isinstance(bad, str)


def public_methods(store: CrowdStore) -> list[tuple[str, str, Callable[..., Any]]]:
    found = []
    for repository in REPOSITORIES:
        target = getattr(store, repository)
        for name, _ in inspect.getmembers(type(target), inspect.isfunction):
            if not name.startswith("_") and name != "key":
                found.append((repository, name, getattr(target, name)))
    return found


def given_parameters(method: Callable[..., Any]) -> list[inspect.Parameter]:
    """The parameters a test gives: ``**filters`` (count, iterate) are the finder's own,
    tested through it; the rest are named."""
    return [
        parameter
        for parameter in inspect.signature(method).parameters.values()
        if parameter.kind is not inspect.Parameter.VAR_KEYWORD
    ]


def test_every_public_method_refuses_bad_input(
    store: CrowdStore, world: World, crowd_url: str
) -> None:
    before = snapshot(crowd_url)
    methods = public_methods(store)
    assert len(methods) == 66
    calls = 0
    for repository, method_name, method in methods:
        good = good_values(world, repository)
        parameters = given_parameters(method)
        if method_name == "count":
            continue  # its only arguments are the finder's filters, tested through it
        assert parameters, f"{repository}.{method_name} takes no input"
        for parameter in parameters:
            for bad in bad_values(parameter, method_name):
                arguments = {p.name: good[p.name] for p in parameters}
                arguments[parameter.name] = bad
                positional = [
                    arguments.pop(p.name)
                    for p in parameters
                    if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
                ]
                where = f"{repository}.{method_name}({parameter.name}={bad!r})"
                with pytest.raises(InvalidEntry) as raised:
                    method(*positional, **arguments)
                # A wrong type is InvalidType, also a TypeError (as the seed raised); a bad
                # value of an accepted type is not.
                expected = wrong_type(parameter.name, bad)
                assert isinstance(raised.value, InvalidType) is expected, (
                    f"{where}: {raised.value!r}"
                )
                assert isinstance(raised.value, TypeError) is expected, where
                # The message names the argument (a generic get names the table's key).
                named = {parameter.name, getattr(store, repository).key().name}
                assert any(name in str(raised.value) for name in named), f"{where}: {raised.value}"
                calls += 1
    assert calls > 400
    assert snapshot(crowd_url) == before


def test_invalid_entry_names_what_is_allowed(store: CrowdStore) -> None:
    with pytest.raises(InvalidEntry, match="string of digits such as '42', got 'abc'"):
        store.units.get("abc")
    with pytest.raises(InvalidEntry, match="registered: mock, mturk, mturk_sandbox"):
        store.workers.new("w", "prolific")
    with pytest.raises(InvalidEntry, match=r"filter sandbox: expected True, False, 0 or 1"):
        store.units.find(sandbox="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidEntry, match=r"\b3\b.*provider"):
        store.units.new_many([{}, {}, {}, {"provider_type": "nope"}])


def test_a_broken_database_raises_database_error_not_a_driver_error(
    store: CrowdStore, crowd_url: str
) -> None:
    engine = create_engine(crowd_url, CROWD, poolclass=sa.NullPool)
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        connection.execute(sa.text("DROP TABLE onboarding_agents"))
    engine.dispose()
    for call in (
        lambda: store.onboarding_agents.find(),
        lambda: store.onboarding_agents.get(1),
        lambda: store.onboarding_agents.new(1, 1, 1, "x"),
        lambda: store.onboarding_agents.update_status(1, "none"),
    ):
        with pytest.raises(DatabaseError) as raised:
            call()
        assert isinstance(raised.value.__cause__, sa.exc.SQLAlchemyError)
        assert isinstance(raised.value, TaskdbError)
    assert "onboarding_agents" not in sa.inspect(store.engine).get_table_names()
    assert set(CrowdBase.metadata.tables) - {"onboarding_agents"} <= set(
        sa.inspect(store.engine).get_table_names()
    )


def test_a_call_with_missing_or_unknown_arguments_is_invalid_type(store: CrowdStore) -> None:
    """Python's own TypeError for a bad call comes out as InvalidType, still a TypeError."""
    methods = public_methods(store)
    for repository, method_name, method in methods:
        where = f"{repository}.{method_name}"
        with pytest.raises(InvalidType, match="unexpected keyword argument 'bogus'") as raised:
            method(bogus=1)
        assert isinstance(raised.value, TypeError), where
        required = [
            parameter
            for parameter in given_parameters(method)
            if parameter.default is inspect.Parameter.empty
        ]
        if required:
            with pytest.raises(InvalidType, match="missing"):
                method()


def test_a_wrong_type_with_a_bad_value_elsewhere_is_still_a_type_error(
    store: CrowdStore, world: World
) -> None:
    # Any wrong type makes the refusal InvalidType: except TypeError catches the call.
    with pytest.raises(InvalidType, match=r"task_run_id.*provider_type"):
        store.assignments.new(world.task, 1.5, world.requester, "x", "nope")
    with pytest.raises(InvalidEntry) as raised:
        store.assignments.new(world.task, "abc", world.requester, "x", "nope")
    assert not isinstance(raised.value, TypeError)


def test_the_messages_of_type_errors_name_the_argument_and_what_is_allowed(
    store: CrowdStore,
) -> None:
    with pytest.raises(InvalidType, match=r"unit_id.*string of digits such as '42', got 1\.5"):
        store.units.get(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidType, match=r"filter sandbox: expected True, False, 0 or 1"):
        store.units.find(sandbox="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidType, match=r"status: None is not an agent status; allowed: none"):
        store.agents.update_status(1, None)  # type: ignore[arg-type]
    with pytest.raises(InvalidType, match=r"units: expected a list of NewUnit or mappings"):
        store.units.new_many(5)  # type: ignore[arg-type]
    with pytest.raises(InvalidType, match=r"pay_amount: an amount is a number, got '1\.0'"):
        store.units.new(1, 1, 1, 1, 0, "1.0", "mock", "x")  # type: ignore[arg-type]


_WRONG_STORE_CALLS: dict[str, Callable[[CrowdStore], object]] = {
    "unit_of_work_positional": lambda store: store.unit_of_work(True),  # type: ignore[misc]
    "unit_of_work_misspelt": lambda store: store.unit_of_work(savepoint=False),  # type: ignore[call-arg]
    "session_positional": lambda store: store.session(1),  # type: ignore[call-arg]
    "close_positional": lambda store: store.close(1),  # type: ignore[call-arg]
    "open_misspelt": lambda store: CrowdStore(store.engine.url, upgrades=True),  # type: ignore[call-arg]
}


@pytest.mark.parametrize("call", list(_WRONG_STORE_CALLS), ids=list(_WRONG_STORE_CALLS))
def test_a_wrong_call_of_the_store_itself_is_invalid_type(
    store: CrowdStore, world: World, crowd_url: str, call: str
) -> None:
    before = snapshot(crowd_url)
    with pytest.raises(InvalidType, match="argument"):
        _WRONG_STORE_CALLS[call](store)
    with store.unit_of_work() as work, pytest.raises(InvalidType, match="positional argument"):
        work.session(1)  # type: ignore[call-arg]
    assert snapshot(crowd_url) == before
    assert store.projects.get(world.project).project_name == "project"  # still open


@pytest.mark.parametrize("upgrade", ["no", 1, None])
def test_upgrade_must_be_a_bool(crowd_url: str, upgrade: object) -> None:
    with pytest.raises(InvalidType, match="upgrade is True or False"):
        CrowdStore(crowd_url, upgrade=upgrade)  # type: ignore[arg-type]
