"""Callback delivery against a real receiver: retries with back-off, bounded attempts, state in
the store so a restart loses nothing, no redirects, only registered addresses."""

from __future__ import annotations

import random
from datetime import timedelta

from dci_http import Receiver, Registry, assert_callback, search_envelope, search_item, signed
from dci_support import ANA, SENDER, personal_values
from sqlalchemy import select

from nexo.config import DciSettings
from nexo.dci.delivery import HttpTransport, backoff, deliver_due
from nexo.dci.keys import load_keyring
from nexo.dci.registration import remove_sender
from nexo.dci.service import DciRuntime, process_pending
from nexo.dci.tables import DciDeliveryRow, DciTransactionRow
from nexo.dci.worker import DciWorker
from nexo.store.base import utc_now
from nexo.store.engine import transaction


def _accept(registry: Registry) -> None:
    env = signed(
        search_envelope(search_item({"type": "UIN", "value": ANA.run})), registry.keys[SENDER]
    )
    status, reply = registry.client.post("/registry/search", env)
    assert status == 200 and reply["message"]["ack_status"] == "ACK"
    assert process_pending(registry.runtime) == 1


def _delivery(registry: Registry) -> DciDeliveryRow:
    with transaction(registry.runtime.factory) as session:
        row = session.scalars(select(DciDeliveryRow)).one()
        session.expunge(row)
        return row


def test_retries_with_growing_back_off_until_delivered(registry: Registry) -> None:
    registry.receiver.script = [503, 502]
    _accept(registry)
    factory, settings, transport = (
        registry.runtime.factory,
        registry.runtime.settings,
        HttpTransport(),
    )
    now = utc_now()
    waits = []
    for _ in range(2):
        report = deliver_due(factory, transport, settings, now)
        assert report.retrying == 1
        row = _delivery(registry)
        assert row.state == "pending" and row.payload is not None
        waits.append(row.next_attempt_at - now)
        assert deliver_due(factory, transport, settings, now).attempted == 0  # not due yet
        now = row.next_attempt_at
    assert waits[0] < waits[1]
    assert deliver_due(factory, transport, settings, now).delivered == 1
    row = _delivery(registry)
    assert (row.state, row.attempts, row.last_status, row.payload) == ("delivered", 3, 200, None)
    assert registry.receiver.statuses == [503, 502, 200]
    [callback] = registry.receiver.received
    assert_callback(callback)


def test_attempts_are_bounded_and_the_payload_is_dropped(registry: Registry) -> None:
    registry.receiver.script = [500, 500, 500]
    _accept(registry)
    settings = DciSettings(delivery_attempts=3, delivery_backoff_seconds=1)
    now = utc_now()
    for _ in range(3):
        deliver_due(registry.runtime.factory, HttpTransport(), settings, now)
        now += timedelta(hours=1)
    row = _delivery(registry)
    assert (row.state, row.attempts, row.payload) == ("failed", 3, None)
    assert deliver_due(registry.runtime.factory, HttpTransport(), settings, now).attempted == 0


def test_a_client_error_or_a_redirect_is_not_retried_or_followed(registry: Registry) -> None:
    for status in (400, 302):
        registry.receiver.script = [status]
        registry.receiver.statuses.clear()
        with transaction(registry.runtime.factory) as session:
            for row in session.scalars(select(DciDeliveryRow)):
                session.delete(row)
        _accept(registry)
        report = deliver_due(
            registry.runtime.factory, HttpTransport(), registry.runtime.settings, utc_now()
        )
        assert report.failed == 1
        assert registry.receiver.statuses == [status]  # one request, nothing followed
        assert _delivery(registry).last_status == status


def test_a_restart_does_not_lose_a_callback(registry: Registry) -> None:
    port = registry.receiver.port
    registry.receiver.close()  # the sender's system is down
    _accept(registry)
    report = deliver_due(
        registry.runtime.factory, HttpTransport(), registry.runtime.settings, utc_now()
    )
    assert report.retrying == 1
    assert _delivery(registry).last_error is not None
    # Nexo restarts: new runtime and worker over the same store and keys; the sender is back
    again = Receiver(port=port)
    try:
        old = registry.runtime
        runtime = DciRuntime(
            factory=old.factory,
            authenticator=old.authenticator,
            disclosure=old.disclosure,
            keys=load_keyring(old.keys.current.path.parent, create=False),
            settings=old.settings,
            clock=lambda: utc_now() + timedelta(minutes=30),
        )
        result = DciWorker(runtime).run_once()
        assert result.deliveries.delivered == 1
        [callback] = again.received
        assert again.invalid == []
        assert callback["message"]["search_response"][0]["status"] == "succ"
    finally:
        again.close()


def test_a_removed_sender_is_not_called_back(registry: Registry) -> None:
    _accept(registry)
    with transaction(registry.runtime.factory) as session:
        remove_sender(session, sender_id=SENDER)
    report = deliver_due(
        registry.runtime.factory, HttpTransport(), registry.runtime.settings, utc_now()
    )
    assert report.failed == 1 and registry.receiver.statuses == []
    assert "no longer registered" in (_delivery(registry).last_error or "")


def test_a_failing_port_ends_in_a_rejection_callback_without_data(registry: Registry) -> None:
    registry.disclosure.fail = True
    env = signed(
        search_envelope(search_item({"type": "UIN", "value": ANA.run})), registry.keys[SENDER]
    )
    registry.client.post("/registry/search", env)
    start = utc_now()
    for attempt in range(5):
        registry.runtime.clock = lambda n=attempt: start + timedelta(minutes=2 * n)  # type: ignore[misc]
        assert process_pending(registry.runtime) == (1 if attempt == 4 else 0)
    with transaction(registry.runtime.factory) as session:
        txn = session.scalars(select(DciTransactionRow)).one()
        assert (txn.status, txn.attempts, txn.request) == ("rjct", 5, None)
    deliver_due(
        registry.runtime.factory,
        HttpTransport(),
        registry.runtime.settings,
        start + timedelta(hours=1),
    )
    [callback] = registry.receiver.received
    assert_callback(callback)
    assert (
        callback["header"]["status"] == "rjct"
        and "nothing was disclosed" in callback["header"]["status_reason_message"]
    )
    text = str(callback)
    assert not [v for v in personal_values() if v in text]


def test_back_off_grows_and_is_capped() -> None:
    settings = DciSettings(delivery_backoff_seconds=2, delivery_backoff_max_seconds=60)
    rng = random.Random(1)
    waits = [backoff(n, settings, rng) for n in range(1, 10)]
    assert 2 <= waits[0] <= 2.5 and 4 <= waits[1] <= 5 and 8 <= waits[2] <= 10
    assert all(60 <= w <= 75 for w in waits[5:])
