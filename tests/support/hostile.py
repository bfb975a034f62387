"""Hypothesis strategies of hostile input, for the property tests of both stores.

``HOSTILE`` mixes what no argument of taskdb accepts with what only some accept:
lone surrogates, NUL, huge and negative ints, NaN and infinities, bytes, sets,
lists, dicts, objects, None, bools, text longer than MariaDB's 255-character keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from taskdb.errors import EntryError, TaskdbError


class Opaque:
    """An object no argument accepts, with a repr that says so."""

    def __repr__(self) -> str:
        return "Opaque()"


# Characters a store cannot keep alike on every engine, mixed into generated text.
_ALPHABET = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),  # lone surrogates: no UTF-8 encoding exists
    st.just("\x00"),
)
HOSTILE_TEXT = st.text(alphabet=_ALPHABET, max_size=12)

FIXED: tuple[object, ...] = (
    "\ud800",
    "a\udfffb",
    "\x00",
    "nul\x00",
    "",
    " ",
    "x" * 300,  # longer than MariaDB's VARCHAR(255) keys
    "é" * 256,
    "NO_PROJECT",
    "abc",
    "1.5",
    " 1",
    "-1",
    "9" * 30,
    2**70,
    -(2**70),
    2**63,
    2**31,
    -(2**31) - 1,
    -1,
    float("nan"),
    float("inf"),
    float("-inf"),
    -0.0,
    1.5,
    1.0,
    Decimal("1"),
    Fraction(1, 3),
    complex(1, 2),
    b"",
    b"1",
    bytearray(b"x"),
    set(),
    {1, 2},
    frozenset({"created"}),
    [],
    [1],
    ["success"],
    (),
    ("a", 1),
    {},
    {"a": 1},
    {1: 2},
    Opaque(),
    None,
    True,
    False,
    datetime(2024, 1, 1),
    Path("x"),
    Ellipsis,
    int,
)

_JSONISH_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    HOSTILE_TEXT,
    st.binary(max_size=4),
    st.sampled_from(FIXED),
)

# Nested data such as a result or metadata might hold: sets, tuples, bytes, odd keys.
HOSTILE_DATA = st.recursive(
    _JSONISH_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(HOSTILE_TEXT, st.integers(), st.none()), children, max_size=3),
        st.frozensets(st.integers(), max_size=3),
        st.tuples(children),
    ),
    max_leaves=6,
)

HOSTILE: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(FIXED),
    HOSTILE_TEXT,
    st.integers(),
    st.floats(),
    st.binary(max_size=6),
    HOSTILE_DATA,
)


@st.composite
def spoiled(
    draw: st.DrawFn, good: Mapping[str, st.SearchStrategy[Any]], at_most: int = 2
) -> dict[str, Any]:
    """Values by name, each good except a few (none, one, two...) drawn from ``HOSTILE``.

    One hostile value among good ones goes furthest into the code under test: every
    other argument passes validation, so nothing stops the call before the bad one.
    """
    names = sorted(good)
    bad = draw(st.sets(st.sampled_from(names), max_size=at_most)) if names else set()
    return {
        name: draw(HOSTILE if name in bad else good[name], label=name)
        for name in good  # in the given order, so a call's arguments read naturally
    }


def examples(server: bool, sqlite: int, servers: int) -> settings:
    """Hypothesis settings of a property test: fewer examples on a server engine."""
    return settings(
        max_examples=servers if server else sqlite,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


def rows(engine: sa.Engine, tables: Mapping[str, sa.Table]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of ``tables``, each table in primary-key order."""
    with engine.connect() as connection:
        return {
            name: [
                tuple(row)
                for row in connection.execute(sa.select(table).order_by(*table.primary_key.columns))
            ]
            for name, table in tables.items()
        }


def call_checked(
    call: Callable[[], object], where: str, snapshot: Callable[[], object]
) -> BaseException | None:
    """Run ``call``: it returns, or raises an entry error and leaves the database as it was.

    The database is healthy in these tests, so a refusal is always about the input:
    an ``EntryError`` (``InvalidEntry``, ``EntryDoesNotExist``, ``EntryAlreadyExists``),
    never ``DatabaseError`` nor anything outside taskdb. Returns what it raised.
    """
    before = snapshot()
    try:
        call()
    except TaskdbError as error:
        assert isinstance(error, EntryError), f"{where} raised {error!r}"
        assert snapshot() == before, f"{where} raised {error!r} and changed the database"
        return error
    except BaseException as error:  # the property under test: nothing else escapes
        raise AssertionError(f"{where} let {type(error).__name__} escape: {error!r}") from error
    return None
