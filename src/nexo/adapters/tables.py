"""Tables of the ingest process: batches (with their resume point) and the quarantine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nexo.store.base import Base, JsonDoc
from nexo.store.tables import BigId


class IngestBatchRow(Base):
    __tablename__ = "ingest_batch"
    __table_args__ = (Index("ix_ingest_batch_input", "agency", "source", "input_sha256"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agency: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(40))
    mapping_name: Mapped[str] = mapped_column(String(200))
    mapping_version: Mapped[str | None] = mapped_column(String(64))
    input_name: Mapped[str] = mapped_column(String(500))
    input_sha256: Mapped[str] = mapped_column(String(64))
    input_size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # running | completed | failed
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    stored: Mapped[int] = mapped_column(BigInteger, default=0)
    unchanged: Mapped[int] = mapped_column(BigInteger, default=0)
    quarantined: Mapped[int] = mapped_column(BigInteger, default=0)
    quarantined_by_reason: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: rows of the input already committed; a rerun after a crash resumes after this row
    resume_row: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    #: the input's column names (its header), to split quarantined rows again on retry
    columns: Mapped[list[str] | None] = mapped_column(JsonDoc)
    findings_by_reason: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)


class QuarantineRow(Base):
    __tablename__ = "quarantine_row"
    __table_args__ = (
        UniqueConstraint(
            "agency", "source", "input_sha256", "row_number", name="uq_quarantine_row_input_row"
        ),
        Index("ix_quarantine_row_status", "agency", "source", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(String(36), index=True)
    agency: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    input_name: Mapped[str] = mapped_column(String(500))
    input_sha256: Mapped[str] = mapped_column(String(64))
    row_number: Mapped[int] = mapped_column(Integer)
    record_id: Mapped[str | None] = mapped_column(String(128))
    raw: Mapped[str] = mapped_column(Text)
    #: [{"code": ..., "field": ..., "message": ...}, ...]
    reasons: Mapped[list[dict[str, Any]]]
    #: the first reason's code, for counting by reason without reading JSON
    reason_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # open | resolved | discarded
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    #: the row as it came in, when a steward has corrected ``raw`` since
    raw_original: Mapped[str | None] = mapped_column(Text)
    edited_at: Mapped[datetime | None]


class IngestFindingRow(Base):
    """A doubtful value that was stored anyway because the mapping says ``flag``: an unknown
    code or a bad check digit. Input for the quality part; one row per row, field and code."""

    __tablename__ = "ingest_finding"
    __table_args__ = (
        UniqueConstraint(
            "agency",
            "source",
            "input_sha256",
            "row_number",
            "field",
            "code",
            name="uq_ingest_finding_input_row",
        ),
        Index("ix_ingest_finding_record", "agency", "source", "record_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(String(36), index=True)
    agency: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    input_sha256: Mapped[str] = mapped_column(String(64))
    row_number: Mapped[int] = mapped_column(Integer)
    entity_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(128))
    field: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
