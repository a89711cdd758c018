"""Consent recorded by an agency's system for a person it serves, towards itself.

An agency records consent (and objections) only for itself as recipient and only for persons it
holds a record of; any other person gets the same answer as an unknown one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from nexo.audit.domain import AuditRecord
from nexo.exchange.domain import PersonNotFound
from nexo.exchange.gate import Exchange
from nexo.exchange.repository import ExchangeRepository
from nexo.policy.consent import Channel, ConsentEvent, ConsentKind, ConsentState, state_at
from nexo.policy.decision import Requester
from nexo.policy.repository import ConsentRepository
from nexo.policy.service import consent_event, record_consent


def _own_person(
    session: Session, exchange: Exchange, requester: Requester, person_id: str, action: str
) -> str:
    repo = ExchangeRepository(session)
    current = repo.current_person_id(person_id)
    known = current and requester.agency in {
        k.agency for k in repo.records_of([current]).get(current, [])
    }
    if not current or not known:
        error = PersonNotFound(
            f"no person {person_id!r} is known to agency {requester.agency!r}",
            hint="consent is recorded by an agency for the persons it serves",
        )
        error.audit = AuditRecord(
            kind="request",
            action="",
            decision="deny",
            client_id=requester.client_id,
            agency=requester.agency,
            policy_version=exchange.policy.version,
            subjects=(exchange.keys.subject_ref(person_id),),
            reason=f"subject.unknown: person not known to {requester.agency} ({action})",
        )
        raise error
    return current


def record_for_client(
    session: Session,
    *,
    exchange: Exchange,
    requester: Requester,
    person_id: str,
    purpose: str,
    kind: ConsentKind,
    channel: Channel,
    notice_version: str,
    at: datetime | None,
    expires_at: datetime | None,
    now: datetime,
) -> tuple[ConsentEvent, AuditRecord]:
    exchange.policy.catalogue.require(purpose)
    current = _own_person(session, exchange, requester, person_id, f"consent {kind.value}")
    event = consent_event(
        person_id=current,
        purpose=purpose,
        recipient=requester.agency,
        kind=kind,
        at=at or now,
        channel=channel,
        notice_version=notice_version,
        expires_at=expires_at,
        recorded_at=now,
        recorded_by=requester.client_id,
    )
    stored = record_consent(session, event=event)
    record = AuditRecord(
        kind="request",
        action="",
        decision="recorded",
        client_id=requester.client_id,
        agency=requester.agency,
        purpose=purpose,
        policy_version=exchange.policy.version,
        subjects=(exchange.keys.subject_ref(current),),
        detail={"consent": kind.value, "channel": channel.value, "notice": notice_version},
    )
    return stored, record


def state_for_client(
    session: Session,
    *,
    exchange: Exchange,
    requester: Requester,
    person_id: str,
    purpose: str,
    at: datetime,
) -> tuple[str, ConsentState, AuditRecord]:
    exchange.policy.catalogue.require(purpose)
    current = _own_person(session, exchange, requester, person_id, "consent state")
    events = ConsentRepository(session).events(current, purpose=purpose)
    state = state_at(events, at).get((purpose, requester.agency), ConsentState())
    record = AuditRecord(
        kind="request",
        action="",
        decision="allow",
        client_id=requester.client_id,
        agency=requester.agency,
        purpose=purpose,
        policy_version=exchange.policy.version,
        subjects=(exchange.keys.subject_ref(current),),
        fields=(f"{requester.agency}:consent.{purpose}",),
    )
    return current, state, record
