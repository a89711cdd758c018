"""Contract: Nexo serves exactly the DCI operations it claims, each checked against the files.

The test client (``DciClient``) validates every request it sends and every reply it gets against
the schema the standard documents for that path and status; the callback receiver validates
every callback. This module makes sure no route escapes that, and walks each operation once,
accepted and refused.
"""

from __future__ import annotations

from dci_http import OPERATIONS, Registry, envelope, search_envelope, search_item, signed, ts
from dci_support import ANA, SENDER

from nexo.dci.standard import has_operation, load, request_pointer


def test_every_dci_route_is_a_standard_operation(shared: Registry) -> None:
    paths = shared.client.http.app.openapi()["paths"]  # type: ignore[attr-defined]
    served = {p.removeprefix("/dci") for p in paths if p.startswith("/dci/registry")}
    assert "/dci/.well-known/jwks.json" in paths
    assert served == set(OPERATIONS)
    for path, document in OPERATIONS.items():
        assert has_operation(document, path)
        assert (
            "header"
            in load(document)["paths"][path]["post"]["requestBody"]["content"]["application/json"][
                "schema"
            ]["properties"]
        )
        assert request_pointer(path)


def test_each_operation_accepted_and_refused(shared: Registry) -> None:
    key = shared.keys[SENDER]
    status_message = {
        "transaction_id": "t-c",
        "txnstatus_request": {
            "reference_id": "r",
            "txn_type": "search",
            "attribute_type": "transaction_id",
            "attribute_value": "t-c",
        },
    }
    subscribe_message = {
        "transaction_id": "t-c",
        "subscribe_request": [
            {
                "reference_id": "r",
                "timestamp": ts(),
                "subscribe_criteria": {
                    "reg_event_type": "REGISTER",
                    "filter": {"type": "UIN", "value": ANA.run},
                    "notify_record_type": "Member",
                },
            }
        ],
    }
    unsubscribe_message = {
        "transaction_id": "t-c",
        "timestamp": ts(),
        "subscription_codes": ["nope"],
    }
    bodies = {
        "/registry/search": search_envelope(search_item({"type": "UIN", "value": ANA.run})),
        "/registry/sync/search": search_envelope(search_item({"type": "UIN", "value": ANA.run})),
        "/registry/txn/status": envelope("txn-status", status_message),
        "/registry/sync/txn/status": envelope("txn-status", status_message),
        "/registry/subscribe": envelope("subscribe", subscribe_message),
        "/registry/unsubscribe": envelope("unsubscribe", unsubscribe_message),
    }
    for path, body in bodies.items():
        status, reply = shared.client.post(path, signed(body, key))  # both sides validated
        assert status == 200, (path, reply)
        broken = {**body, "header": {**body["header"], "message_ts": "2026-06-30 10:00"}}
        status, reply = shared.client.post(path, signed(broken, key), valid=False)
        assert status == 400, (path, reply)
        status, reply = shared.client.post(path, signed(body, key), token=None)
        assert status == 401, (path, reply)
