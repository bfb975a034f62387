"""What every crowd repository shares: validation, reads, writes, on the runner it is given.

A repository never opens transactions itself: it asks its runner (taskdb.connections)
for a connection, and its public methods are error boundaries (taskdb.errors.operation).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import repeat
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import Field, Strict, TypeAdapter, ValidationError
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Integer,
    Select,
    Table,
    bindparam,
    func,
    insert,
    select,
    type_coerce,
)
from sqlalchemy import Text as SaText
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.dml import UpdateBase

from taskdb.backends import backend_for
from taskdb.connections import Runner
from taskdb.crowd.fields import MAX_ID, PROVIDERS_CONTEXT, Flag, Id, Int, TaskType, Text
from taskdb.crowd.inputs import Input
from taskdb.crowd.record_builders import RowsBuilder, records_builder
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
from taskdb.prepared import Written
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


def _as_stored(column: Column[Any]) -> ColumnElement[Any]:
    """A column read as the driver gives it; the record validates what comes back.

    ``creation_date`` stays SQLite's text (servers give a datetime), and flags come as
    stored (SQLite's 0/1) rather than through SQLAlchemy's ``bool()``, which reads a
    stored 2 as True: the record refuses anything but 0, 1 and the booleans.
    """
    if column.name == "creation_date":
        return type_coerce(column, SaText).label(column.name)
    if isinstance(column.type, Boolean):
        return type_coerce(column, Integer).label(column.name)
    return column


def _checked_id(value: object) -> int:
    # Most ids come as ints: no validator call for those (every get and id filter).
    if type(value) is int and 0 <= value <= MAX_ID:
        return value
    return _ID.validator.validate_python(value)  # type: ignore[no-any-return]


def _filter_check(
    column: Column[Any], special: Mapping[str, TypeAdapter[Any]]
) -> Callable[[object], object]:
    """What validates a filter on ``column``: ``special`` by name, else by the column's kind."""
    adapter = special.get(column.name) or _FILTER_TYPES[_filter_kind(column)]
    return _checked_id if adapter is _ID else adapter.validator.validate_python


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


_MAX_ROWS = 2**63 - 1  # what a LIMIT bound as BIGINT can say on every engine
_LIMIT = TypeAdapter(Annotated[int, Strict(), Field(ge=0, le=_MAX_ROWS)])
_NO_PAGE: Mapping[str, int] = MappingProxyType({})
_BATCH = TypeAdapter(Annotated[int, Strict(), Field(gt=0, le=_MAX_ROWS)])


def _page(limit: object, after: object) -> Mapping[str, int]:
    """The bound values of a page: ``_limit`` rows at most, ids above ``_after``."""
    if limit is None and after is None:
        return _NO_PAGE
    paged: dict[str, int] = {}
    if after is not None:
        paged["_after"] = parse_id(after, "after")
    if limit is not None:
        paged["_limit"] = parse(_LIMIT, limit, "limit")
    return paged


def table_of(model: type[DeclarativeBase]) -> Table:
    """The Core table behind a mapped class, typed as one."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def parse(adapter: TypeAdapter[T], value: object, name: str) -> T:
    """Validate one argument, or raise InvalidEntry naming it and what is allowed.

    InvalidType (also a TypeError) when its type is one the argument does not take.
    """
    return _parsed(adapter.validate_python, value, name)


def parse_id(value: object, name: str) -> int:
    """An id from an int or a string of digits, or InvalidEntry (InvalidType) naming it."""
    return _parsed(_checked_id, value, name)


def _parsed(validate: Callable[[object], T], value: object, name: str) -> T:
    try:
        return validate(value)
    except ValidationError as error:
        raise refusal(
            f"{name}: {explain(error)}", error, columns=(name,), values={name: value}
        ) from error


class Repository(Generic[R]):
    """Reads and writes one table with Core statements; subclasses add the seed's operations."""

    table: ClassVar[Table]
    record: ClassVar[type[Record]]
    entity: ClassVar[str]
    # Filters validated otherwise than by their column's kind (statuses), by column name.
    filters: ClassVar[Mapping[str, TypeAdapter[Any]]] = {}
    # The name of the seed's finder for this table: count() and iterate() take its filters.
    finder: ClassVar[str] = "find"
    # Set for each table's class: its column names (the records' field order), what
    # validates a list of its rows into records, and each column's filter validator.
    _names: ClassVar[tuple[str, ...]]
    _read_records: ClassVar[Callable[[list[dict[str, Any]]], Any]]
    _build_records: ClassVar[RowsBuilder | None]
    _filter_checks: ClassVar[Mapping[str, Callable[[object], object]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "table" in cls.__dict__:
            ENTITIES[cls.table.name] = cls.entity
        if {"table", "record", "filters"} & cls.__dict__.keys() and hasattr(cls, "table"):
            # What every read of the table looks up, settled once per class.
            cls._names = tuple(cls.table.columns.keys())
            if hasattr(cls, "record") and cls._names != tuple(cls.record.model_fields):
                # A model changed without its record: say so now, not at the first read.
                raise TypeError(
                    f"{cls.record.__name__} has the fields {list(cls.record.model_fields)}, "
                    f"but {cls.table.name} has the columns {list(cls._names)}: a record "
                    "lists its table's columns, in their order (taskdb.crowd.records)"
                )
            cls._read_records = TypeAdapter(list[cls.record]).validator.validate_python  # type: ignore[name-defined]
            cls._build_records = records_builder(cls.record)
            cls._filter_checks = {
                column.name: _filter_check(column, cls.filters) for column in cls.table.columns
            }

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
        return select(*map(_as_stored, cls.table.columns)).order_by(cls.key())

    def _statement(self, shape: tuple[object, ...], build: Callable[[], T]) -> T:
        """The statement of this table and ``shape``, built once and reused."""
        return cached((self.table, *shape), build)

    def _by_id(self) -> Select[Any]:
        return self._statement(
            ("get",), lambda: self._selection().where(self.key() == bindparam("entry_id"))
        )

    def _records(self, rows: Sequence[Sequence[Any]]) -> list[R]:
        # Rows come in column order, which is the records' field order (tested in tests/unit).
        build = type(self)._build_records
        if build is not None:
            built = build(rows)
            if built is not None:  # every value already of its field's type
                return built
        names = self._names
        try:
            # One validator call for the whole list, its dicts built without a Python loop.
            records: list[R] = type(self)._read_records(
                list(map(dict, map(zip, repeat(names), rows)))
            )
        except ValidationError as error:
            # A stored row that does not fit its record: the database's fault, not the caller's.
            raise self._unreadable(names, rows, error) from error
        return records

    def _unreadable(
        self, names: tuple[str, ...], rows: Sequence[Sequence[Any]], error: ValidationError
    ) -> DatabaseError:
        """Name the first row that does not fit the record, and why."""
        key = self.key().name
        found: object = None
        for row in rows:
            values = dict(zip(names, row, strict=True))
            try:
                self.record.model_validate(values)
            except ValidationError as refused:
                found, error = values.get(key), refused
                break
        return DatabaseError(
            f"{self.table.name} row {key}={found!r} holds values taskdb cannot read: "
            f"{explain(error)}"
        )

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
        rows = self._records(self._runner.rows(self._by_id(), {"entry_id": wanted}))
        if not rows:
            raise self._missing(wanted)
        return rows[0]

    def _find(self, *, limit: object = None, after: object = None, **filters: object) -> list[R]:
        """Rows matching every filter that is not None, in id order, optionally one page."""
        wanted = self._filter_values(filters)
        names = tuple(wanted)
        paged = _page(limit, after)
        statement = self._statement(
            ("find", *names, *paged), lambda: self._paged(self._selection(), names, paged)
        )
        return self._records(self._runner.rows(statement, {**wanted, **paged} if paged else wanted))

    def _paged(
        self, selection: Select[Any], names: tuple[str, ...], paged: Mapping[str, int]
    ) -> Select[Any]:
        columns = self.table.columns
        selection = selection.where(*(columns[name] == bindparam(name) for name in names))
        if "_after" in paged:
            selection = selection.where(self.key() > bindparam("_after"))
        if "_limit" in paged:
            # BigInteger: PostgreSQL would read an Integer parameter as int4.
            selection = selection.limit(bindparam("_limit", type_=BigInteger))
        return selection

    def _filter_values(self, filters: Mapping[str, object]) -> dict[str, object]:
        """The filters that are not None, validated by their column's kind."""
        checks = self._filter_checks
        wanted: dict[str, object] = {}
        for name, value in filters.items():
            if value is None:
                continue
            try:
                wanted[name] = checks[name](value)
            except ValidationError as error:
                raise refusal(
                    f"filter {name}: {explain(error)}",
                    error,
                    columns=(name,),
                    values={name: value},
                ) from error
        return wanted

    @classmethod
    def _filter_names(cls) -> frozenset[str]:
        """The filters of this repository's finder (``find``, or the seed's name for it)."""

        def names() -> frozenset[str]:
            finder = inspect.signature(getattr(cls, cls.finder))
            return frozenset(finder.parameters) - {"self", "limit", "after"}

        return cached((cls.table, "filters"), names)

    def _named_filters(self, filters: Mapping[str, object]) -> dict[str, object]:
        unknown = sorted(set(filters) - self._filter_names())
        if unknown:
            # Worded as Python's own TypeError for an unknown keyword of find().
            raise InvalidType(
                f"got an unexpected keyword argument {unknown[0]!r}: the filters of "
                f"{self.finder}() are {', '.join(sorted(self._filter_names()))}"
            )
        return self._filter_values(filters)

    @operation("counting {entity}s")
    def count(self, **filters: Any) -> int:
        """How many entries match every filter that is not None.

        ``filters`` are those of the repository's finder (``find``; ``check`` for grants).

        Returns:
            The number of matching entries (0 if none matches).

        Raises:
            InvalidType: a filter the finder does not have, or of a type it does not take.
            InvalidEntry: a filter has a value no entry can have.
            DatabaseError: the database failed.
        """
        wanted = self._named_filters(filters)
        names = tuple(wanted)
        statement = self._statement(
            ("count", *names),
            lambda: (
                select(func.count())
                .select_from(self.table)
                .where(*(self.table.columns[name] == bindparam(name) for name in names))
            ),
        )
        ((counted,),) = self._runner.rows(statement, wanted)
        return int(counted)

    @operation("iterating over {entity}s")
    def iterate(self, *, batch: int = 1000, **filters: Any) -> Iterator[R]:
        """Every entry matching the filters, in id order, read ``batch`` rows at a time.

        Memory stays at one batch of records however many match. Each batch is a query
        of its own (ids above the last one seen), so no read stays open between them:
        entries committed meanwhile with higher ids are included, removed ones skipped.
        ``filters`` are those of the repository's finder.

        Returns:
            An iterator of records; arguments are checked before it is returned.

        Raises:
            InvalidType: a filter the finder does not have, or of a type it does not take.
            InvalidEntry: ``batch`` is not a whole number above 0, or a filter has a value
                no entry can have.
            DatabaseError: the database failed, or a row holds values taskdb cannot read
                (raised while iterating).
        """
        size = parse(_BATCH, batch, "batch")
        wanted = self._named_filters(filters)
        return self._batches(size, wanted)

    def _batches(self, size: int, wanted: dict[str, object]) -> Iterator[R]:
        after: int | None = None
        while True:
            page = self._page_of(size, after, wanted)
            yield from page
            if len(page) < size:
                return
            after = getattr(page[-1], self.key().name)

    @operation("iterating over {entity}s")
    def _page_of(self, size: int, after: int | None, wanted: dict[str, object]) -> list[R]:
        return self._find(limit=size, after=after, **wanted)

    def _write(
        self,
        connection: Connection,
        statement: UpdateBase,
        parameters: Mapping[str, Any],
        rows: list[Mapping[str, Any]] | None = None,
        table: Table | None = None,
    ) -> Written:
        """Execute a write of one row (``rows``, by default the parameters) to ``table``.

        A constraint it breaks is described for the error: table (by default ours),
        constraint, columns, values, and the missing entry of a dangling reference.
        """
        try:
            return self._runner.execute(connection, statement, parameters)
        except sa_exc.DBAPIError as error:
            self._describe(connection, error, [parameters] if rows is None else rows, table)
            raise

    def _write_many(
        self, connection: Connection, statement: UpdateBase, rows: list[dict[str, Any]]
    ) -> CursorResult[Any]:
        """Execute a write of several rows to our table, described as :meth:`_write` does."""
        try:
            return connection.execute(statement, rows)
        except sa_exc.DBAPIError as error:
            self._describe(connection, error, rows, None)
            raise

    def _describe(
        self,
        connection: Connection,
        error: sa_exc.DBAPIError,
        rows: Sequence[Mapping[str, Any]],
        table: Table | None,
    ) -> None:
        detail = describe(connection, error, self.table if table is None else table, rows)
        if detail is not None:
            annotate(error, detail)

    def _insert(self, connection: Connection, values: Mapping[str, Any]) -> int:
        statement = self._statement(("insert",), lambda: insert(self.table))
        written = self._write(connection, statement, values)
        if isinstance(written, CursorResult):
            key = written.inserted_primary_key
            assert key is not None
            return int(key[0])
        # The driver's cursor: SQLite's rowid, which is the integer primary key.
        assert written.lastrowid is not None
        return written.lastrowid

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
                result = self._write_many(connection, statement, rows[start : start + BULK_CHUNK])
                ids.extend(int(value) for value in result.scalars())
            return ids

    def _insert_many_counted(self, connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
        # One executemany: SQLite cannot order RETURNING rows, so SQLAlchemy would send one
        # INSERT per row. Under the write lock AUTOINCREMENT hands out consecutive ids.
        statement = self._statement(("insert",), lambda: insert(self.table))
        self._write_many(connection, statement, rows)
        last = int(connection.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
        return list(range(last - len(rows) + 1, last + 1))

    def _change(self, entry_id: IdLike, change: Input) -> None:
        """Apply the given fields of a validated change to one row."""
        wanted = parse_id(entry_id, self.key().name)
        with self._runner.writing(one_write=True) as connection:
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
