"""Fixtures of the crowd store tests: a store on each engine, and a populated one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from taskdb.crowd import CrowdStore
from tests.support.crowd_world import World, build_world


@pytest.fixture
def store(crowd_url: str) -> Iterator[CrowdStore]:
    with CrowdStore(crowd_url) as opened:
        yield opened


@pytest.fixture
def world(store: CrowdStore) -> World:
    return build_world(store)
