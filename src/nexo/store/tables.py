"""Canonical store tables.

``source_record`` keeps every version of every record (provenance plus the canonical JSON), so
history is never lost. The typed tables (``person_record``, ``employment_episode``...) hold the
current version of each record in columns, for fast queries, linkage and quality runs; each row
points at the ``source_record`` version it was projected from.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from nexo.store.base import Base

BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only


class SourceRecordRow(Base):
    __tablename__ = "source_record"
    __table_args__ = (
        UniqueConstraint(
            "agency",
            "source",
            "entity_type",
            "source_record_id",
            "version",
            name="uq_source_record_version",
        ),
        Index("ix_source_record_batch", "batch_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    source_record_id: Mapped[str] = mapped_column(String(128))
    entity_type: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean)
    content_hash: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[str] = mapped_column(String(36))
    received_at: Mapped[datetime]
    superseded_at: Mapped[datetime | None]
    mapping_version: Mapped[str | None] = mapped_column(String(64))
    source_updated_on: Mapped[date | None] = mapped_column(Date)
    data: Mapped[dict[str, Any]]


class _Projection:
    """Columns every current-version table shares."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(128))
    source_updated_on: Mapped[date | None] = mapped_column(Date)

    @declared_attr
    def source_record_pk(cls) -> Mapped[int]:
        return mapped_column(BigId, ForeignKey("source_record.id"))

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        name = cls.__tablename__  # type: ignore[attr-defined]
        return (UniqueConstraint("agency", "source", "record_id", name=f"uq_{name}_record"),)


class _PersonFact(_Projection):
    person_source: Mapped[str | None] = mapped_column(String(64))
    person_record_id: Mapped[str] = mapped_column(String(64), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)


class PersonRecordRow(_Projection, Base):
    __tablename__ = "person_record"

    given_names: Mapped[str | None] = mapped_column(String(120))
    family_name: Mapped[str | None] = mapped_column(String(80))
    second_family_name: Mapped[str | None] = mapped_column(String(80))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    address_line: Mapped[str | None] = mapped_column(String(200))
    locality: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(100))
    admin_area_code: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))


class PersonIdentifierRow(Base):
    __tablename__ = "person_identifier"
    __table_args__ = (Index("ix_person_identifier_lookup", "scheme", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_pk: Mapped[int] = mapped_column(
        BigId, ForeignKey("person_record.id", ondelete="CASCADE"), index=True
    )
    scheme: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(64))
    verified: Mapped[bool] = mapped_column(Boolean)
    check_digit_ok: Mapped[bool] = mapped_column(Boolean)


class HouseholdRow(_Projection, Base):
    __tablename__ = "household"

    address_line: Mapped[str | None] = mapped_column(String(200))
    locality: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(100))
    admin_area_code: Mapped[str | None] = mapped_column(String(32))
    registered_on: Mapped[date | None] = mapped_column(Date)
    size: Mapped[int | None] = mapped_column(Integer)


class HouseholdMembershipRow(_Projection, Base):
    __tablename__ = "household_membership"

    household_id: Mapped[str] = mapped_column(String(64), index=True)
    person_record_id: Mapped[str] = mapped_column(String(64), index=True)
    relationship: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)


class JobSeekerRegistrationRow(_PersonFact, Base):
    __tablename__ = "job_seeker_registration"

    status: Mapped[str] = mapped_column(String(16))
    office_code: Mapped[str | None] = mapped_column(String(32))
    desired_occupation: Mapped[str | None] = mapped_column(String(4))


class EmploymentEpisodeRow(_PersonFact, Base):
    __tablename__ = "employment_episode"

    employer_name: Mapped[str | None] = mapped_column(String(200))
    employer_id: Mapped[str | None] = mapped_column(String(64))
    occupation: Mapped[str | None] = mapped_column(String(4))
    monthly_wage: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    contract_type: Mapped[str | None] = mapped_column(String(20))


class ProgrammeParticipationRow(_PersonFact, Base):
    __tablename__ = "programme_participation"

    programme_type: Mapped[str] = mapped_column(String(32))
    programme_code: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))


class BenefitEnrolmentRow(_PersonFact, Base):
    __tablename__ = "benefit_enrolment"

    programme_code: Mapped[str] = mapped_column(String(32))
    programme_name: Mapped[str | None] = mapped_column(String(200))
    means_tested: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    monthly_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    household_id: Mapped[str | None] = mapped_column(String(64))
