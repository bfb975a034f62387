"""Property: a public quantum call raises only taskdb errors, and a failed one writes nothing.

Every public method of ``TaskStore`` (found by introspection, so a new one is covered
or fails here) is called in each example with arguments that are good or hostile
(tests/support/hostile.py), ``TaskInfo`` fields included: built by the constructor,
or set on a built one afterwards (the model is mutable and ``save`` checks it).
``TaskInfo`` itself, built from hostile arguments, raises only ``InvalidType``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskdb.errors import TaskdbError
from taskdb.quantum import TaskInfo, TaskStatus, TaskStore
from taskdb.quantum.models import QuantumBase
from tests.support.engines import Target
from tests.support.hostile import (
    HOSTILE,
    HOSTILE_DATA,
    HOSTILE_TEXT,
    call_checked,
    examples,
    rows,
    spoiled,
)

SQLITE_EXAMPLES = 150
SERVER_EXAMPLES = 20
# Every example calls each method; these two (no arguments) only in about one in ten.
RARE = ("clear_all", "close")

FIELDS = tuple(TaskInfo.model_fields)
_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=6)
_TASK_IDS = st.one_of(st.sampled_from(["t1", "t2", "t3"]), _TEXT)
_STATUSES = st.sampled_from([*TaskStatus, *(status.value for status in TaskStatus), "queued"])
_BACKENDS = st.sampled_from(["sim", "ibm", "ionq"])
_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), _TEXT),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(_TEXT, children, max_size=3)
    ),
    max_leaves=5,
)
GOOD_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "task_id": _TASK_IDS,
    "backend": _BACKENDS,
    "status": _STATUSES,
    "result": _JSON,
    "shots": st.integers(0, 10**6),
    "submit_time": st.sampled_from(["2024-01-01T00:00:00", "2025-06-01T12:00:00.5"]),
    "update_time": st.sampled_from(["2024-01-01T00:00:00"]),
    "metadata": st.one_of(st.none(), st.dictionaries(_TEXT, _JSON, max_size=3)),
}
HOSTILE_FIELDS = {**{name: HOSTILE for name in FIELDS}, "result": HOSTILE_DATA}


@st.composite
def task_infos(draw: st.DrawFn) -> TaskInfo:
    """A valid ``TaskInfo``, then (sometimes) fields overwritten with hostile values."""
    info = TaskInfo(**{name: draw(strategy) for name, strategy in GOOD_FIELDS.items()})
    overwritten = draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=2))
    for name in overwritten:
        setattr(info, name, draw(HOSTILE_FIELDS[name]))
    return info


ARGUMENTS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    # A hostile task_info is drawn by spoiled(); a good one may carry hostile fields.
    "save": {"task_info": task_infos()},
    "get": {"task_id": _TASK_IDS},
    "delete": {"task_id": _TASK_IDS},
    "list": {
        "status": st.one_of(st.none(), _STATUSES),
        "backend": st.one_of(st.none(), _BACKENDS),
        "limit": st.one_of(st.none(), st.integers(0, 5)),
        "offset": st.one_of(st.none(), st.integers(0, 5)),
    },
    "count": {
        "status": st.one_of(st.none(), _STATUSES),
        "backend": st.one_of(st.none(), _BACKENDS),
    },
    "clear_completed": {
        "terminal_statuses": st.lists(_STATUSES, max_size=3).map(tuple),
    },
    "clear_all": {},
    "close": {},
}


def public_methods() -> dict[str, Any]:
    return {
        name: method
        for name, method in inspect.getmembers(TaskStore, inspect.isfunction)
        if not name.startswith("_")
    }


def test_every_public_method_is_covered() -> None:
    methods = public_methods()
    assert set(methods) == set(ARGUMENTS)
    for name, method in methods.items():
        parameters = list(inspect.signature(method).parameters)[1:]
        assert parameters == list(ARGUMENTS[name]), name


@pytest.fixture
def store(quantum_url: str) -> Iterator[TaskStore]:
    with TaskStore(url=quantum_url) as opened:
        for number in (1, 2, 3):
            opened.save(TaskInfo(f"t{number}", "sim", TaskStatus.SUCCESS))
        yield opened


def test_no_input_escapes_or_writes_on_failure(store: TaskStore, target: Target) -> None:
    tables = QuantumBase.metadata.tables

    @examples(target.is_server, SQLITE_EXAMPLES, SERVER_EXAMPLES)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        order = data.draw(st.permutations(list(ARGUMENTS)), label="order")
        rare = data.draw(st.integers(0, 9), label="rare") == 9
        for name in order:
            if name in RARE and not rare:
                continue
            arguments = data.draw(spoiled(ARGUMENTS[name]), label=name)
            call_checked(
                functools.partial(getattr(store, name), **arguments),
                f"TaskStore.{name}(**{arguments!r})",
                lambda: rows(store.engine, tables),
            )

    check()


@examples(False, 300, 0)
@given(
    positional=st.lists(HOSTILE, max_size=9),
    keywords=st.dictionaries(st.sampled_from([*FIELDS, "bogus"]), HOSTILE, max_size=4),
    mapping=st.one_of(
        HOSTILE,
        st.dictionaries(
            st.one_of(st.sampled_from(FIELDS), HOSTILE_TEXT, st.integers(), st.none()),
            HOSTILE,
            max_size=4,
        ),
    ),
)
def test_task_info_refuses_wrong_types_with_invalid_type(
    positional: list[Any], keywords: dict[str, Any], mapping: Any
) -> None:
    for build in (
        lambda: TaskInfo(*positional, **keywords),
        lambda: TaskInfo(*positional[:2]),
        lambda: TaskInfo.from_dict(mapping),
    ):
        try:
            build()
        except TaskdbError as error:
            assert isinstance(error, TypeError), repr(error)
        except BaseException as error:
            raise AssertionError(f"{type(error).__name__} escaped: {error!r}") from error
