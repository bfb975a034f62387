"""A SQLite database as a file: its header, read before SQLite opens it, and its backups' names.

Reading the header ourselves lets taskdb refuse someone else's file, or a damaged
one, exactly as it found it: SQLite itself could create -wal/-shm siblings or
checkpoint a foreign WAL on close.
"""

from __future__ import annotations

from pathlib import Path

from taskdb.errors import DamagedDatabase, DatabaseError, ForeignDatabase
from taskdb.spec import StoreSpec

SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_BYTES = 100


def prepare_sqlite_file(path: Path, spec: StoreSpec) -> None:
    """Before SQLite opens ``path``: refuse a foreign or damaged file by its header."""
    try:
        with path.open("rb") as handle:
            header = handle.read(HEADER_BYTES)
            size = handle.seek(0, 2)
    except FileNotFoundError:
        header, size = b"", 0
    except OSError as error:
        raise DatabaseError(f"cannot read {path}: {error}") from error
    if header and not header.startswith(SQLITE_MAGIC):
        raise ForeignDatabase(f"{path} is not a SQLite database; taskdb left it untouched")
    if header and len(header) < HEADER_BYTES:
        raise damaged(path, f"it ends after {size} bytes, inside the SQLite header")
    if header:
        tag = int.from_bytes(header[68:72], "big")
        refuse_foreign_tag(tag, spec, str(path))
        expected = _size_in_header(header)
        short = expected is not None and size < expected
        if tag == spec.application_id and short and not _wal_has_frames(path):
            raise damaged(path, f"it is truncated: {size} of its {expected} bytes are there")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseError(f"cannot create the folder for {path}: {error}") from error


def _wal_has_frames(path: Path) -> bool:
    """Whether the -wal beside the file holds live frames: then a short file is not damage.

    A checkpoint writes page 1 (with the new page count) before the pages after it,
    and one cut short by a killed process is finished from the WAL on the next open:
    while the WAL holds frames, the file may be shorter than its header says. A frame
    is live when it carries the salts of the WAL's header (stale frames of an earlier
    generation, or a file that is no WAL, do not count).
    """
    try:
        with Path(f"{path}-wal").open("rb") as handle:
            start = handle.read(_WAL_HEADER_BYTES + _WAL_FRAME_HEADER_BYTES)
    except OSError:
        return False
    if len(start) < _WAL_HEADER_BYTES + _WAL_FRAME_HEADER_BYTES:
        return False
    if start[:4] not in _WAL_MAGIC:
        return False
    salts = start[16:24]
    frame = start[_WAL_HEADER_BYTES:]
    return frame[8:16] == salts


# The WAL's layout (sqlite.org/fileformat2.html#walformat): a 32-byte header with its
# salts at bytes 16-24, then frames, each with a 24-byte header repeating the salts.
_WAL_MAGIC = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")
_WAL_HEADER_BYTES = 32
_WAL_FRAME_HEADER_BYTES = 24


def carries_tag(path: Path, spec: StoreSpec) -> bool:
    """Whether the file's header carries the store's application_id (taskdb or the seed's)."""
    try:
        with path.open("rb") as handle:
            header = handle.read(HEADER_BYTES)
    except OSError:
        return False
    return len(header) == HEADER_BYTES and header[68:72] == spec.application_id.to_bytes(4, "big")


def _size_in_header(header: bytes) -> int | None:
    """The file size the header promises, when SQLite keeps that field valid."""
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65_536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count is valid only when written by the same change as the counter.
    if pages == 0 or header[92:96] != header[24:28]:
        return None
    return page_size * pages


def refuse_foreign_tag(found: int, spec: StoreSpec, where: str) -> None:
    if found not in (0, spec.application_id):
        raise ForeignDatabase(
            f"{where} has application_id 0x{found:08x}, but the {spec.name} store uses "
            f"0x{spec.application_id:08x}: it belongs to another application, "
            "so taskdb refuses to open it and left it untouched"
        )


def damaged(path: Path, why: str) -> DamagedDatabase:
    """The error for a damaged file: what is wrong, and the newest backup to go back to."""
    backups = backups_of(path)
    if backups:
        advice = f"the newest backup is {backups[0]}: copy it over the file to go back to it"
    else:
        advice = "taskdb has no backup of it"
    return DamagedDatabase(f"{path} is damaged ({why}); taskdb left it untouched; {advice}")


def backup_path(database: Path, revision: str) -> Path:
    return database.with_name(f"{database.name}.{revision}.bak")


def backups_of(database: Path) -> list[Path]:
    """The backups taskdb made of ``database``, newest first."""
    prefix = f"{database.name}."
    found = [
        path
        for path in database.parent.glob(f"{database.name}.*.bak")
        # <name>.<revision or "legacy">.bak: one token between, so other files' backups stay out
        if "." not in path.name.removeprefix(prefix).removesuffix(".bak")
    ]
    return sorted(found, key=lambda path: path.stat().st_mtime_ns, reverse=True)
