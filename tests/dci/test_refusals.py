"""Messages Nexo refuses: each gets the standard's error code, never a crash, and nothing is
disclosed (the disclosure port is not even called). Every reply is checked against the schema
the standard documents for its status code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dci_http import Registry, envelope, search_envelope, search_item, signed
from dci_support import ANA, FOREIGN_SENDER, LAX_SENDER, SENDER, personal_values

SYNC = "/registry/sync/search"
ASYNC = "/registry/search"
ENDPOINTS = [
    "/registry/search",
    "/registry/sync/search",
    "/registry/txn/status",
    "/registry/sync/txn/status",
    "/registry/subscribe",
    "/registry/unsubscribe",
]


def _error(path: str, status: int, body: dict[str, Any]) -> str:
    """The ``err.*`` code of a refusal, after checking its forms agree."""
    code = str(body["errors"][0]["code"])
    assert body["status"] == status and body["type"].endswith(code)
    if "sync" in path and status == 400:
        assert body["header"]["status"] == "rjct"
        assert body["header"]["status_reason_message"].startswith(code)
    else:
        assert body["message"]["ack_status"] == "ERR"
        assert body["message"]["error"]["code"] == code
        assert body["message"]["correlation_id"]
    return code


def _refused(
    shared: Registry,
    path: str,
    body: Any,
    *,
    token: str | None = "token-social",
    raw: bytes | None = None,
) -> tuple[int, str, dict[str, Any]]:
    status, reply = shared.client.post(path, body, token=token, valid=False, raw=raw)
    assert status >= 400, reply
    code = _error(path, status, reply)
    assert shared.disclosure.calls == []
    text = json.dumps(reply, ensure_ascii=False)
    assert not [v for v in personal_values() if v in text]
    return status, code, reply


def _valid(shared: Registry, key: str = SENDER, **header: Any) -> dict[str, Any]:
    """A good search message, with header fields overridden, then signed."""
    env = search_envelope(search_item({"type": "UIN", "value": ANA.run}))
    env["header"].update(header)
    return signed(env, shared.keys[key])


@pytest.mark.parametrize("path", ENDPOINTS)
def test_missing_message_is_a_bad_request_everywhere(shared: Registry, path: str) -> None:
    action = {"search": "search", "status": "txn-status"}.get(
        path.rsplit("/", 1)[-1], path.rsplit("/", 1)[-1]
    )
    body = {"header": envelope(action, {})["header"]}
    status, code, reply = _refused(shared, path, body)
    assert (status, code) == (400, "err.request.bad")
    assert "'message' is a required property" in reply["errors"][0]["message"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_missing_or_wrong_token_is_unauthorized_everywhere(shared: Registry, path: str) -> None:
    for token in (None, "not-a-token"):
        status, code, reply = _refused(shared, path, _valid(shared), token=token)
        assert (status, code) == (401, "err.request.unauthorized")


def test_unauthorized_says_so_before_reading_the_body(shared: Registry) -> None:
    status, code, _ = _refused(shared, SYNC, None, token=None, raw=b"not json at all")
    assert (status, code) == (401, "err.request.unauthorized")


@pytest.mark.parametrize("path", [SYNC, ASYNC])
def test_time_stamp_without_time_zone(shared: Registry, path: str) -> None:
    body = _valid(shared, message_ts="2026-06-30T10:00:00")
    status, code, reply = _refused(shared, path, body)
    assert (status, code) == (400, "err.request.bad")
    assert "header.message_ts" in reply["errors"][0]["message"]
    if path == SYNC:
        assert reply["header"]["status_reason_code"] == "rjct.message_ts.invalid"


def test_request_time_stamp_that_is_not_a_time(shared: Registry) -> None:
    item = search_item({"type": "UIN", "value": ANA.run})
    item["timestamp"] = "yesterday"
    status, code, reply = _refused(shared, SYNC, signed(search_envelope(item), shared.keys[SENDER]))
    assert (
        code == "err.request.bad" and "search_request[0].timestamp" in reply["errors"][0]["message"]
    )


@pytest.mark.parametrize("locale", ["en", "EN", "english", "e1g"])
def test_locale_must_be_iso_639_3(shared: Registry, locale: str) -> None:
    item = search_item({"type": "UIN", "value": ANA.run})
    item["locale"] = locale
    status, code, reply = _refused(shared, SYNC, signed(search_envelope(item), shared.keys[SENDER]))
    assert (status, code) == (400, "err.request.bad")
    assert "locale" in reply["errors"][0]["message"]


@pytest.mark.parametrize(
    "page",
    [
        {"page_size": 0},
        {"page_size": -5},
        {"page_size": 2.5},
        {"page_size": 100000},
        {"page_size": 10, "page_number": 0},
    ],
)
def test_bad_pagination_is_rejected_without_searching(
    shared: Registry, page: dict[str, Any]
) -> None:
    item = search_item({"type": "UIN", "value": ANA.run}, pagination=page)
    status, reply = shared.client.post(SYNC, signed(search_envelope(item), shared.keys[SENDER]))
    assert status == 200
    [answer] = reply["message"]["search_response"]
    assert answer["status"] == "rjct" and answer["status_reason_code"] == "rjct.pagination.invalid"
    assert "data" not in answer and shared.disclosure.calls == []


@pytest.mark.parametrize("where", ["transaction_id", "message_id", "reference_id", "sender_id"])
def test_over_long_ids(shared: Registry, where: str) -> None:
    long = "x" * 100
    item = search_item(
        {"type": "UIN", "value": ANA.run}, reference_id=long if where == "reference_id" else "r"
    )
    body = search_envelope(item, transaction_id=long if where == "transaction_id" else "t")
    if where in ("message_id", "sender_id"):
        body["header"][where] = long
    status, code, reply = _refused(shared, SYNC, signed(body, shared.keys[SENDER]))
    assert (status, code) == (400, "err.request.bad")
    assert where in reply["errors"][0]["message"]


def test_required_signature_missing_or_bad(shared: Registry) -> None:
    unsigned = search_envelope(search_item({"type": "UIN", "value": ANA.run}))
    status, code, _ = _refused(shared, SYNC, unsigned)
    assert (status, code) == (401, "err.signature.missing")
    tampered = _valid(shared)
    tampered["message"]["search_request"][0]["search_criteria"]["query"]["value"] = "11.222.333-4"
    assert _refused(shared, SYNC, tampered)[1] == "err.signature.invalid"
    foreign_key = signed(unsigned, shared.keys[LAX_SENDER])  # signed, but by another sender's key
    assert _refused(shared, SYNC, foreign_key)[1] == "err.signature.invalid"
    garbage = {"signature": 'Signature: kidId="a|b|ed25519", created="x"', **unsigned}
    assert _refused(shared, SYNC, garbage)[1] == "err.signature.invalid"


def test_optional_signature_accepts_unsigned_but_never_a_bad_one(shared: Registry) -> None:
    unsigned = search_envelope(search_item({"type": "UIN", "value": ANA.run}), sender=LAX_SENDER)
    status, reply = shared.client.post(SYNC, unsigned)
    assert status == 200 and reply["message"]["search_response"][0]["status"] == "succ"
    shared.disclosure.calls.clear()
    wrong = signed(
        search_envelope(search_item({"type": "UIN", "value": ANA.run}), sender=LAX_SENDER),
        shared.keys[SENDER],
    )
    assert _refused(shared, SYNC, wrong)[1] == "err.signature.invalid"


def test_unknown_sender_and_another_clients_sender(shared: Registry) -> None:
    stranger = search_envelope(
        search_item({"type": "UIN", "value": ANA.run}), sender="unknown.example.org"
    )
    status, code, _ = _refused(shared, SYNC, stranger)
    assert (status, code) == (403, "err.sender_id.invalid")
    # a registered sender, but of another client than the token's
    borrowed = search_envelope(
        search_item({"type": "UIN", "value": ANA.run}), sender=FOREIGN_SENDER
    )
    status, code, _ = _refused(shared, SYNC, borrowed, token="token-social")
    assert (status, code) == (403, "err.sender_id.invalid")


def test_header_checks(shared: Registry) -> None:
    cases = [
        ({"receiver_id": "someone-else"}, "err.receiver_id.invalid", None),
        ({"version": "2.0.0"}, "err.version.not_supported", "rjct.version.invalid"),
        ({"action": "subscribe"}, "err.request.bad", "rjct.action.invalid"),
        ({"total_count": 7}, "err.request.bad", "rjct.total_count.invalid"),
        ({"is_msg_encrypted": True}, "err.encryption.invalid", None),
    ]
    for header, expected, reason in cases:
        _, code, reply = _refused(shared, SYNC, _valid(shared, **header))
        assert code == expected, header
        assert reply["header"].get("status_reason_code") == reason


def test_not_json_not_an_object_too_big_wrong_type(shared: Registry) -> None:
    assert _refused(shared, SYNC, None, raw=b"{not json")[1] == "err.request.bad"
    assert _refused(shared, SYNC, [1, 2])[1] == "err.request.bad"
    huge = b'{"header": {}, "message": {"x": "' + b"a" * 1_100_000 + b'"}}'
    status, code, reply = _refused(shared, SYNC, None, raw=huge)
    assert code == "err.request.bad" and "larger than" in reply["errors"][0]["message"]
    response = shared.client.http.post(
        "/dci" + SYNC,
        content=b"a=b",
        headers={
            "Authorization": "Bearer token-social",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "err.request.bad"


def test_a_message_id_is_used_once(shared: Registry) -> None:
    first = _valid(shared)
    assert shared.client.post(SYNC, first)[0] == 200
    shared.disclosure.calls.clear()
    again = signed(
        search_envelope(
            search_item({"type": "UIN", "value": ANA.run}), message_id=first["header"]["message_id"]
        ),
        shared.keys[SENDER],
    )
    _, code, reply = _refused(shared, SYNC, again)
    assert code == "err.request.bad"
    assert reply["header"]["status_reason_code"] == "rjct.message_id.duplicate"


def test_refusals_on_async_endpoints_are_err_acknowledgements(shared: Registry) -> None:
    status, code, reply = _refused(shared, ASYNC, _valid(shared, version="0.9"))
    assert (status, code) == (400, "err.version.not_supported")
    assert set(reply["message"]) == {"ack_status", "timestamp", "correlation_id", "error"}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"header": {"total_count": NaN}, "message": {}}',
        b'{"header": {"total_count": Infinity}, "message": {}}',
        b'{"header": {}, "message": {"x": "\\ud800"}}',
        b'{"header": {}, "message": ' + b'{"a": [' * 2000 + b"1" + b"]}" * 2000 + b"}",
    ],
)
def test_json_that_python_reads_but_nothing_else_should(shared: Registry, raw: bytes) -> None:
    status, code, _ = _refused(shared, SYNC, None, raw=raw)
    assert (status, code) == (400, "err.request.bad")


def test_a_nan_page_size_cannot_slip_through(shared: Registry) -> None:
    env = signed(
        search_envelope(search_item({"type": "UIN", "value": ANA.run})), shared.keys[SENDER]
    )
    text = json.dumps(env).replace(
        '"version": "1.0.0", "reg_event_type"',
        '"version": "1.0.0", "pagination": {"page_size": NaN}, "reg_event_type"',
    )
    assert "NaN" in text
    status, code, _ = _refused(shared, SYNC, None, raw=text.encode())
    assert (status, code) == (400, "err.request.bad")
