"""Autogenerate as maintainers run it: numbered files, working imports, seed tables kept exact.

Hooks the Alembic environment passes to ``context.configure``:

* ``process_revision_directives`` names a new revision ``<store>_NNNN`` (an explicit
  ``--rev-id`` is kept) and makes the batch operations on seed tables rebuild them
  with the seed's SQLite DDL (AUTOINCREMENT, keys without NOT NULL);
* ``render_item`` writes taskdb's column types so the revision imports what it uses;
* ``include_object`` compares only what the models declare, and treats a seed file's
  unnamed UNIQUE constraint as the named one the models have.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from alembic.autogenerate import render
from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Float, MetaData, Table, Text, UniqueConstraint
from sqlalchemy.dialects import mysql

from taskdb.backends import MYSQL, SQLITE
from taskdb.schema import SEED_DDL, KeyText
from taskdb.spec import StoreSpec

# Columns a revision adds only on server engines (SQLite has its rowid); models omit them.
SERVER_ONLY_COLUMNS = frozenset({"insert_seq"})
# What Alembic makes up when no --rev-id is given.
_RANDOM_REV_ID = re.compile(r"[0-9a-f]{12}")


def next_revision_id(script: ScriptDirectory, store: str, after: int = 0) -> str:
    """``<store>_NNNN``, one past the highest number in the history (and past ``after``)."""
    pattern = re.compile(rf"{re.escape(store)}_(\d{{4}})")
    numbers = [
        int(found.group(1))
        for revision in script.walk_revisions()
        if (found := pattern.fullmatch(revision.revision))
    ]
    return f"{store}_{max([after, *numbers]) + 1:04d}"


def revision_directives(spec: StoreSpec, metadata: MetaData) -> Callable[..., None]:
    """Number each new revision and mark the changes to seed tables."""

    def process(context: MigrationContext, _revision: object, directives: list[Any]) -> None:
        assert context.script is not None
        after = 0
        for script in directives:
            if script.rev_id is None or _RANDOM_REV_ID.fullmatch(script.rev_id):
                script.rev_id = next_revision_id(context.script, spec.name, after)
                after = int(script.rev_id.rsplit("_", 1)[1])
            for operations in (*script.upgrade_ops_list, *script.downgrade_ops_list):
                operations.ops = [_seed_table_ops(op, metadata) for op in operations.ops]

    return process


class SeedTableOps(ops.ModifyTableOps):
    """Changes to a table whose SQLite DDL follows the seed's: a rebuild must keep it."""

    def __init__(self, original: ops.ModifyTableOps, table_kwargs: str) -> None:
        super().__init__(original.table_name, original.ops, schema=original.schema)
        self.table_kwargs = table_kwargs


def _seed_table_ops(op: ops.MigrateOperation, metadata: MetaData) -> ops.MigrateOperation:
    if not isinstance(op, ops.ModifyTableOps):
        return op
    table = metadata.tables.get(op.table_name)
    if table is None or not table.info.get(SEED_DDL):
        return op
    autoincrement = '"sqlite_autoincrement": True, ' if _autoincrement(table) else ""
    return SeedTableOps(op, f'{{{autoincrement}"info": {{SEED_DDL: True}}}}')


def _autoincrement(table: Table) -> bool:
    return bool(table.dialect_options[SQLITE.family].get("autoincrement"))


@render.renderers.dispatch_for(SeedTableOps)
def _render_seed_table(context: AutogenContext, op: SeedTableOps) -> list[str]:
    lines: list[str] = render._render_modify_table(context, op)
    if lines and lines[0].startswith("with op.batch_alter_table("):
        # A SQLite rebuild makes the table from these arguments, not from the old DDL.
        assert context.imports is not None
        context.imports.add("from taskdb.schema import SEED_DDL")
        lines[0] = lines[0].replace(
            ") as batch_op:", f", table_kwargs={op.table_kwargs}) as batch_op:"
        )
    return lines


def render_item(type_: str, obj: Any, context: AutogenContext) -> str | Literal[False]:
    """Render taskdb's column types so generated revisions import what they use."""
    if type_ != "type":
        return False
    imports = context.imports
    assert imports is not None
    if isinstance(obj, KeyText):
        # Its MySQL collation depends on the server (MariaDB or MySQL), not on the URL's
        # dialect name, so no with_variant() can say it: revisions use the type itself.
        imports.add("from taskdb.schema import KeyText")
        return "KeyText()"
    variants = getattr(obj, "_variant_mapping", None) or {}
    if set(variants) == set(MYSQL.dialects):
        on_mysql = variants[MYSQL.dialects[0]]
        if isinstance(obj, Text) and isinstance(on_mysql, mysql.LONGTEXT):
            imports.add("from sqlalchemy.dialects import mysql")
            return 'sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")'
        if isinstance(obj, Float) and isinstance(on_mysql, mysql.DOUBLE):
            imports.add("from sqlalchemy.dialects import mysql")
            return 'sa.Float().with_variant(mysql.DOUBLE(asdecimal=False), "mysql", "mariadb")'
    return False


def include_name(metadata: MetaData) -> Callable[[str | None, str, object], bool]:
    """Compare only this store's tables: a shared server database may hold anything else."""

    def include(name: str | None, type_: str, _parents: object) -> bool:
        return type_ != "table" or name in metadata.tables

    return include


def include_object() -> Callable[..., bool]:
    """One autogenerate run's object filter (it remembers the reflected tables it is shown)."""
    reflected_tables: dict[str, Table] = {}

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table" and isinstance(compare_to, Table):
            # Shown before the table's columns and constraints are compared.
            reflected_tables[compare_to.name] = compare_to
        if type_ == "unique_constraint" and not reflected and compare_to is None:
            return not _has_unnamed_twin(obj, reflected_tables.get(obj.table.name))
        if not reflected:
            return True
        if type_ == "column":
            return name not in SERVER_ONLY_COLUMNS
        if type_ in ("index", "unique_constraint"):
            return not {column.name for column in obj.columns} & SERVER_ONLY_COLUMNS
        return True

    return include


def _has_unnamed_twin(constraint: UniqueConstraint, reflected: Table | None) -> bool:
    """The database has this unique constraint without a name (seed DDL: ``name TEXT UNIQUE``).

    Autogenerate matches named model constraints by name only, so it would add it again.
    """
    if reflected is None:
        return False
    columns = [column.name for column in constraint.columns]
    return any(
        isinstance(found, UniqueConstraint)
        and found.name is None
        and [column.name for column in found.columns] == columns
        for found in reflected.constraints
    )
