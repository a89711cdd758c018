"""Master person index tables.

Contract shared by the parts that read it (API, quality, reports): a current person record of
an agency belongs to exactly one person (``mpi_link``), and a person id never changes meaning
once issued. Merges and splits are recorded in ``mpi_event``. Added by the linkage part:
``mpi_run`` (each run and its versioned model), ``mpi_review`` (the review queue and stewards'
decisions) and ``mpi_golden`` (golden records with provenance).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nexo.store.base import Base
from nexo.store.tables import BigId


class MpiPersonRow(Base):
    __tablename__ = "mpi_person"

    person_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # active | merged (into merged_into) | retired
    merged_into: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MpiLinkRow(Base):
    __tablename__ = "mpi_link"
    __table_args__ = (
        UniqueConstraint("agency", "source", "record_id", name="uq_mpi_link_record"),
        Index("ix_mpi_link_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(32), ForeignKey("mpi_person.person_id"))
    agency: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(128))
    #: probability that this record belongs to the person (1.0 for deterministic/manual links)
    match_probability: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(
        String(16)
    )  # deterministic | probabilistic | manual | singleton
    run_id: Mapped[str | None] = mapped_column(String(36))
    linked_at: Mapped[datetime]


class MpiEventRow(Base):
    __tablename__ = "mpi_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # created | merged | split | relinked
    person_id: Mapped[str] = mapped_column(String(32), index=True)
    other_person_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]]
    run_id: Mapped[str | None] = mapped_column(String(36))
    at: Mapped[datetime]


class MpiRunRow(Base):
    """One linkage run: the trained model it used (versioned), its thresholds and outcome."""

    __tablename__ = "mpi_run"

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model_version: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(16))  # running | done | failed
    backend: Mapped[str] = mapped_column(String(16))
    trained: Mapped[bool] = mapped_column(Boolean)  # False: a given or the built-in model
    model: Mapped[dict[str, Any]]  # the Splink model (settings with m and u)
    thresholds: Mapped[dict[str, Any]]
    summary: Mapped[dict[str, Any]]  # counts, timings, accuracy when a truth was given
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class MpiReviewRow(Base):
    """A pair of records a steward should look at, and the steward's decision (a label)."""

    __tablename__ = "mpi_review"
    __table_args__ = (
        UniqueConstraint(
            "agency_a", "source_a", "record_a", "agency_b", "source_b", "record_b",
            name="uq_mpi_review_pair",
        ),
        Index("ix_mpi_review_status", "status"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agency_a: Mapped[str] = mapped_column(String(64))
    source_a: Mapped[str] = mapped_column(String(64))
    record_a: Mapped[str] = mapped_column(String(128))
    agency_b: Mapped[str] = mapped_column(String(64))
    source_b: Mapped[str] = mapped_column(String(64))
    record_b: Mapped[str] = mapped_column(String(128))
    match_probability: Mapped[float] = mapped_column(Float)
    match_weight: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]]  # comparison → match weight
    reason: Mapped[str] = mapped_column(String(64))  # uncertain | conflict: ...
    status: Mapped[str] = mapped_column(String(16))  # open | accepted | rejected
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(String(500))
    run_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]


class MpiGoldenRow(Base):
    """The golden record of a person: best value per field, with field-level provenance."""

    __tablename__ = "mpi_golden"

    person_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("mpi_person.person_id"), primary_key=True
    )
    record: Mapped[dict[str, Any]]  # a canonical Person as JSON
    provenance: Mapped[dict[str, Any]]  # field → {agency, source, record_id, rule, updated_on}
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of record and provenance
    run_id: Mapped[str | None] = mapped_column(String(36))
    updated_at: Mapped[datetime]
