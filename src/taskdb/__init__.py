"""taskdb: one SQLAlchemy + Alembic data layer for crowd data and quantum task records."""

from importlib.metadata import PackageNotFoundError, version

from taskdb.errors import (
    DamagedDatabase,
    DatabaseBehind,
    DatabaseError,
    DatabaseMismatch,
    DatabaseTooNew,
    EntryAlreadyExists,
    EntryDoesNotExist,
    EntryError,
    ForeignDatabase,
    InvalidEntry,
    InvalidType,
    SchemaMismatch,
    TaskdbError,
)

try:
    __version__ = version("taskdb")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "DamagedDatabase",
    "DatabaseBehind",
    "DatabaseError",
    "DatabaseMismatch",
    "DatabaseTooNew",
    "EntryAlreadyExists",
    "EntryDoesNotExist",
    "EntryError",
    "ForeignDatabase",
    "InvalidEntry",
    "InvalidType",
    "SchemaMismatch",
    "TaskdbError",
    "__version__",
]
