"""The naming convention and the portable column types both stores declare their models with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, MetaData, Text, TypeDecorator
from sqlalchemy.dialects import mysql
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.types import TypeEngine

from taskdb.backends import MYSQL, backend_for

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
        return dialect.type_descriptor(backend_for(dialect).key_text(dialect))


# TEXT that may hold large JSON documents (MySQL's TEXT stops at 64 KiB).
LongText = Text().with_variant(mysql.LONGTEXT(), *MYSQL.dialects)
# MySQL's FLOAT is single precision; money needs the double the other engines give.
Double = Float().with_variant(mysql.DOUBLE(asdecimal=False), *MYSQL.dialects)
