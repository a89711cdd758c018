"""DCI use cases: answer a synchronous message, process an asynchronous one into a callback.

:class:`DciRuntime` bundles what they need: the store, the two ports, Nexo's signing keys and
the settings. Port calls (which audit, and may be slow) run outside Nexo's own database
transactions; each step commits its own small unit of work, so a crash between steps leaves a
transaction to pick up again, never a half-written one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from nexo.config import DciSettings
from nexo.dci import search, status, subscription
from nexo.dci.envelope import callback_header, signed
from nexo.dci.intake import ENDPOINTS, Accepted, Endpoint
from nexo.dci.keys import KeyRing
from nexo.dci.ports import Authenticator, Client, Disclosure
from nexo.dci.repository import DciRepository
from nexo.dci.schemas import (
    Header,
    SearchRequest,
    SubscribeRequest,
    TxnStatusRequest,
    UnsubscribeRequest,
)
from nexo.dci.tables import DciDeliveryRow, DciRequestItemRow, DciTransactionRow
from nexo.store.base import utc_now
from nexo.store.engine import transaction

log = logging.getLogger(__name__)
Json = dict[str, Any]
Write = Callable[[DciRepository], None]
LEASE = timedelta(seconds=60)
MAX_PROCESSING_ATTEMPTS = 5


@dataclass
class DciRuntime:
    """Everything the DCI router and worker need; built once by the application."""

    factory: sessionmaker[Session]
    authenticator: Authenticator
    disclosure: Disclosure
    keys: KeyRing
    settings: DciSettings = field(default_factory=DciSettings)
    clock: Callable[[], datetime] = utc_now
    #: called after an asynchronous message is accepted (wakes the worker)
    on_accept: Callable[[], None] | None = None


@dataclass
class Reply:
    """What processing a message produced: the reply's message and header status, the items
    Nexo keeps, and writes to make together with them."""

    message: Json | None
    outcomes: list[search.Outcome]
    header_status: str = "succ"
    reason_message: str | None = None
    writes: list[Write] = field(default_factory=list)
    #: computes message and outcomes inside the finishing transaction (unsubscribe)
    late: Callable[[DciRepository], tuple[Json, list[search.Outcome]]] | None = None


def _compute(
    runtime: DciRuntime, endpoint: Endpoint, txn: DciTransactionRow, header: Header, message: Any
) -> Reply:
    client = Client(txn.client_id, txn.default_purpose)
    common = {"sender_id": txn.sender_id, "correlation_id": txn.correlation_id}
    if isinstance(message, SearchRequest):
        outcomes = search.answer(
            message,
            client=client,
            message_id=header.message_id,
            disclosure=runtime.disclosure,
            settings=runtime.settings,
            clock=runtime.clock,
            **common,
        )
        return Reply(
            search.response_message(message.transaction_id, txn.correlation_id, outcomes), outcomes
        )
    if isinstance(message, TxnStatusRequest):
        with transaction(runtime.factory) as session:
            answer = status.answer(
                message, repo=DciRepository(session), now=runtime.clock(), **common
            )
        return Reply(answer, [])
    if isinstance(message, SubscribeRequest):
        with transaction(runtime.factory) as session:
            existing = DciRepository(session).subscriptions_of(txn.sender_id, "subscribe")
        result = subscription.subscribe(
            message,
            client=client,
            message_id=header.message_id,
            sender_uri=txn.sender_uri or "",
            existing=existing,
            disclosure=runtime.disclosure,
            settings=runtime.settings,
            now=runtime.clock(),
            **common,
        )
        reply = subscription.subscribe_message(
            message.transaction_id, txn.correlation_id, result.outcomes
        )
        return Reply(reply, result.outcomes, writes=result.writes)
    if isinstance(message, UnsubscribeRequest):
        request = message

        def late(repo: DciRepository) -> tuple[Json, list[search.Outcome]]:
            answer, outcome = subscription.unsubscribe(
                request, repo=repo, now=runtime.clock(), **common
            )
            return answer, [outcome]

        return Reply(None, [], late=late)
    raise TypeError(f"no handler for {type(message).__name__}")


def _items(
    txn: DciTransactionRow, outcomes: list[search.Outcome], now: datetime
) -> list[DciRequestItemRow]:
    return [
        DciRequestItemRow(
            transaction_pk=txn.id,
            sender_id=txn.sender_id,
            reference_id=o.reference_id[:99],
            status=o.status,
            reason_code=o.reason_code,
            reason_message=o.reason_message,
            total_count=o.total_count,
            page_number=o.page.number if o.page else None,
            page_size=o.page.size if o.page else None,
            locale=o.locale,
            at=now,
        )
        for o in outcomes
    ]


def _finish(runtime: DciRuntime, endpoint: Endpoint, txn_pk: int, reply: Reply) -> Json:
    """Record the outcome and build the signed reply envelope; for asynchronous messages, queue
    it as a callback. One unit of work."""
    now = runtime.clock()
    with transaction(runtime.factory) as session:
        repo = DciRepository(session)
        txn = repo.transaction(txn_pk)
        assert txn is not None
        for write in reply.writes:
            write(repo)
        if reply.late is not None:
            reply.message, reply.outcomes = reply.late(repo)
        repo.add_items(_items(txn, reply.outcomes, now))
        total = len(reply.outcomes) or 1
        envelope = signed(
            callback_header(
                action=endpoint.reply_action,
                registry_id=runtime.settings.registry_id,
                receiver_id=txn.sender_id,
                total=total,
                completed=total if reply.header_status == "succ" else 0,
                now=now,
                status=reply.header_status,
                reason_message=reply.reason_message,
            ),
            reply.message,
            runtime.keys,
            runtime.settings.registry_id,
            now,
        )
        txn.status = reply.header_status
        txn.completed_at = now
        txn.request = None
        txn.lease_until = None
        if endpoint.mode == "async" and txn.sender_uri:
            repo.add_delivery(
                DciDeliveryRow(
                    transaction_pk=txn.id,
                    url=txn.sender_uri,
                    action=endpoint.reply_action,
                    payload=envelope,
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    lease_until=None,
                    last_status=None,
                    last_error=None,
                    created_at=now,
                    finished_at=None,
                )
            )
    return envelope


def _run(
    runtime: DciRuntime, endpoint: Endpoint, txn: DciTransactionRow, header: Header, message: Any
) -> Json:
    reply = _compute(runtime, endpoint, txn, header, message)
    return _finish(runtime, endpoint, txn.id, reply)


def answer_sync(runtime: DciRuntime, accepted: Accepted) -> Json:
    """The signed reply to an accepted synchronous message."""
    with transaction(runtime.factory) as session:
        txn = DciRepository(session).transaction(accepted.transaction_pk)
        assert txn is not None
    try:
        return _run(runtime, accepted.endpoint, txn, accepted.header, accepted.message)
    except Exception:
        _fail(runtime, accepted.transaction_pk, "the registry failed to process the message")
        raise


def _fail(runtime: DciRuntime, pk: int, reason: str) -> None:
    with transaction(runtime.factory) as session:
        txn = DciRepository(session).transaction(pk)
        if txn is not None:
            txn.status, txn.completed_at, txn.request, txn.lease_until = (
                "rjct",
                runtime.clock(),
                None,
                None,
            )


def process_pending(runtime: DciRuntime, limit: int = 20) -> int:
    """Process received asynchronous messages into queued callbacks; returns how many."""
    now = runtime.clock()
    with transaction(runtime.factory) as session:
        claimed = DciRepository(session).claim_pending(now, LEASE, limit)
    done = 0
    for pk in claimed:
        with transaction(runtime.factory) as session:
            txn = DciRepository(session).transaction(pk)
            if txn is None or txn.request is None:
                continue
            session.expunge(txn)
        endpoint = next(e for e in ENDPOINTS if e.action == txn.action and e.mode == "async")
        header = Header.model_validate(txn.request["header"])
        message = endpoint.model.model_validate(txn.request["message"])
        try:
            _run(runtime, endpoint, txn, header, message)
            done += 1
        except Exception:
            log.exception("dci: processing transaction %s failed", txn.correlation_id)
            done += _retry_or_give_up(runtime, endpoint, pk)
    return done


def _retry_or_give_up(runtime: DciRuntime, endpoint: Endpoint, pk: int) -> int:
    """A failed attempt is retried once the lease ends; after a few, the sender is told (1)."""
    with transaction(runtime.factory) as session:
        row = DciRepository(session).transaction(pk)
        if row is None:
            return 0
        row.attempts += 1
        if row.attempts < MAX_PROCESSING_ATTEMPTS:
            return 0
    reason = "the registry could not process the message; nothing was disclosed; send it again"
    _finish(runtime, endpoint, pk, Reply(None, [], header_status="rjct", reason_message=reason))
    return 1
