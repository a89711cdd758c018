"""The DCI registry as ``nexo serve`` mounts it: the exchange's tokens, the agreements under
``policies/``, the consent registry and the audit trail — no stand-in ports.

The population of ``dci_support``: four persons of the social agency (two households, Ana with
a benefit), Ana also known to the employment service. Agreements used (see ``policies/``):
``pes-identity-check-social`` (employment sees names and birth date of persons it knows, for
identity-verification) and ``sp-case-management-own`` (social sees its own records, households
and benefits, for case-management).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dci_http import DciClient, Receiver, envelope, search_envelope, search_item, signed, ts
from dci_support import ANA, JUAN, LUIS, SOFIA, SenderKey, populate
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from client_tokens import client_token
from nexo.api.app import create_app
from nexo.audit.tables import AuditEntryRow
from nexo.audit.verify import verify_log
from nexo.auth.keys import keystore
from nexo.config import Settings
from nexo.dci.registration import register_sender
from nexo.dci.sender import SignaturePolicy
from nexo.policy.consent import Channel, ConsentEvent, ConsentKind
from nexo.policy.service import record_consent
from nexo.store.base import utc_now
from nexo.store.engine import transaction

PES_SENDER, SP_SENDER = "pes.example.org", "spmis.example.org"
SYNC = "/registry/sync/search"


@dataclass
class World:
    dci: DciClient
    factory: sessionmaker[Session]
    keys: dict[str, SenderKey]
    tokens: dict[str, str]
    receiver: Receiver
    http: TestClient
    home: Path

    def search(
        self, sender: str, *items: dict[str, Any], token: str | None = None
    ) -> list[dict[str, Any]]:
        env = signed(search_envelope(*items, sender=sender), self.keys[sender])
        status, body = self.dci.post(SYNC, env, token=token or self.tokens[sender])
        assert status == 200, body
        return list(body["message"]["search_response"])

    def audit(self) -> list[dict[str, Any]]:
        with transaction(self.factory) as s:
            rows = s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.idx)).all()
            return [json.loads(r.body) for r in rows]


@pytest.fixture
def world(factory: sessionmaker[Session], tmp_path: Path) -> Iterator[World]:
    populate(factory)
    home = tmp_path / "home"
    tokens = {
        PES_SENDER: client_token(factory, home, "pes-registry", "employment"),
        SP_SENDER: client_token(
            factory, home, "sp-mis", "social", default_purpose="case-management"
        ),
    }
    keys = {s: SenderKey(s) for s in (PES_SENDER, SP_SENDER)}
    receiver = Receiver()
    with transaction(factory) as s:
        for sender, client_id in ((PES_SENDER, "pes-registry"), (SP_SENDER, "sp-mis")):
            register_sender(
                s, sender_id=sender, client_id=client_id, callbacks=[receiver.base],
                jwks=keys[sender].jwks, signature=SignaturePolicy.REQUIRED, now=utc_now(),
            )  # fmt: skip
    # the real clock: message signatures are checked against it (the example agreements are in
    # force from 2026 to 2031)
    app = create_app(settings=Settings(home=home), factory=factory)
    with TestClient(app) as http:
        yield World(DciClient(http), factory, keys, tokens, receiver, http, home)
    receiver.close()


def _given_names(answer: dict[str, Any]) -> list[str | None]:
    return [r["demographic_info"]["name"].get("given_name") for r in answer["data"]["reg_records"]]


def test_row_filter_and_minimisation_apply_to_dci(world: World) -> None:
    """The employment service finds only the person it knows, with only the granted fields."""
    expression = {"collection": "Member", "query": {"family_name": {"$eq": "Pérez"}}}
    query = {"type": "ns:org:QueryType:NoSql", "value": {"expression": expression}}
    item = search_item(query, query_type="expression", purpose="identity-verification")
    [answer] = world.search(PES_SENDER, item)
    assert answer["status"] == "succ", answer
    [member] = answer["data"]["reg_records"]
    assert member["member_identifier"][0]["identifier_value"] == ANA.person_id
    assert answer["pagination"]["total_count"] == 1  # Juan and Sofía are not known to it
    text = json.dumps(member, ensure_ascii=False)
    info = member["demographic_info"]
    assert info["birth_date"] == ANA.born.isoformat()
    assert ANA.run not in text and ANA.phone not in text and "Calle Falsa" not in text
    assert "sex" not in info or info["sex"] is None
    for other in (JUAN, SOFIA, LUIS):
        assert other.given not in text
    entry = world.audit()[-1]
    assert entry["action"] == "DCI search" and entry["decision"] == "allow"
    assert entry["client_id"] == "pes-registry" and entry["purpose"] == "identity-verification"
    assert entry["agreements"] == ["pes-identity-check-social@v1"]
    assert len(entry["subjects"]) == 1 and ANA.person_id not in entry["subjects"]
    assert "social:person.identifiers" not in entry["fields"]
    assert entry["detail"]["sender_id"] == PES_SENDER


def test_a_query_cannot_match_on_data_the_requester_may_not_see(world: World) -> None:
    """Ana's identifier is held by the social agency, whose identifiers employment may not see:
    asking by it finds nothing, so the answer does not confirm the number."""
    item = search_item({"type": "UIN", "value": ANA.run}, purpose="identity-verification")
    [answer] = world.search(PES_SENDER, item)
    assert answer["status"] == "succ"
    assert answer["data"]["reg_records"] == []


def test_no_agreement_for_the_purpose_is_denied_naming_the_rule(world: World) -> None:
    item = search_item({"type": "UIN", "value": ANA.run}, purpose="fraud-detection")
    [answer] = world.search(PES_SENDER, item)
    assert answer["status"] == "rjct"
    assert "agreement" in answer["status_reason_message"]
    assert "data" not in answer or not answer["data"].get("reg_records")
    entry = world.audit()[-1]
    assert entry["decision"] == "deny" and entry["reason"].startswith("agreement.")


def test_default_purpose_and_own_households(world: World) -> None:
    """The social MIS states no purpose: its client's default (case-management) applies, and it
    sees its own households with relationships and benefits."""
    query = {"type": "ns:org:QueryType:NoSql", "value": {
        "expression": {"collection": "Group", "query": {"$and": [{"group_size": {"$gte": 2}}]}}
    }}  # fmt: skip
    [answer] = world.search(SP_SENDER, search_item(query, query_type="expression", purpose=None))
    assert answer["status"] == "succ", answer
    [group] = answer["data"]["reg_records"]
    assert group["group_size"] == 3
    members = {m["member_identifier"][0]["identifier_value"]: m for m in group["member_list"]}
    assert set(members) == {ANA.person_id, JUAN.person_id, SOFIA.person_id}
    assert members[JUAN.person_id]["relationship_head"] == "spouse"
    assert world.audit()[-1]["purpose"] == "case-management"
    [answer] = world.search(SP_SENDER, search_item({"type": "UIN", "value": ANA.run}, purpose=None))
    [ana] = answer["data"]["reg_records"]
    text = json.dumps(ana, ensure_ascii=False)
    assert "SUF" in text and ANA.run.replace(".", "") in text.replace(".", "")
    assert ANA.phone not in text  # contact is not granted


def _consent(world: World, kind: ConsentKind, at: datetime) -> None:
    with transaction(world.factory) as s:
        record_consent(s, event=ConsentEvent(
            person_id=ANA.person_id, purpose="activation-support", recipient="employment",
            kind=kind, at=at, channel=Channel.CASEWORKER, notice_version="2026-01",
            recorded_at=at, recorded_by="test",
        ))  # fmt: skip


def test_consent_grant_and_withdrawal_apply_to_the_very_next_dci_request(world: World) -> None:
    """pes-activation-social needs Ana's consent: without it she is left out as if unknown;
    with it her benefits (and nothing else) come back; withdrawn, she is gone again."""
    query = {"type": "ns:org:QueryType:NoSql", "value": {
        "expression": {"collection": "Member", "query": {"programme_code": {"$eq": "SUF"}}}
    }}  # fmt: skip
    item = search_item(query, query_type="expression", purpose="activation-support")

    def found() -> list[dict[str, Any]]:
        [answer] = world.search(PES_SENDER, item)
        assert answer["status"] == "succ", answer
        return list(answer["data"]["reg_records"])

    assert found() == []
    _consent(world, ConsentKind.GRANTED, utc_now() - timedelta(days=1))
    [ana] = found()
    text = json.dumps(ana, ensure_ascii=False)
    assert "SUF" in text and "21243" not in text  # the amount is not granted
    assert ANA.given not in text and ANA.born.isoformat() not in text
    _consent(world, ConsentKind.WITHDRAWN, utc_now() - timedelta(seconds=1))
    assert found() == []
    assert [e["decision"] for e in world.audit()[-3:]] == ["allow", "allow", "allow"]
    assert [len(e["subjects"]) for e in world.audit()[-3:]] == [0, 1, 0]
    with transaction(world.factory) as s:  # the DCI entries are links of the one chain
        report = verify_log(s, keys=keystore(world.home))
    assert report.ok and report.entries == len(world.audit()), report.problems


def test_bad_token_is_refused_and_nothing_disclosed(world: World) -> None:
    env = signed(
        search_envelope(search_item({"type": "UIN", "value": ANA.run}), sender=SP_SENDER),
        world.keys[SP_SENDER],
    )
    status, body = world.dci.post(SYNC, env, token="not-a-token")
    assert status == 401 and body["errors"][0]["code"] == "err.request.unauthorized"
    assert ANA.given not in json.dumps(body, ensure_ascii=False)


def test_dci_keys_and_routes_are_in_the_app(world: World) -> None:
    assert world.http.get("/dci/.well-known/jwks.json").json()["keys"]
    paths = world.http.get("/openapi.json").json()["paths"]
    assert "/dci/registry/sync/search" in paths and "/dci/registry/search" in paths


def test_async_search_and_subscription_run_in_the_served_app(world: World) -> None:
    """The app's own worker answers by callback; both requests are in the audit trail."""
    item = search_item({"type": "UIN", "value": ANA.run}, purpose=None)
    env = search_envelope(
        item, transaction_id="t-async", sender=SP_SENDER, sender_uri=world.receiver.base + "/cb"
    )
    status, ack = world.dci.post("/registry/search", signed(env, world.keys[SP_SENDER]),
                                 token=world.tokens[SP_SENDER])  # fmt: skip
    assert status == 200 and ack["message"]["ack_status"] == "ACK"
    [callback] = world.receiver.wait(1)
    [answer] = callback["message"]["search_response"]
    assert [r["member_identifier"][0]["identifier_value"] for r in answer["data"]["reg_records"]] \
        == [ANA.person_id]  # fmt: skip
    subscribe = _subscription("sub-1")
    env = envelope("subscribe", subscribe, sender=SP_SENDER)
    status, _ = world.dci.post("/registry/subscribe", signed(env, world.keys[SP_SENDER]),
                               token=world.tokens[SP_SENDER])  # fmt: skip
    assert status == 200
    [answer] = world.receiver.wait(2)[1]["message"]["subscribe_response"]
    assert answer["status"] == "succ", answer
    actions = [(e["action"], e["decision"], e["purpose"]) for e in world.audit()]
    assert actions[-2:] == [
        ("DCI search", "allow", "case-management"),
        ("DCI subscribe", "allow", "case-management"),
    ]
    assert world.audit()[-1]["agreements"] == ["sp-case-management-own@v1"]
    # a purpose no agreement covers: refused in the callback, audited as a denied subscription
    env = envelope("subscribe", _subscription("sub-2", "fraud-detection"), sender=SP_SENDER)
    status, _ = world.dci.post("/registry/subscribe", signed(env, world.keys[SP_SENDER]),
                               token=world.tokens[SP_SENDER])  # fmt: skip
    assert status == 200
    [answer] = world.receiver.wait(3)[2]["message"]["subscribe_response"]
    assert answer["status"] == "rjct" and "agreement" in answer["status_reason_message"]
    last = world.audit()[-1]
    assert (last["action"], last["decision"], last["purpose"]) == (
        "DCI subscribe",
        "deny",
        "fraud-detection",
    )


def _subscription(reference: str, purpose: str | None = None) -> dict[str, Any]:
    criteria: dict[str, Any] = {
        "version": "1.0.0",
        "reg_event_type": "spdci-common:RegistryEventType:NewHouseHoldMember",
        "frequency": {"start_time": "2026-07-01T00:00:00Z", "end_time": "2027-07-01T00:00:00Z",
                      "frequency": "0 0 0 5,15 * ? *"},
        "filter_type": "predicate",
        "filter": [{"expression1": {"attribute_name": "city", "operator": "eq",
                                    "attribute_value": "Valparaíso"}}],
        "notify_record_type": "Group",
    }  # fmt: skip
    if purpose:
        criteria["authorize"] = {"purpose": {"code": purpose}}
    return {
        "transaction_id": f"t-{reference}",
        "subscribe_request": [
            {"reference_id": reference, "timestamp": ts(), "locale": "eng",
             "subscribe_criteria": criteria}
        ],
    }  # fmt: skip


def test_a_client_over_its_rate_limit_gets_the_dci_error(
    world: World, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    token = client_token(factory, tmp_path / "home", "slow-mis", "social",
                         rate_per_second=0.01, burst=1)  # fmt: skip
    sender = "slow.example.org"
    key = SenderKey(sender)
    with transaction(factory) as s:
        register_sender(
            s, sender_id=sender, client_id="slow-mis", callbacks=[world.receiver.base],
            jwks=key.jwks, signature=SignaturePolicy.REQUIRED, now=utc_now(),
        )  # fmt: skip
    world.keys[sender] = key
    item = search_item({"type": "UIN", "value": ANA.run}, purpose="case-management")
    assert world.search(sender, item, token=token)[0]["status"] == "succ"
    env = signed(search_envelope(item, sender=sender), key)
    status, body = world.dci.post(SYNC, env, token=token)
    assert status == 429 and body["errors"][0]["code"] == "err.request.too_many_requests"
