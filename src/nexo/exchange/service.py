"""The exchange use cases: search, person view, verification, demographic match.

Every function decides with the pure policy decision, reads only what the decision allows, and
returns the answer together with the audit record of the request (or raises an error that
carries it). The API appends that record before the response leaves; other callers (the DCI
registry API) use ``authorise`` and ``audit_record`` the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy.orm import Session

from nexo.audit.domain import AuditRecord
from nexo.auth.keys import KeyStore
from nexo.exchange.domain import (
    ANSWER_SOURCES,
    AccessDenied,
    ExchangeError,
    MatcherUnavailable,
    PersonNotFound,
    Question,
    answer,
    answer_refs,
    minimise,
)
from nexo.exchange.matching import Matcher
from nexo.exchange.repository import ExchangeRepository
from nexo.linkage.repository import RecordKey
from nexo.model import Person, normalise_identifier
from nexo.model.identifier import IdentifierScheme
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
from nexo.policy.fields import ANSWER, FieldRef
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
) -> AuditRecord:
    """The audit record of one request: who, why, under what, about whom, what was shown."""
    used = {a.key: a for d in decisions for a in d.agreements}
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


def _fail(error: ExchangeError, record: AuditRecord) -> NoReturn:
    error.audit = record
    raise error


def _screen(
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
        _fail(AccessDenied(denial, hint="GET /v1/agreements lists what you may ask"), record)
    return in_force


def _needs_consent(in_force: tuple[Agreement, ...]) -> bool:
    return any(a.consent_required or a.honours_objection for a in in_force)


def _decide(
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
    decision = _decide(
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


def _refuse(
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


def _load_facts(
    repo: ExchangeRepository, records: list[RecordKey], entities: Mapping[str, set[str]]
) -> dict[str, list[dict[str, Any]]]:
    """Facts of the entities needed, from the agencies whose data may be used for each."""
    facts: dict[str, list[dict[str, Any]]] = {}
    for entity, agencies in entities.items():
        keys = [k for k in records if k.agency in agencies]
        if not keys:
            continue
        if entity == "person":
            facts[entity] = repo.person_records(keys, with_identifiers=True)
        elif entity == "household":
            facts[entity] = repo.households(keys)
        else:
            facts[entity] = repo.facts(entity, keys)
    return facts


def _entities(allowed: frozenset[FieldRef]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in allowed:
        entity = ANSWER_SOURCES[r.field] if r.entity == ANSWER else r.entity
        out.setdefault(entity, set()).add(r.agency)
    return out


def search_by_identifier(
    session: Session,
    *,
    exchange: Exchange,
    requester: Requester,
    purpose: str,
    scheme: IdentifierScheme,
    value: str,
    at: datetime,
) -> tuple[list[dict[str, Any]], AuditRecord]:
    """Persons with the identifier that the client may see, with their allowed person fields."""
    normalised = normalise_identifier(scheme, value)
    query = f"{scheme.value}:{normalised}"
    in_force = _screen(exchange, requester, purpose, at, None, [query])
    repo = ExchangeRepository(session)
    candidates = repo.persons_with_identifier(scheme.value, normalised)
    records = repo.records_of(candidates)
    hits: list[dict[str, Any]] = []
    decisions: list[Decision] = []
    shown: set[FieldRef] = set()
    for pid in sorted(candidates):
        keys = records.get(pid, [])
        subject = Subject(pid, frozenset(k.agency for k in keys))
        d = _decide(
            session,
            exchange,
            requester=requester,
            purpose=purpose,
            subject=subject,
            at=at,
            requested=None,
            in_force=in_force,
        )
        decisions.append(d)
        if not d.allowed:
            continue
        person_refs = frozenset(r for r in d.allowed if r.entity == "person")
        facts = _load_facts(repo, keys, _entities(person_refs)) if person_refs else {}
        view, refs = minimise(facts, person_refs)
        shown |= refs
        hits.append({"person_id": pid, "records": view})
    effect = "allow" if hits or not candidates else "deny"
    record = audit_record(
        exchange,
        requester=requester,
        purpose=purpose,
        decisions=decisions,
        subjects=[query, *sorted(candidates)],
        fields=frozenset(shown),
        decision=effect,
    )
    return hits, record


def person_view(
    session: Session,
    *,
    exchange: Exchange,
    requester: Requester,
    purpose: str,
    person_id: str,
    requested: frozenset[FieldRef] | None,
    at: datetime,
) -> tuple[dict[str, Any], AuditRecord]:
    """The person's records from every agency, reduced to what the agreements allow."""
    _screen(exchange, requester, purpose, at, requested, [person_id])
    decision, records = authorise(
        session,
        exchange=exchange,
        requester=requester,
        purpose=purpose,
        person_id=person_id,
        requested=requested,
        at=at,
    )
    data_refs = frozenset(r for r in decision.allowed if r.entity != ANSWER)
    if not data_refs:
        record = audit_record(
            exchange,
            requester=requester,
            purpose=purpose,
            decisions=[decision],
            subjects=[person_id],
            decision="deny",
        )
        _fail(_refuse(exchange, requester, decision, records), record)
    repo = ExchangeRepository(session)
    view, shown = minimise(_load_facts(repo, records, _entities(data_refs)), data_refs)
    record = audit_record(
        exchange,
        requester=requester,
        purpose=purpose,
        decisions=[decision],
        subjects=[decision.person_id or person_id],
        fields=shown,
        decision="partial" if decision.withheld else "allow",
    )
    payload = {
        "person_id": decision.person_id,
        "records": view,
        "withheld": sorted(str(r) for r in decision.withheld),
    }
    return payload, record


def verify(
    session: Session,
    *,
    exchange: Exchange,
    requester: Requester,
    purpose: str,
    person_id: str,
    question: Question,
    at: datetime,
) -> tuple[bool, AuditRecord]:
    """A yes/no answer computed from the agencies whose answer the agreements allow."""
    requested = answer_refs(question.name, exchange.policy.agencies())
    _screen(exchange, requester, purpose, at, requested, [person_id])
    decision, records = authorise(
        session,
        exchange=exchange,
        requester=requester,
        purpose=purpose,
        person_id=person_id,
        requested=requested,
        at=at,
    )
    if not decision.allowed:
        record = audit_record(
            exchange,
            requester=requester,
            purpose=purpose,
            decisions=[decision],
            subjects=[person_id],
            decision="deny",
        )
        _fail(_refuse(exchange, requester, decision, records), record)
    facts = _load_facts(ExchangeRepository(session), records, _entities(decision.allowed))
    result = answer(question, facts)
    record = audit_record(
        exchange,
        requester=requester,
        purpose=purpose,
        decisions=[decision],
        subjects=[decision.person_id or person_id],
        fields=decision.allowed,
        decision="allow",
    )
    return result, record


def match_demographics(
    session: Session,
    *,
    exchange: Exchange,
    requester: Requester,
    purpose: str,
    person: Person,
    at: datetime,
) -> tuple[list[dict[str, Any]], AuditRecord]:
    """Persons the matcher finds above the threshold that the client may see."""
    in_force = _screen(exchange, requester, purpose, at, None, [])
    if exchange.matcher is None:
        record = audit_record(
            exchange,
            requester=requester,
            purpose=purpose,
            decisions=[],
            subjects=[],
            decision="error",
        )
        _fail(
            MatcherUnavailable(
                "demographic search is not available: no person matcher is configured",
                hint="run the linkage part (nexo link) so the online matcher can load, or "
                "search by identifier",
            ),
            record,
        )
    assert exchange.matcher is not None
    found = [
        c
        for c in exchange.matcher.match(person, top_k=5)
        if c.probability >= exchange.match_threshold
    ]
    repo = ExchangeRepository(session)
    ids = {c.person_id for c in found}
    records = repo.records_of(ids)
    hits: list[dict[str, Any]] = []
    decisions: list[Decision] = []
    for c in sorted(found, key=lambda c: -c.probability):
        keys = records.get(c.person_id, [])
        subject = Subject(c.person_id, frozenset(k.agency for k in keys))
        d = _decide(
            session,
            exchange,
            requester=requester,
            purpose=purpose,
            subject=subject,
            at=at,
            requested=None,
            in_force=in_force,
        )
        decisions.append(d)
        if d.allowed and c.person_id not in {h["person_id"] for h in hits}:
            hits.append({"person_id": c.person_id, "probability": round(c.probability, 4)})
    record = audit_record(
        exchange,
        requester=requester,
        purpose=purpose,
        decisions=decisions,
        subjects=sorted(ids),
        decision="allow" if hits or not found else "deny",
    )
    return hits, record
