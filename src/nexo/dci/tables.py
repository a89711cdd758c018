"""Tables of the DCI layer: senders, transactions, callback deliveries, subscriptions.

No table here holds personal data for longer than it takes to answer: a pending asynchronous
request keeps its message until it is processed, a callback keeps its payload until it is
delivered (or given up); transaction outcomes keep only statuses and counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nexo.store.base import Base, JsonDoc
from nexo.store.tables import BigId


class DciSenderRow(Base):
    """A system allowed to send DCI messages: its keys, callback addresses, signature rule."""

    __tablename__ = "dci_sender"

    sender_id: Mapped[str] = mapped_column(String(99), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(128), index=True)
    signature: Mapped[str] = mapped_column(String(16))  # required | optional
    callback_uris: Mapped[list[str]] = mapped_column(JsonDoc)
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DciTransactionRow(Base):
    """One DCI message received (accepted or refused after authentication)."""

    __tablename__ = "dci_transaction"
    __table_args__ = (
        UniqueConstraint("sender_id", "message_id", name="uq_dci_transaction_message"),
        Index("ix_dci_transaction_txn", "sender_id", "transaction_id"),
        Index("ix_dci_transaction_pending", "status", "mode"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    correlation_id: Mapped[str] = mapped_column(String(99), unique=True)
    sender_id: Mapped[str] = mapped_column(String(99))
    client_id: Mapped[str] = mapped_column(String(128))
    #: the client's default purpose when the message arrived (requests stating none use it)
    default_purpose: Mapped[str | None] = mapped_column(String(128))
    message_id: Mapped[str] = mapped_column(String(99))
    transaction_id: Mapped[str] = mapped_column(String(99))
    action: Mapped[str] = mapped_column(String(16))  # search | txn-status | subscribe | unsubscribe
    mode: Mapped[str] = mapped_column(String(8))  # sync | async
    status: Mapped[str] = mapped_column(String(8))  # rcvd | pdng | succ | rjct
    request_hash: Mapped[str] = mapped_column(String(64))
    #: the pending message (async, until processed); None afterwards
    request: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    sender_uri: Mapped[str | None] = mapped_column(String(2048))
    received_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failed processing attempts


class DciRequestItemRow(Base):
    """The outcome of one request of a transaction's batch: status and counts, no data."""

    __tablename__ = "dci_request_item"
    __table_args__ = (Index("ix_dci_request_item_reference", "sender_id", "reference_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transaction_pk: Mapped[int] = mapped_column(
        BigId, ForeignKey("dci_transaction.id", ondelete="CASCADE"), index=True
    )
    sender_id: Mapped[str] = mapped_column(String(99))
    reference_id: Mapped[str] = mapped_column(String(99))
    status: Mapped[str] = mapped_column(String(8))  # succ | rjct
    reason_code: Mapped[str | None] = mapped_column(String(64))
    reason_message: Mapped[str | None] = mapped_column(String(999))
    total_count: Mapped[int | None] = mapped_column(Integer)
    page_number: Mapped[int | None] = mapped_column(Integer)
    page_size: Mapped[int | None] = mapped_column(Integer)
    locale: Mapped[str | None] = mapped_column(String(3))
    at: Mapped[datetime]


class DciDeliveryRow(Base):
    """A callback to send (outbox): retried with back-off, its state survives restarts."""

    __tablename__ = "dci_delivery"
    __table_args__ = (Index("ix_dci_delivery_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transaction_pk: Mapped[int] = mapped_column(
        BigId, ForeignKey("dci_transaction.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    action: Mapped[str] = mapped_column(String(16))
    #: the signed envelope; None once delivered or given up (no personal data kept)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    state: Mapped[str] = mapped_column(String(12))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(999))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class DciSubscriptionRow(Base):
    """A sender's subscription to registry events (notified once Nexo emits events)."""

    __tablename__ = "dci_subscription"

    code: Mapped[str] = mapped_column(String(99), primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(99), index=True)
    client_id: Mapped[str] = mapped_column(String(128))
    transaction_id: Mapped[str] = mapped_column(String(99))
    reference_id: Mapped[str] = mapped_column(String(99))
    status: Mapped[str] = mapped_column(String(12))  # subscribe | unsubscribe
    purpose: Mapped[str] = mapped_column(String(128))
    criteria: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    locale: Mapped[str | None] = mapped_column(String(3))
    sender_uri: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
