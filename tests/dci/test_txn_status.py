"""Transaction status (synchronous): statuses of a sender's own transactions, never data, and
the same empty answer for an unknown transaction as for another sender's."""

from __future__ import annotations

from typing import Any

from dci_http import Registry, envelope, search_envelope, search_item, signed
from dci_support import ANA, LAX_SENDER, SENDER

STATUS = "/registry/sync/txn/status"


def _status(
    registry: Registry,
    attribute_type: str,
    value: Any,
    *,
    sender: str = SENDER,
    txn_type: str = "search",
) -> dict[str, Any]:
    message = {
        "transaction_id": "t-status",
        "txnstatus_request": {
            "reference_id": "s-1",
            "txn_type": txn_type,
            "attribute_type": attribute_type,
            "attribute_value": value,
        },
    }
    env = signed(envelope("txn-status", message, sender=sender), registry.keys[sender])
    status, body = registry.client.post(STATUS, env)
    assert status == 200, body
    assert body["header"]["action"] == "txn-on-status"
    return dict(body["message"]["txnstatus_response"]["txn_status"])


def _searched(registry: Registry) -> str:
    items = [
        search_item({"type": "UIN", "value": ANA.run}, reference_id="a-1"),
        search_item(
            {"type": "UIN", "value": ANA.run}, reference_id="a-2", pagination={"page_size": 0}
        ),
    ]
    env = signed(search_envelope(*items, transaction_id="t-known"), registry.keys[SENDER])
    status, body = registry.client.post("/registry/sync/search", env)
    assert status == 200
    return str(body["message"]["correlation_id"])


def test_status_by_transaction_correlation_and_reference_ids(shared: Registry) -> None:
    correlation = _searched(shared)
    expected = [("a-1", "succ", None), ("a-2", "rjct", "rjct.pagination.invalid")]
    for attribute_type, value in (
        ("transaction_id", "t-known"),
        ("correlation_id", correlation),
        ("reference_id_list", ["a-1", "a-2"]),
    ):
        txn = _status(shared, attribute_type, value)
        assert txn["transaction_id"] == "t-known" and txn["correlation_id"] == correlation
        got = [
            (i["reference_id"], i["status"], i.get("status_reason_code"))
            for i in txn["search_response"]
        ]
        assert got[-2:] == expected, attribute_type
        assert all("data" not in i for i in txn["search_response"])
    first = _status(shared, "transaction_id", "t-known")["search_response"][0]
    assert first["pagination"] == {"page_size": 100, "page_number": 1, "total_count": 1}


def test_unknown_and_foreign_transactions_get_the_same_empty_status(shared: Registry) -> None:
    _searched(shared)
    unknown = _status(shared, "transaction_id", "never-sent")
    assert unknown == {"transaction_id": "never-sent", "correlation_id": "", "search_response": []}
    foreign = _status(
        shared, "transaction_id", "t-known", sender=LAX_SENDER
    )  # same client, other sender
    assert foreign == {"transaction_id": "t-known", "correlation_id": "", "search_response": []}
    assert _status(shared, "reference_id_list", ["a-1"], sender=LAX_SENDER)["search_response"] == []


def test_pending_asynchronous_requests_are_pdng(registry: Registry) -> None:
    env = signed(
        search_envelope(search_item({"type": "UIN", "value": ANA.run}), transaction_id="t-wait"),
        registry.keys[SENDER],
    )
    assert registry.client.post("/registry/search", env)[0] == 200  # no worker: stays received
    txn = _status(registry, "transaction_id", "t-wait")
    assert [(i["reference_id"], i["status"]) for i in txn["search_response"]] == [("ref-1", "pdng")]


def test_subscription_transactions_accept_both_spellings(shared: Registry) -> None:
    for spelling in ("subscribe", "subscibe"):
        txn = _status(shared, "transaction_id", "none", txn_type=spelling)
        assert txn["search_response"] == []
