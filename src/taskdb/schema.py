"""Shared schema pieces: naming convention, portable column types, SQLite DDL fidelity."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Float, Insert, MetaData, String, Text, TypeDecorator, event
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine.interfaces import Dialect, ReflectedColumn
from sqlalchemy.engine.reflection import Inspector
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn, Table
from sqlalchemy.sql.compiler import DDLCompiler
from sqlalchemy.types import TypeEngine

from taskdb.engine import MYSQL_DIALECTS

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class KeyText(TypeDecorator[str]):
    """TEXT that takes part in a key or an index.

    MySQL cannot index TEXT without a prefix length, and its default collation
    would make "abc" equal "ABC " where SQLite keeps them apart: there it is a
    VARCHAR(255) compared byte for byte, without trailing-space padding.
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name not in MYSQL_DIALECTS:
            return dialect.type_descriptor(Text())
        mariadb = getattr(dialect, "is_mariadb", False)
        collation = "utf8mb4_nopad_bin" if mariadb else "utf8mb4_0900_bin"
        return dialect.type_descriptor(String(255, collation=collation))


# TEXT that may hold large JSON documents (MySQL's TEXT stops at 64 KiB).
LongText = Text().with_variant(mysql.LONGTEXT(), *MYSQL_DIALECTS)
# MySQL's FLOAT is single precision; money needs the double the other engines give.
Double = Float().with_variant(mysql.DOUBLE(asdecimal=False), *MYSQL_DIALECTS)


def upsert(table: Table, keys: Sequence[str], updated: Sequence[str], dialect: str) -> Insert:
    """One INSERT that updates ``updated`` when a row with the same ``keys`` exists.

    ON CONFLICT DO UPDATE on SQLite and PostgreSQL, ON DUPLICATE KEY UPDATE on MySQL;
    values are bound when the statement is executed.
    """
    if dialect in MYSQL_DIALECTS:
        on_mysql = mysql.insert(table)
        return on_mysql.on_duplicate_key_update({name: on_mysql.inserted[name] for name in updated})
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = dialect_insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c[name] for name in keys],
        set_={name: statement.excluded[name] for name in updated},
    )


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
    if inspector.dialect.name == "sqlite" and column.get("primary_key"):
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
