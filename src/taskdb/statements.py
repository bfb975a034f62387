"""Statements built once per table and shape, then reused by every repository call.

Reusing the statement object lets SQLAlchemy keep its cache key and compiled
form; values always travel as bound parameters, never in the statement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")

_BUILT: dict[tuple[object, ...], Any] = {}


def cached(key: tuple[object, ...], build: Callable[[], T]) -> T:
    """The statement stored under ``key`` (start it with the table), built on first use."""
    statement = _BUILT.get(key)
    if statement is None:
        # Two threads may both build it once; either result is the same statement.
        statement = _BUILT[key] = build()
    return cast(T, statement)
