"""Audit trail tables: entries (leaves of the Merkle log), subject index, head, checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nexo.store.base import Base

BigNum = BigInteger().with_variant(Integer(), "sqlite")


class AuditEntryRow(Base):
    """One entry; ``body`` is the canonical JSON its leaf hash covers."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_client", "client_id", "idx"),
        Index("ix_audit_entry_at", "at"),
    )

    idx: Mapped[int] = mapped_column(BigNum, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[str] = mapped_column(String(64))
    chain: Mapped[str] = mapped_column(String(64))


class AuditSubjectRow(Base):
    """Which entries name a subject (by keyed hash): answers "who saw my data and why"."""

    __tablename__ = "audit_subject"

    ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    entry_idx: Mapped[int] = mapped_column(BigNum, primary_key=True, autoincrement=False)


class AuditHeadRow(Base):
    """One row: the size of the log and the chain value of its last entry (serialises appends)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigNum)
    chain: Mapped[str] = mapped_column(String(64))


class AuditCheckpointRow(Base):
    __tablename__ = "audit_checkpoint"

    tree_size: Mapped[int] = mapped_column(BigNum, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    origin: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))
    #: roots of the complete subtrees at this size (hex, space-separated), so that the next
    #: checkpoint needs only the leaves added since
    frontier: Mapped[str] = mapped_column(Text)
