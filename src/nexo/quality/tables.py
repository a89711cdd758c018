"""Tables of the quality part: runs, scores, failing records, and correction requests.

A run keeps one score row per agency × source × rule (with the rule's dimension and severity) and
one row per failing record, so scores can be followed over time and each score leads to the
records behind it. The run also keeps what its rules said (``rules``), so old runs read well after
the rule files change.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nexo.store.base import Base
from nexo.store.tables import BigId


class QualityRunRow(Base):
    __tablename__ = "quality_run"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime]
    reference_date: Mapped[date] = mapped_column(Date)
    rules_digest: Mapped[str] = mapped_column(String(64))
    #: [{"id", "entity", "dimension", "severity", "owner", "description", "kind"}, ...]
    rules: Mapped[list[dict[str, Any]]]
    record_count: Mapped[int] = mapped_column(BigInteger)
    failure_count: Mapped[int] = mapped_column(BigInteger)


class QualityScoreRow(Base):
    __tablename__ = "quality_score"
    __table_args__ = (Index("ix_quality_score_agency_rule", "agency", "rule_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("quality_run.id", ondelete="CASCADE"), index=True
    )
    agency: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(40))
    rule_id: Mapped[str] = mapped_column(String(120))
    dimension: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    checked: Mapped[int] = mapped_column(BigInteger)
    failed: Mapped[int] = mapped_column(BigInteger)


class QualityFailureRow(Base):
    __tablename__ = "quality_failure"
    __table_args__ = (
        Index("ix_quality_failure_run_rule", "run_id", "rule_id", "agency", "source"),
        Index("ix_quality_failure_record", "agency", "source", "record_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("quality_run.id", ondelete="CASCADE")
    )
    rule_id: Mapped[str] = mapped_column(String(120))
    agency: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(128))
    #: what the record conflicts with (another record's key, days of overlap); never a value
    detail: Mapped[str | None] = mapped_column(String(300))


class CorrectionRow(Base):
    __tablename__ = "quality_correction"
    __table_args__ = (
        Index("ix_quality_correction_record", "agency", "source", "record_id"),
        Index("ix_quality_correction_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(128))
    field: Mapped[str] = mapped_column(String(200))
    #: {"value": ...} as the record held it when reported, and as proposed
    current_value: Mapped[dict[str, Any]]
    proposed_value: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text)
    rule_id: Mapped[str | None] = mapped_column(String(120))
    reporter: Mapped[str] = mapped_column(String(120))
    reporter_role: Mapped[str] = mapped_column(String(40))
    reported_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # open | accepted | rejected
    reviewer: Mapped[str | None] = mapped_column(String(120))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)
    #: batch id of the record version the accepted correction wrote (``correction-<id>``)
    batch_id: Mapped[str | None] = mapped_column(String(36))
    new_version: Mapped[int | None] = mapped_column(Integer)
