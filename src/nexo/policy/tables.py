"""Consent events (append-only) and the policy versions decisions were taken under."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from nexo.store.base import Base
from nexo.store.tables import BigId


class ConsentEventRow(Base):
    __tablename__ = "consent_event"
    __table_args__ = (Index("ix_consent_event_subject", "person_id", "purpose", "recipient", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(16))
    notice_version: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(64))


class PolicyVersionRow(Base):
    """Every policy (catalogue + agreements) Nexo has decided under, kept to replay decisions."""

    __tablename__ = "policy_version"

    version: Mapped[str] = mapped_column(String(80), primary_key=True)
    first_used_at: Mapped[datetime]
    document: Mapped[dict[str, Any]]
