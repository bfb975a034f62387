"""The statements of the quantum ``tasks`` table, on the runners and error boundary of both stores.

:class:`TaskInfoRepository` validates what it is given, runs one statement per call
on the connection its runner hands out, and turns rows into ``TaskInfo``. The
seed-compatible façade, ``TaskStore``, owns the engine and the file around it.
"""

from __future__ import annotations

import builtins
from typing import Any

import sqlalchemy as sa

from taskdb.backends import Backend
from taskdb.connections import Runner
from taskdb.errors import operation
from taskdb.quantum.models import QuantumBase
from taskdb.quantum.records import (
    KNOWN_STATUSES,
    STORED_ORDER,
    TaskInfo,
    check_key,
    check_limit,
    check_offset,
    check_task_id,
    from_stored,
    normalize_status,
    normalize_statuses,
)
from taskdb.statements import cached

TASKS: sa.Table = QuantumBase.metadata.tables["tasks"]
# Selected in the order from_stored takes them.
_COLUMNS = tuple(TASKS.c[name] for name in STORED_ORDER)
# Kept as the first save set it, as the seed's ON CONFLICT clause does.
_KEPT_ON_UPDATE = frozenset({"task_id", "submit_time"})


class TaskInfoRepository:
    """Reads and writes quantum task records; every method is an error boundary."""

    entity = "task"

    def __init__(self, runner: Runner, backend: Backend) -> None:
        self._runner = runner
        self._backend = backend

    @operation("saving a {entity}")
    def save(self, row: dict[str, Any]) -> None:
        """Insert the row, or update all but its key and first ``submit_time``: one upsert."""
        with self._runner.writing() as connection:
            self._runner.execute(connection, self._upsert(), row)

    @operation("reading a {entity}")
    def get(self, task_id: str | int) -> TaskInfo | None:
        wanted = check_task_id(task_id)
        statement = cached(
            (TASKS, "get"),
            lambda: sa.select(*_COLUMNS).where(TASKS.c.task_id == sa.bindparam("task_id")),
        )
        rows = self._runner.rows(statement, {"task_id": wanted})
        return from_stored(*rows[0]) if rows else None

    @operation("listing {entity}s")
    def list(
        self,
        status: object = None,
        backend: object = None,
        limit: object = None,
        offset: object = None,
    ) -> builtins.list[TaskInfo]:
        """Tasks newest first by ``submit_time``, ties in insertion order (newest first)."""
        values = _filters(status, backend)
        checked_limit = check_limit(limit)
        checked_offset = check_offset(offset)
        names = tuple(values)
        order = self._backend.insertion_order
        paged = (checked_limit is not None, checked_offset is not None)
        statement = cached(
            (TASKS, "list", order, names, paged),
            lambda: _list_query(order, names, *paged),
        )
        if checked_limit is not None:
            values["limit"] = checked_limit
        if checked_offset is not None:
            values["offset"] = checked_offset
        rows = self._runner.rows(statement, values)
        return [from_stored(*row) for row in rows]

    @operation("counting {entity}s")
    def count(self, status: object = None, backend: object = None) -> int:
        values = _filters(status, backend)
        names = tuple(values)
        statement = cached(
            (TASKS, "count", names),
            lambda: sa.select(sa.func.count()).select_from(TASKS).where(*_where(names)),
        )
        ((counted,),) = self._runner.rows(statement, values)
        return int(counted)

    @operation("deleting a {entity}")
    def delete(self, task_id: str | int) -> bool:
        wanted = check_task_id(task_id)
        statement = cached(
            (TASKS, "delete"),
            lambda: TASKS.delete().where(TASKS.c.task_id == sa.bindparam("task_id")),
        )
        with self._runner.writing() as connection:
            result = self._runner.execute(connection, statement, {"task_id": wanted})
        return result.rowcount > 0

    @operation("clearing {entity}s")
    def delete_statuses(self, statuses: object) -> int:
        wanted = sorted(set(normalize_statuses(statuses, "terminal_statuses")))  # type: ignore[arg-type]
        deleted = 0
        with self._runner.writing() as connection:
            # In slices: PostgreSQL takes at most 65,535 parameters in one statement.
            for start in range(0, max(len(wanted), 1), _STATUSES_PER_DELETE):
                statement, values = _delete_statuses(wanted[start : start + _STATUSES_PER_DELETE])
                deleted += self._runner.execute(connection, statement, values).rowcount
        return deleted

    @operation("clearing all {entity}s")
    def delete_all(self) -> None:
        with self._runner.writing() as connection:
            connection.execute(TASKS.delete())

    def _upsert(self) -> sa.Insert:
        changed = [column.name for column in _COLUMNS if column.name not in _KEPT_ON_UPDATE]
        return cached(
            (TASKS, "upsert", self._backend.family),
            lambda: self._backend.upsert(TASKS, ("task_id",), changed),
        )


_STATUSES_PER_DELETE = 10_000


def _delete_statuses(wanted: builtins.list[str]) -> tuple[sa.Delete, dict[str, object]]:
    """The DELETE of tasks in ``wanted`` statuses, and its values.

    Up to one parameter per known status, the statement is built and compiled once per
    count (and runs on SQLite's driver); an IN list SQLAlchemy expands at each
    execution took about half of a ``clear_completed``.
    """
    if 0 < len(wanted) <= len(KNOWN_STATUSES):
        names = [f"status_{position}" for position in range(len(wanted))]
        statement = cached(
            (TASKS, "delete_statuses", len(names)),
            lambda: TASKS.delete().where(
                TASKS.c.status.in_([sa.bindparam(n, type_=TASKS.c.status.type) for n in names])
            ),
        )
        return statement, dict(zip(names, wanted, strict=True))
    statement = cached(
        (TASKS, "delete_statuses"),
        lambda: TASKS.delete().where(TASKS.c.status.in_(sa.bindparam("statuses", expanding=True))),
    )
    return statement, {"statuses": wanted}


def _filters(status: object, backend: object) -> dict[str, object]:
    values: dict[str, object] = {}
    if status is not None:
        values["status"] = normalize_status(status)
    if backend is not None:
        values["backend"] = check_key(backend, "backend")
    return values


def _where(names: tuple[str, ...]) -> list[sa.ColumnElement[bool]]:
    return [TASKS.c[name] == sa.bindparam(name) for name in names]


def _list_query(
    tiebreak: str, names: tuple[str, ...], limited: bool, offset: bool
) -> sa.Select[Any]:
    query = (
        sa.select(*_COLUMNS)
        .where(*_where(names))
        .order_by(TASKS.c.submit_time.desc(), sa.column(tiebreak).desc())
    )
    # BigInteger: PostgreSQL reads an Integer parameter as int4, and limits go to 2**63 - 1.
    if limited:
        query = query.limit(sa.bindparam("limit", type_=sa.BigInteger))
    if offset:
        query = query.offset(sa.bindparam("offset", type_=sa.BigInteger))
    return query
