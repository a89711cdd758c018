"""The exchange API as an agency's system meets it: search, views, answers, consent, errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from api_support import Api
from exchange_world import RUN_A, RUN_B
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from nexo.api.app import create_app
from nexo.audit.tables import AuditEntryRow
from nexo.model import Person
from nexo.store.engine import transaction


def _search(api: Api, client: str, purpose: str, value: str) -> Any:
    return api.client.post(
        "/v1/persons/search",
        json={"purpose": purpose, "identifier": {"scheme": "cl-run", "value": value}},
        headers=api.headers(client),
    )


def _view(api: Api, client: str, pid: str, purpose: str, **params: str) -> Any:
    return api.client.get(
        f"/v1/persons/{pid}", params={"purpose": purpose, **params}, headers=api.headers(client)
    )


def _ask(api: Api, client: str, pid: str, **body: Any) -> Any:
    return api.client.post(f"/v1/persons/{pid}/verify", json=body, headers=api.headers(client))


def _audit(api: Api) -> list[dict[str, Any]]:
    with transaction(api.factory) as s:
        return [
            json.loads(b) for b in s.scalars(select(AuditEntryRow.body).order_by(AuditEntryRow.idx))
        ]


def _same(a: Any, b: Any, *ids: str) -> bool:
    """Two responses identical but for their request ids (and the ids the caller sent)."""

    def norm(r: Any) -> str:
        body = r.text
        for v in (r.headers.get("x-request-id", ""), *ids):
            body = body.replace(v, "X") if v else body
        return f"{r.status_code} {r.headers.get('content-type')} {body}"

    return norm(a) == norm(b)


def test_search_finds_only_persons_the_agreements_cover(api: Api) -> None:
    r = _search(api, "soc-client", "case-management", "11.111.111-1")
    assert r.status_code == 200, r.text
    [hit] = r.json()["results"]
    assert hit["person_id"] == api.world.pid["both"]
    person = hit["records"]["social"]["person"][0]
    assert person["given_names"] == "Ana" and person["birth_date"] == "1990-05-17"
    assert "employment" not in hit["records"]  # the employment record is not the social's to see
    assert r.headers["nexo-audit-entry"].isdigit()
    # a person known only to the employment service is invisible to the social agency, exactly
    # as if the identifier were unknown
    hidden = _search(api, "soc-client", "case-management", RUN_B)
    unknown = _search(api, "soc-client", "case-management", "99999999-9")
    assert hidden.json()["results"] == [] and _same(hidden, unknown)


def test_person_view_is_minimised_to_the_purpose(api: Api) -> None:
    pid = api.world.pid["both"]
    r = _view(api, "soc-client", pid, "benefit-eligibility")
    assert r.status_code == 200, r.text
    assert r.json()["records"] == {
        "employment": {
            "job_seeker_registration": [
                {"status": "active", "start_date": "2026-02-01", "end_date": None}
            ]
        }
    }
    own = _view(api, "soc-client", pid, "case-management").json()["records"]["social"]
    assert own["household"] == [{"size": 3, "registered_on": "2020-01-01", "relationship": "head"}]
    assert own["benefit_enrolment"][0]["monthly_amount"] == "120000.00"
    narrowed = _view(
        api,
        "soc-client",
        pid,
        "benefit-eligibility",
        fields="employment:job_seeker_registration.status,employment:employment_episode.monthly_wage",
    ).json()
    assert narrowed["records"]["employment"]["job_seeker_registration"] == [{"status": "active"}]
    assert narrowed["withheld"] == ["employment:employment_episode.monthly_wage"]
    asked_only_withheld = _view(
        api, "soc-client", pid, "benefit-eligibility", fields="employment:employment_episode"
    )
    assert asked_only_withheld.status_code == 403
    assert asked_only_withheld.json()["rule"] == "field.not_granted"


def test_verification_answers_yes_or_no_and_nothing_else(api: Api) -> None:
    pid = api.world.pid["both"]
    q = {"purpose": "benefit-eligibility"}
    cases = [
        ({"question": "employed_on", "on": "2025-06-01"}, True),
        ({"question": "employed_on", "on": "2026-06-30"}, False),  # the job ended in January
        ({"question": "monthly_income_above", "amount": "499999.99", "on": "2025-06-01"}, True),
        ({"question": "monthly_income_above", "amount": "500000", "on": "2025-06-01"}, False),
        ({"question": "is_registered_job_seeker"}, True),
    ]
    for body, expected in cases:
        r = _ask(api, "soc-client", pid, **q, **body)
        assert r.status_code == 200, r.text
        assert r.json()["answer"] is expected, body
        assert set(r.json()) == {
            "person_id",
            "purpose",
            "question",
            "on",
            "answer",
            "policy_version",
        }
    entry = _audit(api)[-1]
    assert entry["fields"] == ["employment:answer.is_registered_job_seeker"]
    assert entry["legal_bases"] == ["legal_obligation"]
    assert entry["accountable"] == ["Social protection agency, data protection officer"]
    # the social agency may not ask about benefits for this purpose: a named, subject-free refusal
    r = _ask(api, "soc-client", pid, question="receives_benefit", programme="x", **q)
    assert r.status_code == 403 and r.json()["rule"] == "field.not_granted"
    missing = _ask(api, "soc-client", pid, question="monthly_income_above", **q)
    assert missing.status_code == 422 and "needs an amount" in missing.json()["detail"]


def test_withdrawal_is_denied_on_the_very_next_request_and_audited(api: Api) -> None:
    pid = api.world.pid["both"]
    h = api.headers("pes-client")
    ask = {
        "purpose": "activation-support",
        "question": "receives_benefit",
        "programme": "income-support",
    }
    before = _ask(api, "pes-client", pid, **ask)
    assert before.status_code == 403 and before.json()["rule"] == "consent.required"
    consent = {"purpose": "activation-support", "channel": "caseworker", "notice_version": "v3"}
    r = api.client.post(
        f"/v1/persons/{pid}/consent-events", json={**consent, "kind": "granted"}, headers=h
    )
    assert r.status_code == 201, r.text
    granted = _ask(api, "pes-client", pid, **ask)
    assert granted.status_code == 200 and granted.json()["answer"] is True
    view = _view(api, "pes-client", pid, "activation-support").json()["records"]
    assert view["social"]["benefit_enrolment"][0]["programme_code"] == "income-support"
    assert "monthly_amount" not in view["social"]["benefit_enrolment"][0]
    withdraw = {**consent, "kind": "withdrawn", "channel": "portal"}
    r = api.client.post(f"/v1/persons/{pid}/consent-events", json=withdraw, headers=h)
    assert r.status_code == 201
    after = _ask(api, "pes-client", pid, **ask)
    assert after.status_code == 403 and "consent is withdrawn since" in after.json()["detail"]
    state = api.client.get(
        f"/v1/persons/{pid}/consent", params={"purpose": "activation-support"}, headers=h
    ).json()
    assert state["status"] == "withdrawn"
    denied = _audit(api)[-2]  # the last entry is the state read
    assert denied["decision"] == "deny" and denied["status"] == 403
    assert denied["reason"].startswith("consent.required:") and denied["client_id"] == "pes-client"
    assert denied["subjects"] == [api.keys.subject_ref(pid)]
    # an agency cannot record consent for a person it does not serve: looks unknown
    other = api.client.post(
        f"/v1/persons/{api.world.pid['social_only']}/consent-events",
        json={**consent, "kind": "granted"},
        headers=h,
    )
    nobody = api.client.post(
        "/v1/persons/nx-none/consent-events", json={**consent, "kind": "granted"}, headers=h
    )
    assert other.status_code == nobody.status_code == 404


def test_unknown_and_not_allowed_persons_look_the_same(api: Api) -> None:
    hidden = api.world.pid["social_only"]  # not known to the employment service
    for purpose in ("activation-support", "identity-verification"):
        a = _view(api, "pes-client", hidden, purpose)
        b = _view(api, "pes-client", "nx00000000000000000000", purpose)
        assert a.status_code == 404 and _same(a, b, hidden, "nx00000000000000000000")
        c = _ask(
            api,
            "pes-client",
            hidden,
            purpose=purpose,
            question="receives_benefit",
            programme="child-allowance",
        )
        d = _ask(
            api,
            "pes-client",
            "nx00000000000000000000",
            purpose=purpose,
            question="receives_benefit",
            programme="child-allowance",
        )
        assert _same(c, d, hidden, "nx00000000000000000000")


def test_every_error_is_a_problem_document_that_says_what_to_fix(api: Api) -> None:
    h = api.headers("soc-client")
    c = api.client
    cases = {
        "no token": c.get("/v1/purposes"),
        "bad token": c.get("/v1/purposes", headers={"Authorization": "Bearer abc.def.ghi"}),
        "unknown route": c.get("/v1/nothing-here", headers=h),
        "wrong method": c.delete("/v1/persons/search", headers=h),
        "invalid body": c.post("/v1/persons/search", json={"purpose": "x", "extra": 1}, headers=h),
        "unknown purpose": _view(api, "soc-client", "p1", "no-such-purpose"),
        "too large": c.post(
            "/v1/persons/search",
            content=b"{" + b" " * 70_000 + b"}",
            headers={**h, "content-type": "application/json"},
        ),
        "bad fields": _view(api, "soc-client", "p1", "case-management", fields="nonsense"),
    }
    expected = {
        "no token": (401, "unauthenticated"),
        "bad token": (401, "unauthenticated"),
        "unknown route": (404, "not-found"),
        "wrong method": (405, "method-not-allowed"),
        "invalid body": (422, "validation"),
        "unknown purpose": (403, "access-denied"),
        "too large": (413, "payload-too-large"),
        "bad fields": (400, "bad-request"),
    }
    for name, r in cases.items():
        status, code = expected[name]
        assert r.status_code == status, (name, r.text)
        assert r.headers["content-type"] == "application/problem+json", name
        doc = r.json()
        assert doc["type"] == f"/problems/{code}" and doc["status"] == status, name
        assert doc["detail"] and doc["title"] and doc["instance"].startswith("urn:nexo:request:")
        assert doc.get("hint") or doc.get("errors"), name
    assert cases["no token"].headers["www-authenticate"].startswith("Bearer")
    assert cases["wrong method"].headers["allow"] == "POST"
    assert {e["location"] for e in cases["invalid body"].json()["errors"]} == {
        "body.identifier",
        "body.extra",
    }
    assert cases["unknown purpose"].json()["rule"] == "purpose.unknown"
    # every request to the API was audited, refusals included
    assert len(_audit(api)) == len(cases)


def test_rate_limit_answers_429_with_retry_after(api: Api) -> None:
    with transaction(api.factory) as s:
        s.execute(
            text(
                "UPDATE api_client SET rate_per_second = 0.5, burst = 2 "
                "WHERE client_id = 'soc-client'"
            )
        )
    h = api.headers("soc-client")
    codes = [api.client.get("/v1/purposes", headers=h) for _ in range(5)]
    limited = [r for r in codes if r.status_code == 429]
    assert limited, [r.status_code for r in codes]
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].json()["type"] == "/problems/rate-limited"


def test_security_headers_and_no_cors(api: Api) -> None:
    r = api.client.get(
        "/v1/purposes", headers={**api.headers("soc-client"), "Origin": "https://evil.example"}
    )
    assert r.status_code == 200
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert "access-control-allow-origin" not in r.headers
    pre = api.client.options(
        "/v1/persons/search",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in pre.headers


def test_a_failed_audit_write_fails_the_request_and_discloses_nothing(api: Api) -> None:
    h = api.headers("soc-client")
    with transaction(api.factory) as s:
        s.execute(text("DROP TABLE audit_subject"))
    r = api.client.post(
        "/v1/persons/search",
        json={"purpose": "case-management", "identifier": {"scheme": "cl-run", "value": RUN_A}},
        headers=h,
    )
    assert r.status_code == 503 and r.json()["type"] == "/problems/audit-unavailable"
    assert "Ana" not in r.text and api.world.pid["both"] not in r.text
    assert "nexo_audit_failures_total 1.0" in api.client.get("/metrics").text


@dataclass
class FakeCandidate:
    person_id: str
    probability: float


class TableMatcher:
    """A matcher that answers from a table: stands in for the linkage part's online matcher."""

    def __init__(self, answers: list[FakeCandidate]) -> None:
        self.answers = answers
        self.asked: list[Person] = []

    def match(self, person: Person, *, top_k: int = 5) -> list[FakeCandidate]:
        self.asked.append(person)
        return self.answers[:top_k]


def test_demographic_search_needs_a_matcher_and_answers_above_the_threshold(api: Api) -> None:
    body = {
        "purpose": "identity-verification",
        "given_names": "Ana",
        "family_name": "Rojas",
        "birth_date": "1990-05-17",
    }
    r = api.client.post("/v1/persons/match", json=body, headers=api.headers("pes-client"))
    assert r.status_code == 501 and r.json()["type"] == "/problems/matcher-unavailable"
    matcher = TableMatcher(
        [
            FakeCandidate(api.world.pid["both"], 0.991),
            FakeCandidate(api.world.pid["employment_only"], 0.6),  # below the threshold
            FakeCandidate(api.world.pid["social_only"], 0.99),  # not known to employment
        ]
    )
    app = create_app(settings=api.settings, factory=api.factory, matcher=matcher, clock=api.clock)
    client = TestClient(app)
    r = client.post("/v1/persons/match", json=body, headers=api.headers("pes-client"))
    assert r.status_code == 200, r.text
    assert r.json()["results"] == [{"person_id": api.world.pid["both"], "probability": 0.991}]
    assert matcher.asked[0].birth_date == date(1990, 5, 17)


def test_openapi_describes_problems_examples_and_security(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "Problem" in doc["components"]["schemas"]
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    search = doc["paths"]["/v1/persons/search"]["post"]
    assert "application/problem+json" in search["responses"]["403"]["content"]
    assert "application/problem+json" in search["responses"]["422"]["content"]
    schemas = doc["components"]["schemas"]
    assert schemas["IdentifierSearch"]["examples"][0]["purpose"] == "benefit-eligibility"
    assert schemas["VerificationAsk"]["examples"]


@pytest.mark.parametrize("path", ["/healthz", "/.well-known/jwks.json", "/metrics"])
def test_public_endpoints_need_no_token(api: Api, path: str) -> None:
    r = api.client.get(path)
    assert r.status_code == 200
    count_before = len(_audit(api))
    assert count_before == 0  # public endpoints carry no personal data and are not audited
    with transaction(api.factory) as s:
        assert s.scalar(select(func.count()).select_from(AuditEntryRow)) == 0
