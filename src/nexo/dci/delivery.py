"""Callback delivery: POST queued envelopes to senders, with retries, surviving restarts.

Deliveries are an outbox in the store (``dci_delivery``): a worker claims due ones with a lease,
POSTs outside any database transaction, and records the result. A 2xx reply delivers; a timeout,
connection error, 408, 425, 429 or 5xx is retried with exponential back-off (with jitter) up to
``NEXO_DCI__DELIVERY_ATTEMPTS`` tries; any other reply gives up at once. Redirects are not
followed, and the address is checked again against the sender's registered callbacks before
every try. The payload is dropped once delivered or given up.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import httpx
from sqlalchemy.orm import Session, sessionmaker

from nexo.config import DciSettings
from nexo.dci.repository import DciRepository
from nexo.dci.sender import callback_allowed
from nexo.errors import TerminalError, TransientError
from nexo.store.engine import transaction

log = logging.getLogger(__name__)
RETRYABLE = {408, 425, 429}


class Transport(Protocol):
    def post(self, url: str, body: bytes, *, timeout: float) -> int:
        """POST ``body`` (JSON) to ``url``; the HTTP status, or :class:`TransientError`."""
        ...


class HttpTransport:
    """httpx, without redirects (a redirect could lead anywhere)."""

    def __init__(self) -> None:
        self._client = httpx.Client(follow_redirects=False, trust_env=False)

    def post(self, url: str, body: bytes, *, timeout: float) -> int:
        try:
            response = self._client.post(
                url, content=body, headers={"Content-Type": "application/json"}, timeout=timeout
            )
        except httpx.HTTPError as e:
            raise TransientError(f"{type(e).__name__} calling back {url}") from e
        return response.status_code

    def close(self) -> None:
        self._client.close()


def backoff(attempts: int, settings: DciSettings, rng: random.Random | None = None) -> float:
    """Seconds to wait after ``attempts`` failed tries: base · 2^(n−1), capped, plus ≤25 %."""
    base = min(
        settings.delivery_backoff_seconds * 2 ** max(attempts - 1, 0),
        settings.delivery_backoff_max_seconds,
    )
    jitter: float = (rng or random).random()
    return float(base * (1 + jitter * 0.25))


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed


def _attempt(
    transport: Transport, url: str, payload: bytes, settings: DciSettings
) -> tuple[str, int | None, str | None]:
    """(outcome, HTTP status, error) of one POST; outcome is delivered, retry or failed."""
    try:
        code = transport.post(url, payload, timeout=settings.delivery_timeout_seconds)
    except TransientError as e:
        return "retry", None, e.message
    except TerminalError as e:
        return "failed", None, e.message
    if 200 <= code < 300:
        return "delivered", code, None
    if code in RETRYABLE or code >= 500:
        return "retry", code, f"HTTP {code}"
    return "failed", code, f"HTTP {code} (not retried)"


def deliver_due(
    factory: sessionmaker[Session],
    transport: Transport,
    settings: DciSettings,
    now: datetime,
    *,
    limit: int = 20,
) -> DeliveryReport:
    """Try every due delivery once (up to ``limit``)."""
    lease = timedelta(seconds=settings.delivery_timeout_seconds * 2 + 30)
    with transaction(factory) as session:
        claimed = DciRepository(session).claim_due(now, lease, limit)
    report = DeliveryReport()
    for pk in claimed:
        with transaction(factory) as session:
            repo = DciRepository(session)
            row = repo.delivery(pk)
            if row is None or row.payload is None:
                continue
            txn = repo.transaction(row.transaction_pk)
            sender = repo.sender(txn.sender_id) if txn else None
            url, payload = row.url, json.dumps(row.payload, ensure_ascii=False).encode()
            allowed = (
                sender is not None and sender.active and callback_allowed(sender.callback_uris, url)
            )
        if allowed:
            outcome, code, error = _attempt(transport, url, payload, settings)
        else:
            outcome, code, error = (
                "failed",
                None,
                "the address is no longer registered for the sender",
            )
        with transaction(factory) as session:
            row = DciRepository(session).delivery(pk)
            if row is None:
                continue
            row.attempts += 1
            row.last_status, row.last_error, row.lease_until = code, error, None
            if outcome == "retry" and row.attempts < settings.delivery_attempts:
                row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts, settings))
                report.retrying += 1
            else:
                row.state = "delivered" if outcome == "delivered" else "failed"
                row.payload, row.finished_at = None, now
                if row.state == "delivered":
                    report.delivered += 1
                else:
                    report.failed += 1
                    log.warning(
                        "dci: callback %s given up after %s tries: %s", pk, row.attempts, error
                    )
    return report
