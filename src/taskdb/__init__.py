"""taskdb: one SQLAlchemy + Alembic data layer for crowd data and quantum task records."""

from taskdb.errors import (
    DatabaseBehind,
    DatabaseError,
    DatabaseMismatch,
    DatabaseTooNew,
    EntryAlreadyExists,
    EntryDoesNotExist,
    EntryError,
    ForeignDatabase,
    InvalidEntry,
    SchemaMismatch,
    TaskdbError,
)

__version__ = "0.1.0"

__all__ = [
    "DatabaseBehind",
    "DatabaseError",
    "DatabaseMismatch",
    "DatabaseTooNew",
    "EntryAlreadyExists",
    "EntryDoesNotExist",
    "EntryError",
    "ForeignDatabase",
    "InvalidEntry",
    "SchemaMismatch",
    "TaskdbError",
    "__version__",
]
