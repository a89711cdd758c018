"""The exchange use cases: search, person view, verification, demographic match.

Each decides through the gate (``nexo.exchange.gate``), reads only what the decision allows, and
returns the answer with the audit record of the request (or raises an error carrying it). The
API appends that record before the response leaves.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from nexo.audit.domain import AuditRecord
from nexo.exchange.domain import (
    ANSWER_SOURCES,
    MatcherUnavailable,
    Question,
    answer,
    answer_refs,
    minimise,
)
from nexo.exchange.gate import (
    Exchange,
    audit_record,
    authorise,
    decide_each,
    fail,
    refusal,
    screen_request,
)
from nexo.exchange.repository import ExchangeRepository
from nexo.linkage.repository import RecordKey
from nexo.model import Person, normalise_identifier
from nexo.model.identifier import IdentifierScheme
from nexo.policy.decision import Decision, Requester
from nexo.policy.fields import ANSWER, FieldRef

__all__ = [
    "Exchange",
    "authorise",
    "audit_record",
    "match_demographics",
    "person_view",
    "search_by_identifier",
    "verify",
]


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
    in_force = screen_request(exchange, requester, purpose, at, None, [query])
    repo = ExchangeRepository(session)
    records = repo.persons_with_identifier(scheme.value, normalised)
    candidates = set(records)
    hits: list[dict[str, Any]] = []
    decisions: list[Decision] = []
    shown: set[FieldRef] = set()
    decided = decide_each(
        session,
        exchange,
        requester=requester,
        purpose=purpose,
        records={pid: records.get(pid, []) for pid in sorted(candidates)},
        at=at,
        requested=None,
        in_force=in_force,
    )
    for pid, d in decided.items():
        keys = records.get(pid, [])
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
    screen_request(exchange, requester, purpose, at, requested, [person_id])
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
        fail(refusal(exchange, requester, decision, records), record)
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
    screen_request(exchange, requester, purpose, at, requested, [person_id])
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
        fail(refusal(exchange, requester, decision, records), record)
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
    in_force = screen_request(exchange, requester, purpose, at, None, [])
    try:
        if exchange.matcher is None:
            raise MatcherUnavailable(
                "demographic search is not available: no person matcher is configured",
                hint="run the linkage part (nexo link run) so the online matcher can load, or "
                "search by identifier",
            )
        found = [
            c
            for c in exchange.matcher.match(person, top_k=5)
            if c.probability >= exchange.match_threshold
        ]
    except MatcherUnavailable as e:
        record = audit_record(
            exchange,
            requester=requester,
            purpose=purpose,
            decisions=[],
            subjects=[],
            decision="error",
        )
        fail(e, record)
    repo = ExchangeRepository(session)
    ids = {c.person_id for c in found}
    records = repo.records_of(ids)
    decided = decide_each(
        session,
        exchange,
        requester=requester,
        purpose=purpose,
        records={pid: records.get(pid, []) for pid in sorted(ids)},
        at=at,
        requested=None,
        in_force=in_force,
    )
    hits: list[dict[str, Any]] = []
    decisions: list[Decision] = []
    for c in sorted(found, key=lambda c: -c.probability):
        d = decided[c.person_id]
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
