"""The crowd API as its callers see it, without a database: status types, help(), docstrings."""

from __future__ import annotations

import inspect
import pydoc
import re
import textwrap
import typing
from pathlib import Path
from typing import Any

import pytest

import taskdb
from taskdb import errors
from taskdb.crowd import (
    AgentStatus,
    AgentStatusLike,
    AgentStatusName,
    CrowdRepositories,
    CrowdStore,
    UnitStatus,
    UnitStatusLike,
    UnitStatusName,
)
from taskdb.crowd.repositories import Repository
from taskdb.spec import CROWD

SRC = Path(taskdb.__file__).resolve().parent.parent


def test_status_names_are_the_enum_values_in_order() -> None:
    assert typing.get_args(UnitStatusName) == tuple(status.value for status in UnitStatus)
    assert typing.get_args(AgentStatusName) == tuple(status.value for status in AgentStatus)
    assert typing.get_args(UnitStatusLike) == (UnitStatus, UnitStatusName)
    assert typing.get_args(AgentStatusLike) == (AgentStatus, AgentStatusName)


SNIPPET = """\
from taskdb.crowd import AgentStatus, CrowdStore, UnitStatus


def use(store: CrowdStore) -> None:
    store.units.find(status="created")
    store.units.find(status=UnitStatus.CREATED)
    store.units.update(1, "launched", agent_id=2)
    store.units.update_status(1, UnitStatus.COMPLETED)
    store.agents.find(status="in task")
    store.agents.update_status(1, AgentStatus.PARTNER_DISCONNECT)
    store.onboarding_agents.update_status(1, "approved")
    status: UnitStatus | str = store.units.get(1).status
    print(status == UnitStatus.CREATED)
    store.units.find(status="craeted")  # refused: a typo
    store.units.update_status(1, "in task")  # refused: an agent status
    store.agents.update_status(1, UnitStatus.CREATED)  # refused: the other enum
    store.onboarding_agents.find(status="in_task")  # refused: a typo
"""
REFUSED = [n for n, line in enumerate(SNIPPET.splitlines(), 1) if "# refused" in line]


def test_a_status_typo_fails_mypy_strict(tmp_path: Path) -> None:
    mypy_api = pytest.importorskip("mypy.api")
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET)
    config = tmp_path / "mypy.ini"
    # mypy_path: this tree's taskdb, before any installed copy.
    config.write_text(f"[mypy]\nstrict = True\nmypy_path = {SRC}\n")
    out, err, _status = mypy_api.run(
        [
            "--config-file",
            str(config),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-error-summary",
            "--show-error-codes",
            str(snippet),
        ]
    )
    assert not err, err
    lines = sorted(
        int(found.group(1))
        for found in re.finditer(rf"{re.escape(snippet.name)}:(\d+): error:", out)
    )
    assert lines == REFUSED, out
    assert len(REFUSED) == 4
    assert "craeted" in out and "arg-type" in out


def test_help_of_the_store_lists_every_repository() -> None:
    rendered = pydoc.render_doc(CrowdStore, renderer=pydoc.plaintext)
    hints = typing.get_type_hints(CrowdRepositories)
    assert set(hints) == {*CROWD.tables, "providers"}
    for table in CROWD.tables:
        repository = hints[table]
        assert issubclass(repository, Repository) and repository.table.name == table
        documented = re.search(rf"^ \|  {table}\n \|      (\w+): ", rendered, re.MULTILINE)
        assert documented, f"help(CrowdStore) does not list {table}"
        assert documented.group(1) == repository.__name__


def _repository_classes() -> list[type[Repository[Any]]]:
    hints = typing.get_type_hints(CrowdRepositories)
    return [hints[table] for table in CROWD.tables]


def _public_methods(repository: type[Any]) -> list[tuple[str, Any]]:
    return [
        (name, member)
        for name, member in inspect.getmembers(repository, inspect.isroutine)
        if not name.startswith("_")
    ]


TAXONOMY = {
    name for name, value in vars(errors).items() if isinstance(value, type) and name[0].isupper()
}


@pytest.mark.parametrize("repository", _repository_classes(), ids=lambda cls: cls.__name__)
def test_every_public_repository_method_says_what_it_returns_and_raises(
    repository: type[Any],
) -> None:
    methods = _public_methods(repository)
    assert {"get", "key"} <= {name for name, _ in methods}
    for name, method in methods:
        doc = inspect.getdoc(method) or ""
        where = f"{repository.__name__}.{name}"
        assert "\nReturns:\n" in doc, f"{where} does not say what it returns"
        assert "\nRaises:\n" in doc, f"{where} does not say what it raises"
        raised = textwrap.dedent(doc.split("\nRaises:\n", 1)[1])
        named = re.findall(r"^(\w+):", raised, re.MULTILINE)
        assert named, f"{where}: no exception listed"
        assert set(named) <= TAXONOMY | {"Nothing"}, f"{where}: {named}"


def test_the_repository_methods_are_the_seeds_operations() -> None:
    names = {name for cls in _repository_classes() for name, _ in _public_methods(cls)}
    assert names == {
        "new",
        "new_many",
        "get",
        "find",
        "update",
        "update_status",
        "clear_agent",
        "make",
        "delete",
        "grant",
        "check",
        "revoke",
        "key",
        # Not the seed's: paging through any finder's matches.
        "count",
        "iterate",
    }
