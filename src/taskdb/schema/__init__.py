"""Schema pieces shared by models and revisions: names, types, seed DDL, SQLite shapes.

Revisions import the column types from here (``from taskdb.schema import KeyText``), so
this path stays stable whatever moves inside the package.
"""

from taskdb.schema.seed_ddl import SEED_DDL, primary_keys_reflected_not_null
from taskdb.schema.types import NAMING_CONVENTION, Double, KeyText, LongText, new_metadata

__all__ = [
    "NAMING_CONVENTION",
    "SEED_DDL",
    "Double",
    "KeyText",
    "LongText",
    "new_metadata",
    "primary_keys_reflected_not_null",
]
