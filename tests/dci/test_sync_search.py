"""Synchronous search as a social protection MIS meets it; every message checked against the
DCI schemas (by the test client), every answer traced to what the disclosure port returned."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dci_http import Registry, search_envelope, search_item, signed
from dci_support import (
    ALLOWED_FIELDS,
    ANA,
    JUAN,
    LUIS,
    PURPOSE,
    SENDER,
    SOCIAL_CLIENT,
    SOFIA,
    personal_values,
)

from nexo.dci import records
from nexo.dci.criteria import Attribute, Comparison, Entity, Operator, SubjectQuery
from nexo.dci.ports import Disclosed

PATH = "/registry/sync/search"


def _search(
    shared: Registry, *items: dict[str, Any], token: str = "token-social"
) -> dict[str, Any]:
    env = signed(search_envelope(*items), shared.keys[SENDER])
    status, body = shared.client.post(PATH, env, token=token)
    assert status == 200, body
    assert body["header"]["action"] == "on-search"
    return body


def _answers(body: dict[str, Any]) -> list[dict[str, Any]]:
    return list(body["message"]["search_response"])


def test_identifier_search_returns_exactly_what_the_port_disclosed(shared: Registry) -> None:
    body = _search(shared, search_item({"type": "UIN", "value": "12.345.678-5"}))
    [answer] = _answers(body)
    assert answer["status"] == "succ"
    [call] = shared.disclosure.calls
    assert call.client.client_id == SOCIAL_CLIENT and call.purpose == PURPOSE
    assert call.query == SubjectQuery(
        Entity.MEMBER,
        Comparison(
            Attribute.IDENTIFIER, Operator.EQ, "12.345.678-5", ("cl-run", "kr-rrn", "de-steuer-id")
        ),
    )
    assert isinstance(call.returned, Disclosed)
    assert answer["data"]["reg_records"] == records.records(call.returned.records)
    [member] = answer["data"]["reg_records"]
    assert member["member_identifier"][0]["identifier_value"] == ANA.person_id
    person = member["demographic_info"]
    assert person["name"] == {"@type": "Name", "surname": "Pérez", "given_name": "Ana María"}
    assert person["birth_date"] == "1985-05-20"
    assert member["enrolments"][0]["programme"]["programme_identifier"] == "SUF"
    # fields the policy does not allow never appear: phone, e-mail, address, second surname
    text = json.dumps(body, ensure_ascii=False)
    for leaked in (ANA.phone, "b1@example.org", "Calle Falsa 123", ANA.second or ""):
        assert leaked not in text
    assert "phone_number" not in person and "address" not in person and "email" not in person
    assert answer["pagination"] == {"page_size": 100, "page_number": 1, "total_count": 1}


def test_purpose_comes_from_authorize_then_consent_then_the_clients_default(
    shared: Registry,
) -> None:
    query = {"type": "UIN", "value": ANA.run}
    consent = {"@type": "Consent", "ts": "2026-06-01T10:00:00-04:00", "purpose": {"code": PURPOSE}}
    _search(shared, search_item(query, purpose=None, consent=consent))
    _search(shared, search_item(query, purpose=None), token="token-social-default")
    first, second = shared.disclosure.calls
    assert first.purpose == PURPOSE and first.consent_refs[0].purpose_code == PURPOSE
    assert first.consent_refs[0].ts is not None and first.consent_refs[0].ts.utcoffset() is not None
    assert second.purpose == PURPOSE and second.client.default_purpose == PURPOSE


def test_no_purpose_and_no_default_is_rejected_before_the_port(shared: Registry) -> None:
    body = _search(shared, search_item({"type": "UIN", "value": ANA.run}, purpose=None))
    [answer] = _answers(body)
    assert answer["status"] == "rjct"
    assert answer["status_reason_code"] == "rjct.search_criteria.invalid"
    assert "purpose" in answer["status_reason_message"]
    assert shared.disclosure.calls == [] and "data" not in answer


def test_conflicting_purposes_are_rejected(shared: Registry) -> None:
    consent = {"purpose": {"code": "another-purpose"}}
    body = _search(shared, search_item({"type": "UIN", "value": ANA.run}, consent=consent))
    assert _answers(body)[0]["status_reason_code"] == "rjct.search_criteria.invalid"
    assert shared.disclosure.calls == []


def test_a_denial_names_the_missing_rule_and_discloses_nothing(shared: Registry) -> None:
    body = _search(shared, search_item({"type": "UIN", "value": ANA.run}, purpose="marketing"))
    [answer] = _answers(body)
    assert answer["status"] == "rjct" and "data" not in answer
    assert answer["status_reason_message"].startswith("denied (agreement)")
    assert shared.disclosure.calls[0].purpose == "marketing"
    text = json.dumps(body, ensure_ascii=False)
    assert not [v for v in personal_values() if v in text]


def test_predicate_search_pages_and_sorts(shared: Registry) -> None:
    predicate = [
        {
            "seq_num": 1,
            "expression1": {"attribute_name": "YOB", "operator": "ge", "attribute_value": 1985},
            "condition": "and",
            "expression2": {"attribute_name": "sex", "operator": "eq", "attribute_value": "female"},
        }
    ]
    pages = []
    for number in (1, 2, 3):
        item = search_item(
            predicate,
            query_type="predicate",
            pagination={"page_size": 1, "page_number": number},
            sort=[{"attribute_name": "birth_date", "sort_order": "desc"}],
        )
        [answer] = _answers(_search(shared, item))
        assert answer["pagination"] == {"page_size": 1, "page_number": number, "total_count": 2}
        pages.append(
            [r["member_identifier"][0]["identifier_value"] for r in answer["data"]["reg_records"]]
        )
    assert pages == [[SOFIA.person_id], [ANA.person_id], []]


def test_expression_search_for_groups_returns_households_with_allowed_member_data(
    shared: Registry,
) -> None:
    query = {
        "type": "ns:org:QueryType:NoSql",
        "value": {
            "expression": {"collection": "Group", "query": {"$and": [{"group_size": {"$gte": 2}}]}}
        },
    }
    [answer] = _answers(_search(shared, search_item(query, query_type="expression")))
    assert answer["data"]["reg_record_type"] == "Group"
    [group] = answer["data"]["reg_records"]
    assert group["group_size"] == 3 and group["group_type"] == "household"
    members = {m["member_identifier"][0]["identifier_value"]: m for m in group["member_list"]}
    assert set(members) == {ANA.person_id, JUAN.person_id, SOFIA.person_id}
    assert members[JUAN.person_id]["relationship_head"] == "spouse"
    assert group["group_head_info"]["member_identifier"][0]["identifier_value"] == ANA.person_id
    assert "place" not in group  # household.address is not allowed
    assert LUIS.given not in json.dumps(answer, ensure_ascii=False)


def test_group_of_a_person_found_by_identifier(shared: Registry) -> None:
    item = search_item({"type": "UIN", "value": LUIS.run}, response_entity="Group")
    [answer] = _answers(_search(shared, item))
    [group] = answer["data"]["reg_records"]
    assert group["group_identifier"][0]["identifier_value"] == "social:beneficiaries:H2"
    assert [m["demographic_info"]["name"]["given_name"] for m in group["member_list"]] == ["Luis"]


def test_unknown_identifier_is_an_empty_success(shared: Registry) -> None:
    [answer] = _answers(_search(shared, search_item({"type": "UIN", "value": "99999999-9"})))
    assert answer["status"] == "succ"
    assert answer["data"]["reg_records"] == []
    assert answer["pagination"]["total_count"] == 0


def test_a_batch_answers_each_request_on_its_own(shared: Registry) -> None:
    good = search_item({"type": "UIN", "value": ANA.run}, reference_id="good")
    bad = search_item(
        {"type": "UIN", "value": ANA.run}, reference_id="bad", pagination={"page_size": 0}
    )
    again = search_item({"type": "UIN", "value": ANA.run}, reference_id="good")
    body = _search(shared, good, bad, again)
    statuses = [
        (a["reference_id"], a["status"], a.get("status_reason_code")) for a in _answers(body)
    ]
    assert statuses == [
        ("good", "succ", None),
        ("bad", "rjct", "rjct.pagination.invalid"),
        ("good", "rjct", "rjct.reference_id.duplicate"),
    ]
    assert len(shared.disclosure.calls) == 1
    assert body["header"]["total_count"] == 3


def test_unsupported_attribute_names_the_searchable_ones(shared: Registry) -> None:
    predicate = [
        {"expression1": {"attribute_name": "poverty_score", "operator": "lt", "attribute_value": 5}}
    ]
    [answer] = _answers(_search(shared, search_item(predicate, query_type="predicate")))
    assert answer["status_reason_code"] == "rjct.search_criteria.invalid"
    assert (
        "poverty_score" in answer["status_reason_message"]
        and "birth_date" in answer["status_reason_message"]
    )
    assert shared.disclosure.calls == []


def test_a_failing_port_fails_the_request_without_data(shared: Registry) -> None:
    shared.disclosure.fail = True
    env = signed(
        search_envelope(search_item({"type": "UIN", "value": ANA.run})), shared.keys[SENDER]
    )
    status, body = shared.client.post(PATH, env)
    assert status == 500
    assert body["errors"][0]["code"] == "err.service.unavailable"
    assert not [v for v in personal_values() if v in json.dumps(body, ensure_ascii=False)]


@pytest.mark.parametrize(
    "fields",
    [
        frozenset(),
        frozenset({"birth_date"}),
        frozenset({"identifiers", "sex"}),
        frozenset({"phone", "email", "address"}),
        frozenset({"household.size", "relationship"}),
    ],
)
def test_only_what_the_port_returns_reaches_the_sender(
    shared: Registry, fields: frozenset[str]
) -> None:
    shared.disclosure.policy = {(SOCIAL_CLIENT, PURPOSE): fields}
    try:
        for entity in ("Member", "Group"):
            item = search_item({"type": "UIN", "value": ANA.run}, response_entity=entity)
            [answer] = _answers(_search(shared, item))
            returned = shared.disclosure.calls[-1].returned
            assert isinstance(returned, Disclosed)
            assert answer["data"]["reg_records"] == records.records(returned.records)
            text = json.dumps(answer, ensure_ascii=False)
            by_field = {
                "birth_date": [s.born.isoformat() for s in (ANA, JUAN, SOFIA)],
                "identifiers": [s.run for s in (ANA, JUAN, SOFIA)],
                "phone": [s.phone for s in (ANA, JUAN, SOFIA)],
                "email": ["b1@example.org", "b2@example.org"],
                "address": ["Calle Falsa 123"],
                "given_names": ["Ana María", "Juan", "Sofía"],
                "family_name": ["Pérez"],
                "enrolments": ["SUF", "21243"],
            }
            for field, values in by_field.items():
                if field not in fields:
                    assert not [v for v in values if v in text], (entity, field)
    finally:
        shared.disclosure.policy = {(SOCIAL_CLIENT, PURPOSE): ALLOWED_FIELDS}
