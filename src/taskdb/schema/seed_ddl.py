"""The seeds' SQLite DDL, kept byte for byte for their tables, and the reflection that matches it.

Both hooks are process-wide SQLAlchemy extensions; each touches only what it must
(tables marked with SEED_DDL, and reflection only while migrations compare schemas).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import ReflectedColumn
from sqlalchemy.engine.reflection import Inspector
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn, Table
from sqlalchemy.sql.compiler import DDLCompiler

from taskdb.backends import backend_for

# Table.info key of the tables the seeds created: their SQLite DDL follows the seeds' quirks.
SEED_DDL = "taskdb_seed_ddl"


@compiles(CreateColumn, "sqlite")
def _sqlite_primary_key_without_not_null(
    element: CreateColumn, compiler: DDLCompiler, **kw: Any
) -> str:
    """Declare the seed tables' SQLite primary keys as the seeds do, without NOT NULL.

    ``INTEGER PRIMARY KEY`` is the rowid and can never hold NULL; the seeds'
    DDL omits the keyword, and schema comparison with their files must match.
    Only tables marked with SEED_DDL are touched: other programs' tables keep
    SQLAlchemy's DDL.
    """
    text = compiler.visit_create_column(element, **kw)  # type: ignore[no-untyped-call]
    column = element.element
    table = column.table
    if column.primary_key and text is not None and table is not None and table.info.get(SEED_DDL):
        text = text.replace(" NOT NULL", "", 1)
    return str(text)


def _report_primary_keys_not_null(
    inspector: Inspector, _table: Table, column: ReflectedColumn
) -> None:
    if backend_for(inspector.dialect).embedded and column.get("primary_key"):
        column["nullable"] = False


@contextmanager
def primary_keys_reflected_not_null() -> Iterator[None]:
    """While migrations compare schemas, report SQLite primary keys NOT NULL, as the models do.

    The listener is global to SQLAlchemy, so it is only in place for the block.
    """
    event.listen(Table, "column_reflect", _report_primary_keys_not_null)
    try:
        yield
    finally:
        event.remove(Table, "column_reflect", _report_primary_keys_not_null)
