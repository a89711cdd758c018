"""Authorisation matrix: every client × endpoint × purpose × consent state × agreement window
(× subject), over HTTP, proving that nothing is disclosed outside the agreements.

The expected disclosure of each cell is read from the agreements themselves (who receives what
from whom, for which purpose, in which window, for persons known to whom, with which consent);
every field a response shows must be in it, and a refusal must not tell an unknown person from
a person the client may not see.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from api_support import make_api
from exchange_world import RUN_A, RUN_B, RUN_C
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from nexo.audit.tables import AuditEntryRow
from nexo.policy.consent import Channel, ConsentEvent, ConsentKind
from nexo.policy.fields import FieldRef
from nexo.policy.loader import load_policy
from nexo.policy.service import record_consent
from nexo.store.engine import make_engine, session_factory, transaction
from nexo.store.migrate import upgrade

POLICY = load_policy()
CLIENTS = {"soc-client": "social", "pes-client": "employment", "tax-client": "tax"}
PURPOSES = [p.id for p in POLICY.catalogue.purposes] + ["unlisted-purpose"]
WINDOWS = {
    "before": datetime(2025, 6, 1, 12, tzinfo=UTC),  # only the first means-test version
    "in-force": datetime(2026, 6, 30, 12, tzinfo=UTC),
    "after": datetime(2031, 6, 1, 12, tzinfo=UTC),  # only the open-ended agreements
}
CONSENT_STATES = ["none", "granted", "withdrawn", "objected"]
SUBJECTS = {  # label → (agencies holding a record, identifier)
    "both": ({"employment", "social"}, RUN_A),
    "employment_only": ({"employment"}, RUN_B),
    "social_only": ({"social"}, RUN_C),
    "unknown": (set(), "19999999-9"),
}
QUESTIONS = [  # one answer computed from each agency's records
    {"question": "employed_on", "on": "2025-06-01"},
    {"question": "receives_benefit", "programme": "income-support", "on": "2026-03-01"},
]
UNKNOWN_ID = "nx99999999999999999999"


def expected(agency: str, purpose: str, agencies: set[str], consent: str, at: datetime) -> set[str]:
    """What the agreements allow, straight from their text."""
    out: set[str] = set()
    for a in POLICY.agreements:
        if a.parties.recipient != agency or a.purpose != purpose:
            continue
        if not (a.valid_from <= at and (a.valid_until is None or at < a.valid_until)):
            continue
        if not a.known_to() <= agencies:
            continue
        if a.consent_required and consent != "granted":
            continue
        if a.honours_objection and consent == "objected":
            continue
        out |= {str(r) for r in a.refs()}
    return out


def _set_consent(factory: sessionmaker[Session], pids: list[str], state: str, step: int) -> None:
    """Move every person's consent (all purposes, all recipients) to ``state``, effective from
    before the earliest window; events are appended, never changed."""
    at = datetime(2025, 1, 1, 0, step, tzinfo=UTC)
    kinds = {
        "none": [ConsentKind.WITHDRAWN, ConsentKind.OBJECTION_WITHDRAWN],
        "granted": [ConsentKind.GRANTED],
        "withdrawn": [ConsentKind.WITHDRAWN],
        "objected": [ConsentKind.OBJECTED],
    }[state]
    with transaction(factory) as s:
        for pid, purpose, recipient, kind in itertools.product(
            pids, PURPOSES[:-1], CLIENTS.values(), kinds
        ):
            record_consent(
                s,
                event=ConsentEvent(
                    person_id=pid,
                    purpose=purpose,
                    recipient=recipient,
                    kind=kind,
                    at=at,
                    channel=Channel.PAPER,
                    notice_version="1",
                    recorded_at=at,
                    recorded_by="matrix",
                ),
            )


def _shown(records: dict[str, Any]) -> set[str]:
    return {
        f"{agency}:{entity}.{field}"
        for agency, entities in records.items()
        for entity, rows in entities.items()
        for row in rows
        for field in row
    }


def _norm(r: Any, *ids: str) -> str:
    body = r.text
    for v in (r.headers.get("x-request-id", ""), *ids):
        body = body.replace(v, "X")
    return f"{r.status_code} {body}"


def _refusal_ok(r: Any, agency: str, agencies: set[str], allowed_any: set[str]) -> None:
    """A refusal names a rule that does not depend on the subject, or is a uniform 404; a
    consent refusal only for a person the client's own agency already holds."""
    assert r.status_code in (403, 404), r.text
    doc = r.json()
    if r.status_code == 403:
        if doc["rule"] in ("consent.required", "objection.recorded"):
            assert agency in agencies, doc
        else:
            assert doc["rule"] in (
                "purpose.unknown",
                "agreement.missing",
                "agreement.purpose",
                "agreement.window",
                "field.not_granted",
            ), doc


@pytest.mark.slow
def test_authorisation_matrix(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'matrix.db'}")
    upgrade(engine)
    factory = session_factory(engine)
    api = make_api(factory, tmp_path / "home")
    pids = {label: api.world.pid[label] for label in SUBJECTS if label != "unknown"}
    pids["unknown"] = UNKNOWN_ID
    headers = {c: api.headers(c) for c in CLIENTS}
    requests = 0
    for step, consent in enumerate(CONSENT_STATES):
        _set_consent(factory, [pids[k] for k in SUBJECTS if k != "unknown"], consent, step)
        for (window, at), (client, agency), purpose in itertools.product(
            WINDOWS.items(), CLIENTS.items(), PURPOSES
        ):
            api.clock.now = at
            h = headers[client]
            baseline: dict[str, str] = {}
            for label, (agencies, identifier) in SUBJECTS.items():
                pid = pids[label]
                allowed = expected(agency, purpose, agencies, consent, at)
                cell = (consent, window, client, purpose, label)
                # search by identifier
                r = api.client.post(
                    "/v1/persons/search",
                    headers=h,
                    json={
                        "purpose": purpose,
                        "identifier": {"scheme": "cl-run", "value": identifier},
                    },
                )
                requests += 1
                if r.status_code == 200:
                    hits = r.json()["results"]
                    if not allowed:
                        assert hits == [], cell
                        baseline.setdefault("search", _norm(r))
                        assert _norm(r) == baseline["search"], cell  # same as for nobody
                    for hit in hits:
                        assert hit["person_id"] == pid, cell
                        assert _shown(hit["records"]) <= allowed, cell
                else:
                    assert not allowed and r.status_code == 403, (cell, r.text)
                # person view
                r = api.client.get(f"/v1/persons/{pid}", params={"purpose": purpose}, headers=h)
                requests += 1
                data_allowed = {f for f in allowed if ":answer." not in f}
                if r.status_code == 200:
                    assert data_allowed, cell
                    assert _shown(r.json()["records"]) <= data_allowed, cell
                else:
                    assert not data_allowed, (cell, r.text)
                    _refusal_ok(r, agency, agencies, allowed)
                    if r.status_code == 404:
                        baseline.setdefault("view", _norm(r, pid))
                        assert _norm(r, pid) == baseline["view"], cell
                # verification questions
                for q in QUESTIONS:
                    r = api.client.post(
                        f"/v1/persons/{pid}/verify", headers=h, json={"purpose": purpose, **q}
                    )
                    requests += 1
                    answer_refs = {f for f in allowed if f.endswith(f":answer.{q['question']}")}
                    if r.status_code == 200:
                        assert answer_refs, (cell, q)
                        assert set(r.json()) == {
                            "person_id",
                            "purpose",
                            "question",
                            "on",
                            "answer",
                            "policy_version",
                        }
                    else:
                        assert not answer_refs, (cell, q, r.text)
                        _refusal_ok(r, agency, agencies, allowed)
                        if r.status_code == 404:
                            key = f"verify-{q['question']}"
                            baseline.setdefault(key, _norm(r, pid))
                            assert _norm(r, pid) == baseline[key], (cell, q)
    # every one of those requests left an audit entry
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(AuditEntryRow)) == requests
        decisions = [json.loads(b)["decision"] for b in s.scalars(select(AuditEntryRow.body))]
    assert {"allow", "deny"} <= set(decisions)
    assert FieldRef.parse("employment:answer.employed_on")  # the refs above are real refs
