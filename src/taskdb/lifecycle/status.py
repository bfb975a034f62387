"""The one classifier of a database: fresh, current, behind, ahead, legacy, foreign or mismatch.

Used by every path that opens a database: the stores, the ``taskdb`` command and
the Alembic environment behind the shell's ``alembic``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from taskdb.backends import READ_ONLY, backend_for
from taskdb.driver_errors import reports_damage
from taskdb.engine import Database, public_url
from taskdb.errors import DatabaseError, DatabaseTooNew, ForeignDatabase, SchemaMismatch, translated
from taskdb.files import carries_tag, damaged
from taskdb.lifecycle.history import head_revision, is_known
from taskdb.lifecycle.layout import Layout, layout_changes, likely_writer
from taskdb.spec import StoreSpec


class State(StrEnum):
    FRESH = "fresh"  # nothing of this store yet
    CURRENT = "current"  # at this taskdb's head revision
    BEHIND = "behind"  # at an older revision this taskdb knows
    AHEAD = "ahead"  # at a revision this taskdb does not know: written by a newer taskdb
    LEGACY = "legacy"  # made by the seed code: tables present, no version table
    FOREIGN = "foreign"  # another application's file, or not SQLite at all
    # At a revision this taskdb knows, but its tables, columns or SQLite user_version are
    # not that revision's: another program changed the schema (UnifiedQuantum migrates
    # quantum files it opens).
    MISMATCH = "mismatch"


# States no command of this taskdb can use or bring to head.
REFUSED = frozenset({State.FOREIGN, State.AHEAD, State.MISMATCH})


@dataclass(frozen=True)
class DatabaseStatus:
    store: str
    url: str
    state: State
    revision: str | None
    head: str
    application_id: int | None
    detail: str = ""


def read_status(engine: Engine, spec: StoreSpec) -> DatabaseStatus:
    """Classify the database without writing to it."""
    return status_of(Database.of(engine, spec))


def status_of(database: Database) -> DatabaseStatus:
    """Classify an opened database without writing to it."""
    spec = database.spec
    if database.file is not None and not database.file.exists():
        # Connecting would create the file: a missing file is fresh, and stays missing.
        head = head_revision(spec)
        return DatabaseStatus(spec.name, database.url, State.FRESH, None, head, None, "no file yet")
    try:
        with translated(f"reading the {spec.name} database"), database.engine.connect() as opened:
            return classify(opened.execution_options(**{READ_ONLY: True}), spec)
    except DatabaseError as failed:
        file = database.file
        if file is not None and reports_damage(failed) and carries_tag(file, spec):
            reported = getattr(failed.__cause__, "orig", failed.__cause__)
            raise damaged(file, f"SQLite reports: {reported}") from failed
        if not isinstance(failed, ForeignDatabase):
            raise
        refused = failed
        head = head_revision(spec)
        return DatabaseStatus(
            spec.name, database.url, State.FOREIGN, None, head, None, str(refused)
        )


def classify(connection: Connection, spec: StoreSpec) -> DatabaseStatus:
    """The state of the database behind ``connection``, read without writing."""
    url = public_url(connection.engine)
    head = head_revision(spec)
    backend = backend_for(connection)
    embedded = backend.embedded
    application_id: int | None = None
    user_version: int | None = None
    if embedded:
        header = connection.exec_driver_sql(
            "SELECT a.application_id, u.user_version"
            " FROM pragma_application_id() AS a, pragma_user_version() AS u"
        ).one()
        application_id, user_version = int(header[0]), int(header[1])

    def status(state: State, revision: str | None = None, detail: str = "") -> DatabaseStatus:
        return DatabaseStatus(spec.name, url, state, revision, head, application_id, detail)

    # On SQLite every table (what else the file holds matters); on a server, the store's.
    found = Layout(
        backend.table_columns(connection, None if embedded else _own_tables(spec)), user_version
    )
    tables = set(found.tables)
    if spec.version_table in tables:
        revisions = MigrationContext.configure(
            connection, opts={"version_table": spec.version_table}
        ).get_current_heads()
        if not revisions:
            return status(State.FRESH)
        revision = revisions[0]
        if not is_known(spec, revision):
            return status(State.AHEAD, revision, f"revision {revision} is unknown to this taskdb")
        changes = layout_changes(spec, revision, found)
        if changes:
            return status(
                State.MISMATCH,
                revision,
                f"{url} is at revision {revision} of the {spec.name} store, but its schema is "
                f"not that revision's: {'; '.join(changes)}. Likely changed by "
                f"{likely_writer(spec, found)}. taskdb refuses it and left it untouched",
            )
        return status(State.CURRENT if revision == head else State.BEHIND, revision)
    if tables & set(spec.tables):
        return status(State.LEGACY, detail="tables of the seed code, no version table")
    if embedded and tables:
        others = ", ".join(sorted(tables))
        return status(
            State.FOREIGN,
            detail=f"{url} holds tables of another application ({others}) and none of the "
            f"{spec.name} store's; taskdb refuses it and left it untouched",
        )
    return status(State.FRESH)


def _own_tables(spec: StoreSpec) -> tuple[str, ...]:
    return (*spec.tables, spec.version_table)


def refuse_unusable(status: DatabaseStatus, spec: StoreSpec, embedded: bool) -> None:
    """Raise for a database no command of this taskdb can bring to head."""
    if status.state is State.MISMATCH:
        raise SchemaMismatch(status.detail)
    if status.state is State.FOREIGN:
        raise ForeignDatabase(
            status.detail or f"{status.url} does not belong to the {spec.name} store"
        )
    if status.state is State.AHEAD:
        raise DatabaseTooNew(
            f"{status.url} is at revision {status.revision}, written by a newer taskdb "
            f"(this one knows up to {status.head}); upgrade taskdb to open it"
        )
    if status.state is State.LEGACY and not embedded:
        raise SchemaMismatch(
            f"{status.url} holds {spec.name} tables but no taskdb version table; taskdb adopts "
            "only SQLite files made by the seed code. Create the schema in an empty database "
            f"(`taskdb upgrade --store {spec.name} --url ...`) and move the rows with "
            "`taskdb copy`"
        )
