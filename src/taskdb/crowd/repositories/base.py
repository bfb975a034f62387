"""What every crowd repository shares: validation, reads, writes, on the runner it is given.

A repository never opens transactions itself: it asks its runner (taskdb.connections)
for a connection, and its public methods are error boundaries (taskdb.errors.operation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import (
    Boolean,
    Column,
    Executable,
    Integer,
    Select,
    Table,
    bindparam,
    insert,
    select,
    type_coerce,
)
from sqlalchemy import Text as SaText
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import DeclarativeBase

from taskdb.backends import backend_for
from taskdb.connections import Runner
from taskdb.crowd.fields import PROVIDERS_CONTEXT, Flag, Id, Int, TaskType, Text
from taskdb.crowd.inputs import Input
from taskdb.crowd.records import Record
from taskdb.crowd.repositories.violations import ENTITIES, describe
from taskdb.crowd.vocab import ProviderRegistry
from taskdb.driver_errors import annotate
from taskdb.errors import (
    DatabaseError,
    EntryDoesNotExist,
    InvalidType,
    explain,
    operation,
    refusal,
)
from taskdb.statements import cached

T = TypeVar("T")
R = TypeVar("R", bound=Record)
I = TypeVar("I", bound=Input)  # noqa: E741

# Rows per INSERT statement in bulk creates; SQLAlchemy pages further under each driver's limit.
BULK_CHUNK = 500
IdLike = int | str


# Filter value types, chosen from the column: ids and flags accept what callers pass.
_ID = TypeAdapter(Id)
_FILTER_TYPES: dict[str, TypeAdapter[Any]] = {
    "id": _ID,
    "task_type": TypeAdapter(TaskType),
    "flag": TypeAdapter(Flag),
    "int": TypeAdapter(Int),
    "text": TypeAdapter(Text),
}


def _filter_kind(column: Column[Any]) -> str:
    if column.name.endswith("_id"):
        return "id"
    if column.name == "task_type":
        return "task_type"
    if isinstance(column.type, Boolean):
        return "flag"
    if isinstance(column.type, Integer):
        return "int"
    return "text"


def table_of(model: type[DeclarativeBase]) -> Table:
    """The Core table behind a mapped class, typed as one."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def parse(adapter: TypeAdapter[T], value: object, name: str) -> T:
    """Validate one argument, or raise InvalidEntry naming it and what is allowed.

    InvalidType (also a TypeError) when its type is one the argument does not take.
    """
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        raise refusal(
            f"{name}: {explain(error)}", error, columns=(name,), values={name: value}
        ) from error


def parse_id(value: object, name: str) -> int:
    """An id from an int or a string of digits, or InvalidEntry (InvalidType) naming it."""
    return parse(_ID, value, name)


class Repository(Generic[R]):
    """Reads and writes one table with Core statements; subclasses add the seed's operations."""

    table: ClassVar[Table]
    record: ClassVar[type[Record]]
    entity: ClassVar[str]
    # Filters validated otherwise than by their column's kind (statuses), by column name.
    filters: ClassVar[Mapping[str, TypeAdapter[Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "table" in cls.__dict__:
            ENTITIES[cls.table.name] = cls.entity

    def __init__(self, runner: Runner, providers: ProviderRegistry) -> None:
        self._runner = runner
        self._providers = providers

    @classmethod
    def key(cls) -> Column[Any]:
        """The primary key column of this repository's table.

        Returns:
            The SQLAlchemy ``Column`` (``units.unit_id`` for units).

        Raises:
            Nothing: it reads the table's definition only.
        """
        (primary,) = cls.table.primary_key.columns
        return primary

    def _missing(self, entry_id: int) -> EntryDoesNotExist:
        key = self.key().name
        return EntryDoesNotExist(
            f"no {self.entity} has {key} {entry_id}",
            table=self.table.name,
            columns=(key,),
            values={key: entry_id},
        )

    @classmethod
    def _selection(cls) -> Select[Any]:
        # creation_date is read as stored: SQLite text stays text, servers give a datetime.
        columns = [
            type_coerce(column, SaText).label(column.name)
            if column.name == "creation_date"
            else column
            for column in cls.table.columns
        ]
        return select(*columns).order_by(cls.key())

    def _statement(self, shape: tuple[object, ...], build: Callable[[], T]) -> T:
        """The statement of this table and ``shape``, built once and reused."""
        return cached((self.table, *shape), build)

    def _by_id(self) -> Select[Any]:
        return self._statement(
            ("get",), lambda: self._selection().where(self.key() == bindparam("entry_id"))
        )

    def _records(self, result: Iterable[Any]) -> list[R]:
        record: Any = self.record
        records: list[R] = []
        for row in result:
            values = dict(row._mapping)
            try:
                records.append(record.model_validate(values))
            except ValidationError as error:
                # A stored row that does not fit its record: the database's fault, not the caller's.
                key = self.key().name
                raise DatabaseError(
                    f"{self.table.name} row {key}={values.get(key)!r} holds values taskdb "
                    f"cannot read: {explain(error)}"
                ) from error
        return records

    def _validated(self, model: type[I], values: Mapping[str, Any]) -> I:
        """Validate a call's arguments with ``model``; they must name every one of its fields."""
        if values.keys() != model.model_fields.keys():
            # A programming error: the method and its input model drifted apart.
            raise TypeError(
                f"{model.__name__} takes {sorted(model.model_fields)}, given {sorted(values)}"
            )
        return model.model_validate(values, context={PROVIDERS_CONTEXT: self._providers})

    def _validated_many(
        self, model: type[I], items: Iterable[Mapping[str, Any] | Input], argument: str
    ) -> list[I]:
        if isinstance(items, str | bytes | Mapping | Input) or not isinstance(items, Iterable):
            raise InvalidType(
                f"{argument}: expected a list of {model.__name__} or mappings, got {items!r}"
            )
        raw = [item.model_dump() if isinstance(item, Input) else item for item in items]
        adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
        validated: list[I] = adapter.validate_python(
            raw, context={PROVIDERS_CONTEXT: self._providers}
        )
        return validated

    def _fetch(self, connection: Connection, entry_id: int) -> R:
        rows = self._records(connection.execute(self._by_id(), {"entry_id": entry_id}))
        if not rows:
            raise self._missing(entry_id)
        return rows[0]

    @operation("getting {entity}")
    def get(self, entry_id: IdLike) -> R:
        """The entry with this id (an int or a string of digits).

        Returns:
            Its record.

        Raises:
            EntryDoesNotExist: no entry has this id.
            InvalidType: ``entry_id`` is neither an int nor a string (also a ``TypeError``).
            InvalidEntry: ``entry_id`` is not an id (``"abc"``, out of range).
            DatabaseError: the database failed, or the row holds values taskdb cannot read.
        """
        wanted = parse_id(entry_id, self.key().name)
        with self._runner.reading() as connection:
            return self._fetch(connection, wanted)

    def _find(self, **filters: object) -> list[R]:
        """Rows matching every filter that is not None, in id order."""
        wanted: dict[str, object] = {}
        for name, value in filters.items():
            if value is None:
                continue
            column = self.table.columns[name]
            adapter = self.filters.get(name) or _FILTER_TYPES[_filter_kind(column)]
            try:
                wanted[name] = adapter.validate_python(value)
            except ValidationError as error:
                raise refusal(
                    f"filter {name}: {explain(error)}",
                    error,
                    columns=(name,),
                    values={name: value},
                ) from error
        names = tuple(wanted)
        statement = self._statement(
            ("find", *names),
            lambda: self._selection().where(
                *(self.table.columns[name] == bindparam(name) for name in names)
            ),
        )
        with self._runner.reading() as connection:
            return self._records(connection.execute(statement, wanted))

    def _write(
        self,
        connection: Connection,
        statement: Executable,
        parameters: Mapping[str, Any] | list[dict[str, Any]],
        rows: list[Mapping[str, Any]] | None = None,
        table: Table | None = None,
    ) -> CursorResult[Any]:
        """Execute a write of ``rows`` (by default the parameters) to ``table`` (by default ours).

        A constraint it breaks is described for the error: table, constraint, columns,
        values, and the missing entry of a dangling reference.
        """
        try:
            return connection.execute(statement, parameters)
        except sa_exc.DBAPIError as error:
            if rows is None:
                rows = list(parameters) if isinstance(parameters, list) else [parameters]
            detail = describe(connection, error, self.table if table is None else table, rows)
            if detail is not None:
                annotate(error, detail)
            raise

    def _insert(self, connection: Connection, values: Mapping[str, Any]) -> int:
        statement = self._statement(("insert",), lambda: insert(self.table))
        key = self._write(connection, statement, dict(values)).inserted_primary_key
        assert key is not None
        return int(key[0])

    def _create_many(
        self,
        model: type[I],
        items: Iterable[Mapping[str, Any] | Input],
        argument: str,
        fixed: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """Validate every item with ``model``, then insert them all (with ``fixed`` values)."""
        validated = self._validated_many(model, items, argument)
        return self._insert_many([{**item.model_dump(), **(fixed or {})} for item in validated])

    def _insert_many(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert rows in one transaction; ids come back in the order the rows were given."""
        if not rows:
            return []
        with self._runner.writing() as connection:
            if not backend_for(connection).returns_ids_in_order:
                return self._insert_many_counted(connection, rows)
            statement = self._statement(
                ("insert_returning",),
                lambda: insert(self.table).returning(self.key(), sort_by_parameter_order=True),
            )
            ids: list[int] = []
            for start in range(0, len(rows), BULK_CHUNK):
                result = self._write(connection, statement, rows[start : start + BULK_CHUNK])
                ids.extend(int(value) for value in result.scalars())
            return ids

    def _insert_many_counted(self, connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
        # One executemany: SQLite cannot order RETURNING rows, so SQLAlchemy would send one
        # INSERT per row. Under the write lock AUTOINCREMENT hands out consecutive ids.
        self._write(connection, self._statement(("insert",), lambda: insert(self.table)), rows)
        last = int(connection.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
        return list(range(last - len(rows) + 1, last + 1))

    def _change(self, entry_id: IdLike, change: Input) -> None:
        """Apply the given fields of a validated change to one row."""
        wanted = parse_id(entry_id, self.key().name)
        with self._runner.writing() as connection:
            self._update(connection, wanted, change.model_dump(exclude_none=True))

    def _update(self, connection: Connection, entry_id: int, values: Mapping[str, Any]) -> None:
        """Update one row; a missing id is EntryDoesNotExist."""
        names = tuple(sorted(values))
        statement = self._statement(
            ("update", *names),
            lambda: (
                self.table.update()
                .where(self.key() == bindparam("_entry_id"))
                .values({name: bindparam(f"_set_{name}") for name in names})
            ),
        )
        parameters = {f"_set_{name}": value for name, value in values.items()}
        result = self._write(connection, statement, {"_entry_id": entry_id, **parameters}, [values])
        if result.rowcount != 1:
            raise self._missing(entry_id)
