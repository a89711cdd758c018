"""Consent: an append-only history whose state can be rebuilt at any past moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from nexo.errors import UsageError
from nexo.policy.consent import Channel, ConsentEvent, ConsentKind, ConsentStatus, state_at
from nexo.policy.service import consent_history, consent_view, record_consent
from nexo.store.engine import transaction

T = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
KEY = ("activation-support", "employment")


def event(kind: ConsentKind, at: datetime, **kw: object) -> ConsentEvent:
    return ConsentEvent(
        person_id="p1",
        purpose="activation-support",
        recipient="employment",
        kind=kind,
        at=at,
        channel=Channel.PORTAL,
        notice_version="2026-01",
        recorded_at=kw.pop("recorded_at", at),
        recorded_by="test",
        **kw,  # type: ignore[arg-type]
    )


def test_state_at_any_moment() -> None:
    history = [
        event(ConsentKind.GRANTED, T, expires_at=T + timedelta(days=30)),
        event(ConsentKind.WITHDRAWN, T + timedelta(days=5)),
        event(ConsentKind.GRANTED, T + timedelta(days=10)),
        event(ConsentKind.OBJECTED, T + timedelta(days=11)),
    ]
    assert KEY not in state_at(history, T - timedelta(seconds=1))
    assert state_at(history, T)[KEY].status is ConsentStatus.GRANTED
    assert state_at(history, T + timedelta(days=5))[KEY].status is ConsentStatus.WITHDRAWN
    later = state_at(history, T + timedelta(days=12))[KEY]
    assert later.granted and later.objection
    # the first grant would have lapsed on its own after 30 days
    only_first = history[:1]
    assert state_at(only_first, T + timedelta(days=30))[KEY].status is ConsentStatus.EXPIRED


def test_replay_uses_only_what_was_known() -> None:
    backdated = event(
        ConsentKind.WITHDRAWN, T + timedelta(days=1), recorded_at=T + timedelta(days=3)
    )
    history = [event(ConsentKind.GRANTED, T), backdated]
    day2 = T + timedelta(days=2)
    assert state_at(history, day2)[KEY].status is ConsentStatus.WITHDRAWN
    assert state_at(history, day2, known_at=day2)[KEY].status is ConsentStatus.GRANTED


def test_history_is_stored_and_rebuilt(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        record_consent(s, event=event(ConsentKind.GRANTED, T))
        record_consent(s, event=event(ConsentKind.WITHDRAWN, T + timedelta(hours=1)))
    with transaction(factory) as s:
        kinds = [e.kind for e in consent_history(s, person_id="p1")]
        assert kinds == [ConsentKind.GRANTED, ConsentKind.WITHDRAWN]
        assert consent_view(s, person_id="p1", at=T)[KEY].granted
        assert not consent_view(s, person_id="p1", at=T + timedelta(hours=2))[KEY].granted
    with pytest.raises(UsageError, match="future"), transaction(factory) as s:
        future = event(ConsentKind.GRANTED, T + timedelta(days=1), recorded_at=T)
        record_consent(s, event=future)
