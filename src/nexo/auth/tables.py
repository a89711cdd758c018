"""Tables of machine clients, console users and used client-assertion ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nexo.store.base import Base


class ApiClientRow(Base):
    __tablename__ = "api_client"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    #: Argon2id in PHC string format; NULL for clients that authenticate by key only
    secret_hash: Mapped[str | None] = mapped_column(String(200))
    public_jwk: Mapped[dict[str, Any] | None]
    scopes: Mapped[str] = mapped_column(String(200))  # space-separated, as in OAuth
    rate_per_second: Mapped[float] = mapped_column(Float)
    burst: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # active | disabled
    #: purpose of requests that state none (DCI requests without authorize/consent)
    default_purpose: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ConsoleUserRow(Base):
    __tablename__ = "console_user"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(200))  # space-separated
    agency: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class UsedAssertionRow(Base):
    """``jti`` of every accepted client assertion, kept until it expires (single use)."""

    __tablename__ = "used_assertion"
    __table_args__ = (Index("ix_used_assertion_expires", "expires_at"),)

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime]
