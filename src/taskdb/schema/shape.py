"""Exact description of a SQLite schema, read from PRAGMAs, and the differences between two.

Used to check files made by the seed code before adopting them, and by the
fidelity tests. Reflection through SQLAlchemy would normalise away the very
details (declared types, AUTOINCREMENT, NOT NULL on keys) that must match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class ColumnShape:
    name: str
    declared_type: str
    not_null: bool
    default: str | None
    primary_key_position: int

    def __str__(self) -> str:
        parts = [self.declared_type or "(no type)", "NOT NULL" if self.not_null else "NULL"]
        if self.default is not None:
            parts.append(f"DEFAULT {self.default}")
        if self.primary_key_position:
            parts.append("PRIMARY KEY")
        return " ".join(parts)


@dataclass(frozen=True)
class ForeignKeyShape:
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableShape:
    columns: tuple[ColumnShape, ...]
    autoincrement: bool
    foreign_keys: frozenset[ForeignKeyShape]
    unique_sets: frozenset[tuple[str, ...]]
    # Named indexes made by CREATE INDEX, by name: their columns in order.
    indexes: tuple[tuple[str, tuple[str, ...]], ...]

    def index_map(self) -> dict[str, tuple[str, ...]]:
        return dict(self.indexes)


def describe(connection: Connection, tables: Iterable[str]) -> dict[str, TableShape]:
    """Describe each named table that exists; missing tables are simply absent."""
    present = {
        row[0]
        for row in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    return {name: _describe_table(connection, name) for name in tables if name in present}


def _pragma(connection: Connection, pragma: str, name: str) -> list[tuple[object, ...]]:
    quoted = name.replace('"', '""')
    return [tuple(row) for row in connection.exec_driver_sql(f'PRAGMA {pragma}("{quoted}")')]


def _describe_table(connection: Connection, name: str) -> TableShape:
    columns = tuple(
        ColumnShape(str(col[1]), str(col[2]).upper(), bool(col[3]), _text(col[4]), int(str(col[5])))
        for col in _pragma(connection, "table_info", name)
    )
    sql = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).scalar_one()
    grouped: dict[int, list[tuple[object, ...]]] = {}
    for row in _pragma(connection, "foreign_key_list", name):
        grouped.setdefault(int(str(row[0])), []).append(row)
    foreign_keys = frozenset(
        ForeignKeyShape(
            tuple(str(r[3]) for r in rows), str(rows[0][2]), tuple(str(r[4]) for r in rows)
        )
        for rows in grouped.values()
    )
    unique_sets: set[tuple[str, ...]] = set()
    indexes: list[tuple[str, tuple[str, ...]]] = []
    for row in _pragma(connection, "index_list", name):
        index_name, unique, origin = str(row[1]), bool(row[2]), str(row[3])
        index_columns = tuple(str(r[2]) for r in _pragma(connection, "index_info", index_name))
        if origin == "c":
            indexes.append((index_name, index_columns))
        elif unique and origin == "u":
            unique_sets.add(index_columns)
    return TableShape(
        columns=columns,
        autoincrement="AUTOINCREMENT" in str(sql).upper(),
        foreign_keys=foreign_keys,
        unique_sets=frozenset(unique_sets),
        indexes=tuple(sorted(indexes)),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Comparison:
    """What separates an actual schema from the expected one."""

    missing_indexes: tuple[tuple[str, str, tuple[str, ...]], ...]
    problems: tuple[str, ...]

    @property
    def identical(self) -> bool:
        return not self.missing_indexes and not self.problems


def compare(expected: dict[str, TableShape], actual: dict[str, TableShape]) -> Comparison:
    """Compare table by table. Missing named indexes are reported apart: they can be added."""
    missing_indexes: list[tuple[str, str, tuple[str, ...]]] = []
    problems: list[str] = []
    for table, want in expected.items():
        have = actual.get(table)
        if have is None:
            problems.append(f"table {table} is missing")
            continue
        problems.extend(_table_problems(table, want, have))
        have_indexes = have.index_map()
        for index, columns in want.indexes:
            if index not in have_indexes:
                missing_indexes.append((index, table, columns))
            elif have_indexes[index] != columns:
                problems.append(
                    f"index {index} on {table} covers {have_indexes[index]}, expected {columns}"
                )
    return Comparison(tuple(missing_indexes), tuple(problems))


def _table_problems(table: str, want: TableShape, have: TableShape) -> list[str]:
    problems: list[str] = []
    if want.columns != have.columns:
        wanted = {c.name: c for c in want.columns}
        found = {c.name: c for c in have.columns}
        for name in wanted.keys() - found.keys():
            problems.append(f"column {table}.{name} is missing")
        for name in found.keys() - wanted.keys():
            problems.append(f"column {table}.{name} is not in the expected schema")
        for name in wanted.keys() & found.keys():
            if wanted[name] != found[name]:
                problems.append(f"column {table}.{name} is {found[name]}, expected {wanted[name]}")
        if not problems:
            order = [c.name for c in have.columns]
            problems.append(f"columns of {table} are in another order: {order}")
    if want.autoincrement != have.autoincrement:
        problems.append(
            f"{table} AUTOINCREMENT is {have.autoincrement}, expected {want.autoincrement}"
        )
    if want.foreign_keys != have.foreign_keys:
        problems.append(
            f"foreign keys of {table} differ: missing "
            f"{sorted(map(str, want.foreign_keys - have.foreign_keys))}, unexpected "
            f"{sorted(map(str, have.foreign_keys - want.foreign_keys))}"
        )
    if want.unique_sets != have.unique_sets:
        problems.append(
            f"unique constraints of {table} are {sorted(have.unique_sets)}, "
            f"expected {sorted(want.unique_sets)}"
        )
    return problems
