"""Queries of the DCI tables: senders, transactions, items, deliveries, subscriptions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update

from nexo.dci.sender import Sender, SignaturePolicy
from nexo.dci.tables import (
    DciDeliveryRow,
    DciRequestItemRow,
    DciSenderRow,
    DciSubscriptionRow,
    DciTransactionRow,
)
from nexo.store.repository import RepositoryBase


def _sender(row: DciSenderRow) -> Sender:
    return Sender(
        sender_id=row.sender_id,
        client_id=row.client_id,
        signature=SignaturePolicy(row.signature),
        callback_uris=tuple(row.callback_uris),
        jwks=row.jwks,
        active=row.active,
    )


class DciRepository(RepositoryBase):
    # ------------------------------------------------------------------ senders

    def sender(self, sender_id: str) -> Sender | None:
        row = self.session.get(DciSenderRow, sender_id)
        return _sender(row) if row else None

    def senders(self) -> list[Sender]:
        rows = self.session.scalars(select(DciSenderRow).order_by(DciSenderRow.sender_id))
        return [_sender(r) for r in rows]

    def save_sender(self, sender: Sender, now: datetime) -> None:
        row = self.session.get(DciSenderRow, sender.sender_id)
        if row is None:
            row = DciSenderRow(sender_id=sender.sender_id, created_at=now)
            self.session.add(row)
        row.client_id = sender.client_id
        row.signature = sender.signature.value
        row.callback_uris = list(sender.callback_uris)
        row.jwks = sender.jwks
        row.active = sender.active
        row.updated_at = now

    def delete_sender(self, sender_id: str) -> bool:
        result = self.session.execute(
            delete(DciSenderRow).where(DciSenderRow.sender_id == sender_id)
        )
        return bool(getattr(result, "rowcount", 0))

    # ------------------------------------------------------------------ transactions

    def transaction_by_message(self, sender_id: str, message_id: str) -> DciTransactionRow | None:
        t = DciTransactionRow
        return self.session.scalar(
            select(t).where(t.sender_id == sender_id, t.message_id == message_id)
        )

    def add_transaction(self, row: DciTransactionRow) -> DciTransactionRow:
        self.session.add(row)
        self.session.flush()
        return row

    def transaction(self, pk: int) -> DciTransactionRow | None:
        return self.session.get(DciTransactionRow, pk)

    def claim_pending(self, now: datetime, lease: timedelta, limit: int) -> list[int]:
        """Ids of received asynchronous transactions this worker now holds (lease), oldest first.

        The conditional update makes the claim safe between processes on both stores.
        """
        t = DciTransactionRow
        ready = (t.mode == "async", t.status == "rcvd")
        return self._claim(t, ready, (t.id,), now, lease, limit)

    def _claim(
        self,
        table: type[DciTransactionRow] | type[DciDeliveryRow],
        ready: tuple[ColumnElement[bool], ...],
        order: tuple[Any, ...],
        now: datetime,
        lease: timedelta,
        limit: int,
    ) -> list[int]:
        """Lease up to ``limit`` rows that are ``ready`` and not leased by another worker: each
        claim is a conditional update, so two workers never hold the same row."""
        free = or_(table.lease_until.is_(None), table.lease_until < now)
        candidates = self.session.scalars(
            select(table.id).where(*ready, free).order_by(*order).limit(limit)
        ).all()
        claimed: list[int] = []
        for pk in candidates:
            result = self.session.execute(
                update(table).where(table.id == pk, *ready, free).values(lease_until=now + lease)
            )
            if getattr(result, "rowcount", 0) == 1:
                claimed.append(pk)
        return claimed

    def transactions_of(
        self,
        sender_id: str,
        *,
        transaction_id: str | None = None,
        correlation_id: str | None = None,
    ) -> list[DciTransactionRow]:
        t = DciTransactionRow
        query = select(t).where(t.sender_id == sender_id)
        if transaction_id is not None:
            query = query.where(t.transaction_id == transaction_id)
        if correlation_id is not None:
            query = query.where(t.correlation_id == correlation_id)
        return list(self.session.scalars(query.order_by(t.id.desc()).limit(50)))

    # ------------------------------------------------------------------ request items

    def add_items(self, rows: Sequence[DciRequestItemRow]) -> None:
        self.session.add_all(rows)

    def items_of(self, transaction_pk: int) -> list[DciRequestItemRow]:
        i = DciRequestItemRow
        return list(
            self.session.scalars(select(i).where(i.transaction_pk == transaction_pk).order_by(i.id))
        )

    def items_by_reference(
        self, sender_id: str, reference_ids: Sequence[str]
    ) -> list[DciRequestItemRow]:
        i = DciRequestItemRow
        return list(
            self.session.scalars(
                select(i)
                .where(i.sender_id == sender_id, i.reference_id.in_(list(reference_ids)))
                .order_by(i.id)
            )
        )

    # ------------------------------------------------------------------ deliveries

    def add_delivery(self, row: DciDeliveryRow) -> None:
        self.session.add(row)

    def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[int]:
        d = DciDeliveryRow
        ready = (d.state == "pending", d.next_attempt_at <= now)
        return self._claim(d, ready, (d.next_attempt_at, d.id), now, lease, limit)

    def delivery(self, pk: int) -> DciDeliveryRow | None:
        return self.session.get(DciDeliveryRow, pk)

    def deliveries(self, state: str | None = None, limit: int = 100) -> list[DciDeliveryRow]:
        d = DciDeliveryRow
        query = select(d).order_by(d.id.desc()).limit(limit)
        if state:
            query = query.where(d.state == state)
        return list(self.session.scalars(query))

    def next_due(self) -> datetime | None:
        d = DciDeliveryRow
        return self.session.scalar(
            select(d.next_attempt_at)
            .where(d.state == "pending")
            .order_by(d.next_attempt_at)
            .limit(1)
        )

    # ------------------------------------------------------------------ subscriptions

    def add_subscription(self, row: DciSubscriptionRow) -> None:
        self.session.add(row)

    def subscriptions_of(
        self, sender_id: str, status: str | None = None
    ) -> list[DciSubscriptionRow]:
        s = DciSubscriptionRow
        query = select(s).where(s.sender_id == sender_id)
        if status:
            query = query.where(s.status == status)
        return list(self.session.scalars(query.order_by(s.created_at, s.code)))

    def subscriptions(self, codes: Sequence[str]) -> list[DciSubscriptionRow]:
        s = DciSubscriptionRow
        return list(self.session.scalars(select(s).where(s.code.in_(list(codes)))))
