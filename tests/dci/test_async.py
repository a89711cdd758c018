"""Asynchronous DCI: acknowledged at once, answered by a POST to a real HTTP receiver on
127.0.0.1; every acknowledgement and callback checked against the standard's schemas, every
callback's signature checked against the keys Nexo publishes."""

from __future__ import annotations

import json
from typing import Any

from dci_http import Registry, envelope, search_envelope, search_item, signed, ts
from dci_support import ANA, JUAN, LAX_SENDER, PURPOSE, SENDER, personal_values

from nexo.dci.signature import parse_jwks, verify
from nexo.dci.standard import Document, problems, response_pointer


def _jwks(registry: Registry) -> dict[str, Any]:
    response = registry.client.http.get("/dci/.well-known/jwks.json")
    assert response.status_code == 200
    document = response.json()
    pointer = response_pointer(Document.JWKS, "/.well-known/jwks.json", 200, method="get")
    assert problems(Document.JWKS, pointer, document) == []
    return dict(document)


def _assert_signed_by_nexo(registry: Registry, callback: dict[str, Any]) -> None:
    keys = parse_jwks(_jwks(registry))
    verify(
        callback["signature"],
        callback["header"],
        callback["message"],
        sender_id="nexo",
        keys=keys,
        now=__import__("time").time(),
    )


def _ack(registry: Registry, path: str, body: dict[str, Any]) -> str:
    status, reply = registry.client.post(path, body)
    assert status == 200, reply
    assert reply["message"]["ack_status"] == "ACK"
    return str(reply["message"]["correlation_id"])


def test_async_search_round_trip(registry: Registry) -> None:
    registry.start_worker()
    item = search_item({"type": "UIN", "value": ANA.run})
    env = signed(
        search_envelope(
            item, transaction_id="t-async", sender_uri=registry.receiver.base + "/on-search"
        ),
        registry.keys[SENDER],
    )
    correlation = _ack(registry, "/registry/search", env)
    [callback] = registry.receiver.wait(1)
    assert callback["header"]["action"] == "on-search"
    assert callback["header"]["receiver_id"] == SENDER
    assert callback["message"]["transaction_id"] == "t-async"
    assert callback["message"]["correlation_id"] == correlation
    [answer] = callback["message"]["search_response"]
    assert answer["status"] == "succ" and answer["reference_id"] == "ref-1"
    [member] = answer["data"]["reg_records"]
    assert member["demographic_info"]["name"]["given_name"] == "Ana María"
    _assert_signed_by_nexo(registry, callback)
    [call] = registry.disclosure.calls
    assert call.purpose == PURPOSE and call.context.correlation_id == correlation
    assert call.context.transaction_id == "t-async" and call.context.sender_id == SENDER


def test_the_same_message_twice_is_acknowledged_twice_and_answered_once(registry: Registry) -> None:
    env = signed(
        search_envelope(search_item({"type": "UIN", "value": ANA.run})), registry.keys[SENDER]
    )
    first = _ack(registry, "/registry/search", env)
    second = _ack(registry, "/registry/search", env)
    assert first == second
    registry.start_worker()
    registry.receiver.wait(1)
    registry.worker.stop()
    assert len(registry.receiver.received) == 1


def test_callback_address_must_be_registered(registry: Registry) -> None:
    registry.start_worker()
    for uri in (
        "http://127.0.0.1:1/evil",
        f"http://localhost:{registry.receiver.port}/dci/on-search",
        f"http://127.0.0.1:{registry.receiver.port}/admin",
        f"http://127.0.0.1:{registry.receiver.port}/dci/../admin",
        f"http://user@127.0.0.1:{registry.receiver.port}/dci",
    ):
        env = signed(
            search_envelope(search_item({"type": "UIN", "value": ANA.run}), sender_uri=uri),
            registry.keys[SENDER],
        )
        status, reply = registry.client.post("/registry/search", env, valid=False)
        assert status == 400, uri
        assert reply["message"]["error"]["code"] == "err.sender_uri.invalid"
    registry.worker.run_once()
    assert registry.receiver.statuses == [] and registry.disclosure.calls == []


def test_async_rejections_come_back_in_the_callback(registry: Registry) -> None:
    registry.start_worker()
    item = search_item({"type": "UIN", "value": ANA.run}, pagination={"page_size": -1})
    _ack(registry, "/registry/search", signed(search_envelope(item), registry.keys[SENDER]))
    [callback] = registry.receiver.wait(1)
    [answer] = callback["message"]["search_response"]
    assert answer["status_reason_code"] == "rjct.pagination.invalid"
    assert not [v for v in personal_values() if v in json.dumps(callback, ensure_ascii=False)]


def test_txn_status_async_reports_statuses_not_data(registry: Registry) -> None:
    registry.start_worker()
    env = signed(
        search_envelope(search_item({"type": "UIN", "value": ANA.run}), transaction_id="t-42"),
        registry.keys[SENDER],
    )
    correlation = _ack(registry, "/registry/search", env)
    registry.receiver.wait(1)
    request = {
        "transaction_id": "t-status",
        "txnstatus_request": {
            "reference_id": "s-1",
            "txn_type": "search",
            "attribute_type": "transaction_id",
            "attribute_value": "t-42",
            "locale": "eng",
        },
    }
    _ack(
        registry,
        "/registry/txn/status",
        signed(envelope("txn-status", request), registry.keys[SENDER]),
    )
    status_callback = registry.receiver.wait(2)[1]
    assert status_callback["header"]["action"] == "txn-on-status"
    txn = status_callback["message"]["txnstatus_response"]["txn_status"]
    assert txn["transaction_id"] == "t-42" and txn["correlation_id"] == correlation
    assert [(i["reference_id"], i["status"]) for i in txn["search_response"]] == [("ref-1", "succ")]
    assert "data" not in txn["search_response"][0]
    _assert_signed_by_nexo(registry, status_callback)


def _subscribe_message(reference: str = "sub-1", code: str = PURPOSE) -> dict[str, Any]:
    return {
        "transaction_id": "t-sub",
        "subscribe_request": [
            {
                "reference_id": reference,
                "timestamp": ts(),
                "subscribe_criteria": {
                    "version": "1.0.0",
                    "reg_event_type": "spdci-common:RegistryEventType:NewHouseHoldMember",
                    "frequency": {
                        "start_time": "2026-07-01T00:00:00Z",
                        "end_time": "2027-07-01T00:00:00Z",
                        "frequency": "0 0 0 5,15 * ? *",
                    },
                    "filter_type": "predicate",
                    "filter": [
                        {
                            "expression1": {
                                "attribute_name": "city",
                                "operator": "eq",
                                "attribute_value": "Valparaíso",
                            }
                        }
                    ],
                    "notify_record_type": "Group",
                    "authorize": {"purpose": {"code": code}},
                },
                "locale": "spa",
            }
        ],
    }


def test_subscribe_then_unsubscribe(registry: Registry) -> None:
    registry.start_worker()
    key = registry.keys[SENDER]
    _ack(registry, "/registry/subscribe", signed(envelope("subscribe", _subscribe_message()), key))
    [on_subscribe] = registry.receiver.wait(1)
    assert on_subscribe["header"]["action"] == "on-subscribe"
    [answer] = on_subscribe["message"]["subscribe_response"]
    assert answer["status"] == "succ"
    [info] = answer["subscriptions"]
    code = info["code"]
    assert info["status"] == "subscribe" and info["notify_record_type"] == "Group"
    [call] = registry.disclosure.calls
    assert call.method == "authorise" and call.purpose == PURPOSE
    # the same subscription again is refused; another purpose is denied by the policy
    again = _subscribe_message("sub-2")
    other = _subscribe_message("sub-3", code="marketing")["subscribe_request"][0]
    again["subscribe_request"].append(other)
    _ack(registry, "/registry/subscribe", signed(envelope("subscribe", again, total=2), key))
    results = registry.receiver.wait(2)[1]["message"]["subscribe_response"]
    assert results[0]["status_reason_code"] == "rjct.event.already_subscribed"
    assert (
        results[1]["status"] == "rjct"
        and "denied (agreement)" in results[1]["status_reason_message"]
    )
    # unsubscribe: only the sender's own codes, all or nothing
    bye = {"transaction_id": "t-bye", "timestamp": ts(), "subscription_codes": [code]}
    lax = signed(envelope("unsubscribe", bye, sender=LAX_SENDER), registry.keys[LAX_SENDER])
    _ack(registry, "/registry/unsubscribe", lax)
    refused = registry.receiver.wait(3)[2]["message"]
    assert (
        refused["status"] == "rjct"
        and refused["status_reason_code"] == "rjct.subscription_code.invalid"
    )
    _ack(registry, "/registry/unsubscribe", signed(envelope("unsubscribe", bye), key))
    done = registry.receiver.wait(4)[3]
    assert done["header"]["action"] == "on-unsubscribe"
    assert done["message"]["subscription_status"] == [{"code": code, "status": "unsubscribe"}]
    _ack(registry, "/registry/unsubscribe", signed(envelope("unsubscribe", bye), key))
    assert (
        registry.receiver.wait(5)[4]["message"]["status_reason_code"]
        == "rjct.event.already_unsubscribed"
    )


def test_subscription_with_an_unsupported_filter_is_rejected(registry: Registry) -> None:
    registry.start_worker()
    message = _subscribe_message()
    message["subscribe_request"][0]["subscribe_criteria"]["filter"] = [
        {"expression1": {"attribute_name": "poverty_score", "operator": "lt", "attribute_value": 5}}
    ]
    _ack(
        registry,
        "/registry/subscribe",
        signed(envelope("subscribe", message), registry.keys[SENDER]),
    )
    [answer] = registry.receiver.wait(1)[0]["message"]["subscribe_response"]
    assert (
        answer["status"] == "rjct" and answer["status_reason_code"] == "rjct.notify_details.invalid"
    )
    assert registry.disclosure.calls == []


def test_group_members_in_async_group_search(registry: Registry) -> None:
    registry.start_worker()
    item = search_item({"type": "UIN", "value": JUAN.run}, response_entity="Group")
    _ack(registry, "/registry/search", signed(search_envelope(item), registry.keys[SENDER]))
    [callback] = registry.receiver.wait(1)
    [group] = callback["message"]["search_response"][0]["data"]["reg_records"]
    assert group["group_size"] == 3 and len(group["member_list"]) == 3
