"""Declarative model of the quantum store: UnifiedQuantum's ``tasks`` table (seed schema v1)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from taskdb.schema import SEED_DDL, KeyText, LongText, new_metadata

# 64-bit on every engine: BIGINT on the servers (revision quantum_0003); on SQLite the
# seed's INTEGER, which already holds 64 bits, so the file keeps the seed's DDL.
Shots = BigInteger().with_variant(Integer(), "sqlite")


class QuantumBase(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = {str: KeyText}


class QuantumTask(QuantumBase):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("tasks_backend_idx", "backend"),
        Index("tasks_status_idx", "status"),
        Index("tasks_submit_time_idx", "submit_time"),
        {"info": {SEED_DDL: True}},
    )

    task_id: Mapped[str] = mapped_column(primary_key=True)
    backend: Mapped[str]
    status: Mapped[str]
    shots: Mapped[int] = mapped_column(Shots, server_default=text("0"))
    submit_time: Mapped[str]
    update_time: Mapped[str]
    result_json: Mapped[str | None] = mapped_column(LongText)
    metadata_json: Mapped[str] = mapped_column(LongText, server_default=text("'{}'"))
