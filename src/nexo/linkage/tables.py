"""Master person index tables.

Contract shared by the parts that read it (API, quality, reports): a current person record of
an agency belongs to exactly one person (``mpi_link``), and a person id never changes meaning
once issued. Merges and splits are recorded in ``mpi_event``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint
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
