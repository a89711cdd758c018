"""The gate every disclosure passes: screen the request, decide for the subject, say no safely,
and write down what happened.

Callable from any router (the exchange API, the DCI registry API): ``authorise`` gives the pure
decision for one subject with the subject's records, ``audit_record`` the entry to append
before answering, and ``refusal`` the error to raise when nothing may be disclosed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from sqlalchemy.orm import Session

from nexo.audit.domain import AuditRecord
from nexo.auth.keys import KeyStore
from nexo.exchange.domain import AccessDenied, ExchangeError, PersonNotFound
from nexo.exchange.matching import Matcher
from nexo.exchange.repository import ExchangeRepository
from nexo.linkage.repository import RecordKey
from nexo.policy.consent import ConsentView
from nexo.policy.decision import (
    SUBJECT_RULES,
    Decision,
    Denial,
    Requester,
    Rule,
    Subject,
    decide,
    screen,
)
from nexo.policy.domain import Agreement, AgreementSet
from nexo.policy.fields import FieldRef
from nexo.policy.service import consent_view


@dataclass(frozen=True)
class Exchange:
    """What every exchange request needs: the policy in force, Nexo's keys, the matcher."""

    policy: AgreementSet
    keys: KeyStore
    matcher: Matcher | None = None
    match_threshold: float = 0.95


def audit_record(
    exchange: Exchange,
    *,
    requester: Requester,
    purpose: str,
    decisions: list[Decision],
    subjects: list[str],
    fields: frozenset[FieldRef] = frozenset(),
    denial: Denial | None = None,
    decision: str | None = None,
    agreements: tuple[Agreement, ...] = (),
) -> AuditRecord:
    """The audit record of one request: who, why, under what, about whom, what was shown.
    ``agreements`` adds agreements relied on beyond the decisions' (a subscription's)."""
    used = {a.key: a for d in decisions for a in d.agreements}
    used |= {a.key: a for a in agreements}
    first = denial or next((d.first_denial() for d in decisions if d.first_denial()), None)
    effect = decision or ("allow" if fields else "deny")
    return AuditRecord(
        kind="request",
        action="",
        decision=effect,
        client_id=requester.client_id,
        agency=requester.agency,
        purpose=purpose,
        legal_bases=tuple(sorted({a.legal_basis.value for a in used.values()})),
        agreements=tuple(sorted(used)),
        accountable=tuple(sorted({a.accountable for a in used.values()})),
        policy_version=exchange.policy.version,
        subjects=tuple(exchange.keys.subject_ref(s) for s in subjects),
        fields=tuple(sorted(str(f) for f in fields)),
        reason=f"{first.rule.value}: {first.message}" if first and effect != "allow" else None,
    )


def fail(error: ExchangeError, record: AuditRecord) -> NoReturn:
    error.audit = record
    raise error


def screen_request(
    exchange: Exchange,
    requester: Requester,
    purpose: str,
    at: datetime,
    requested: frozenset[FieldRef] | None,
    subjects: list[str],
) -> tuple[Agreement, ...]:
    """Subject-independent checks: may this client ask this for this purpose at all?"""
    in_force, denial = screen(exchange.policy, requester=requester, purpose=purpose, at=at)
    if denial is None and requested is not None:
        granted = frozenset(r for a in in_force for r in a.refs())
        if not requested & granted:
            shown = ", ".join(sorted(str(r) for r in requested)[:5])
            denial = Denial(
                Rule.FIELD,
                f"no agreement in force grants {shown} to {requester.agency!r} "
                f"for purpose {purpose!r}",
            )
    if denial is not None:
        record = audit_record(
            exchange,
            requester=requester,
            purpose=purpose,
            decisions=[],
            subjects=subjects,
            denial=denial,
        )
        fail(AccessDenied(denial, hint="GET /v1/agreements lists what you may ask"), record)
    return in_force


def _needs_consent(in_force: tuple[Agreement, ...]) -> bool:
    return any(a.consent_required or a.honours_objection for a in in_force)


def decide_for(
    session: Session,
    exchange: Exchange,
    *,
    requester: Requester,
    purpose: str,
    subject: Subject,
    at: datetime,
    requested: frozenset[FieldRef] | None,
    in_force: tuple[Agreement, ...],
) -> Decision:
    consent: ConsentView = (
        consent_view(session, person_id=subject.person_id, at=at)
        if _needs_consent(in_force)
        else {}
    )
    return decide(
        exchange.policy,
        requester=requester,
        purpose=purpose,
        subject=subject,
        consent=consent,
        at=at,
        requested=requested,
    )


def decide_each(
    session: Session,
    exchange: Exchange,
    *,
    requester: Requester,
    purpose: str,
    records: Mapping[str, Sequence[RecordKey]],
    at: datetime,
    requested: frozenset[FieldRef] | None,
    in_force: tuple[Agreement, ...],
) -> dict[str, Decision]:
    """The decision for each person of ``records`` (person id → the person's records), in the
    order given."""
    return {
        pid: decide_for(
            session,
            exchange,
            requester=requester,
            purpose=purpose,
            subject=Subject(pid, frozenset(k.agency for k in keys)),
            at=at,
            requested=requested,
            in_force=in_force,
        )
        for pid, keys in records.items()
    }


def authorise(
    session: Session,
    *,
    exchange: Exchange,
    requester: Requester,
    purpose: str,
    person_id: str,
    requested: frozenset[FieldRef] | None,
    at: datetime,
) -> tuple[Decision, list[RecordKey]]:
    """The decision for one subject, with the subject's records (empty if unknown).

    For callers outside this part (the DCI registry API): read only ``decision.allowed`` and
    append ``audit_record(...)`` before answering.
    """
    repo = ExchangeRepository(session)
    current = repo.current_person_id(person_id)
    if current is None:
        denial = Denial(Rule.SUBJECT_UNKNOWN, f"no person {person_id!r} in the person index")
        return Decision(
            exchange.policy.version, requester, purpose, person_id, at, denials=(denial,)
        ), []
    records = repo.records_of([current]).get(current, [])
    subject = Subject(current, frozenset(k.agency for k in records))
    in_force, _ = screen(exchange.policy, requester=requester, purpose=purpose, at=at)
    decision = decide_for(
        session,
        exchange,
        requester=requester,
        purpose=purpose,
        subject=subject,
        at=at,
        requested=requested,
        in_force=in_force,
    )
    return decision, records


def refusal(
    exchange: Exchange, requester: Requester, decision: Decision, records: list[RecordKey]
) -> PersonNotFound | AccessDenied:
    """Tell the reason only when it cannot reveal anything the client does not know already."""
    known_to = {k.agency for k in records}
    subject_denials = [d for d in decision.denials if d.rule in SUBJECT_RULES]
    by_key = {a.key: a for a in exchange.policy.agreements}
    reveal = (
        requester.agency in known_to
        and bool(subject_denials)
        and all(d.rule in (Rule.CONSENT, Rule.OBJECTION) for d in subject_denials)
        and all(
            by_key[d.agreement].known_to() <= {requester.agency}
            for d in subject_denials
            if d.agreement in by_key
        )
    )
    if reveal:
        return AccessDenied(subject_denials[0], hint="record the person's consent, then ask again")
    return PersonNotFound(
        f"no person {decision.person_id!r} is shared with {requester.client_id!r} for purpose "
        f"{decision.purpose!r}",
        hint="check the id; a person outside your agreements looks the same as an unknown one",
    )
