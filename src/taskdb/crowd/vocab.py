"""Vocabularies of the crowd store: statuses, the reserved project name, provider types."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from enum import StrEnum
from typing import Literal, TypeAlias

from taskdb.errors import InvalidEntry, InvalidType

# Mephisto reserves this name for "no project"; a project may not be called that.
NO_PROJECT = "NO_PROJECT"


class UnitStatus(StrEnum):
    """Mephisto's ``AssignmentState``: the statuses a unit (and an assignment) goes through."""

    CREATED = "created"
    LAUNCHED = "launched"
    ASSIGNED = "assigned"
    COMPLETED = "completed"
    ACCEPTED = "accepted"
    MIXED = "mixed"
    REJECTED = "rejected"
    SOFT_REJECTED = "soft_rejected"
    EXPIRED = "expired"


# The values of UnitStatus as literal strings (tested to match): a call may pass either,
# and mypy refuses any other literal, so a typo fails type checking.
UnitStatusName: TypeAlias = Literal[
    "created",
    "launched",
    "assigned",
    "completed",
    "accepted",
    "mixed",
    "rejected",
    "soft_rejected",
    "expired",
]
UnitStatusLike: TypeAlias = UnitStatus | UnitStatusName


class AgentStatus(StrEnum):
    """Mephisto's ``AgentState``: the statuses of an agent and of an onboarding agent."""

    NONE = "none"
    ACCEPTED = "accepted"
    ONBOARDING = "onboarding"
    WAITING = "waiting"
    IN_TASK = "in task"
    COMPLETED = "completed"
    DISCONNECT = "disconnect"
    TIMEOUT = "timeout"
    PARTNER_DISCONNECT = "partner disconnect"
    EXPIRED = "expired"
    RETURNED = "returned"
    APPROVED = "approved"
    SOFT_REJECTED = "soft_rejected"
    REJECTED = "rejected"


# The values of AgentStatus as literal strings (tested to match), as UnitStatusName.
AgentStatusName: TypeAlias = Literal[
    "none",
    "accepted",
    "onboarding",
    "waiting",
    "in task",
    "completed",
    "disconnect",
    "timeout",
    "partner disconnect",
    "expired",
    "returned",
    "approved",
    "soft_rejected",
    "rejected",
]
AgentStatusLike: TypeAlias = AgentStatus | AgentStatusName


# "mixed" describes an assignment whose units disagree; no single unit can be mixed.
UNIT_STATUSES: tuple[str, ...] = tuple(s.value for s in UnitStatus if s is not UnitStatus.MIXED)
AGENT_STATUSES: tuple[str, ...] = tuple(s.value for s in AgentStatus)

DEFAULT_PROVIDER_TYPES = ("mock", "mturk", "mturk_sandbox")


class ProviderRegistry:
    """The provider types a store accepts; callers register their own crowd providers."""

    def __init__(self, names: Iterable[str] = DEFAULT_PROVIDER_TYPES) -> None:
        self._lock = threading.Lock()
        self._names: dict[str, None] = {}
        if isinstance(names, str | bytes) or not isinstance(names, Iterable):
            raise InvalidType(f"ProviderRegistry takes a collection of names, got {names!r}")
        for name in names:
            self.register(name)

    def register(self, name: str) -> None:
        """Accept ``name`` as a provider type from now on.

        Raises:
            InvalidType: ``name`` is not a string (also a ``TypeError``).
            InvalidEntry: ``name`` is blank, or holds NUL or a lone surrogate (no
                provider type could be stored).
        """
        if not isinstance(name, str):
            raise InvalidType(f"a provider type is a non-empty string, got {name!r}")
        if not name.strip() or "\x00" in name or _unencodable(name):
            raise InvalidEntry(f"a provider type is a non-empty string, got {name!r}")
        with self._lock:
            self._names[name] = None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._names

    def names(self) -> tuple[str, ...]:
        """Registered names, in registration order."""
        with self._lock:
            return tuple(self._names)

    def __repr__(self) -> str:
        return f"ProviderRegistry({list(self.names())!r})"


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# Shared by every store built without its own registry, like Mephisto's provider registry.
PROVIDERS = ProviderRegistry()
