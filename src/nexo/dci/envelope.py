"""The messages Nexo sends: acknowledgements, signed envelopes, error documents.

Error replies are written so that one body satisfies, at once, the DCI schema the status code
documents (an ``ERR`` acknowledgement for asynchronous endpoints, a rejected ``on-search`` /
``txn-on-status`` envelope for synchronous ones), the DCI ``HttpErrorResponse`` (``errors``)
and RFC 9457 (``type``, ``title``, ``status``, ``detail``): see decision 0051.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from nexo.dci.errors import DciRefused, ErrorCode
from nexo.dci.keys import KeyRing
from nexo.dci.signature import sign

VERSION = "1.0.0"
PROBLEM_BASE = "https://nexo.example.org/problems/dci/"
Json = dict[str, Any]


def timestamp(now: datetime) -> str:
    """RFC 3339 with the time zone, as DCI wants every time stamp."""
    return now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return str(uuid.uuid4())


def ack(correlation_id: str, now: datetime) -> Json:
    return {
        "message": {
            "ack_status": "ACK",
            "timestamp": timestamp(now),
            "correlation_id": correlation_id,
        }
    }


def callback_header(
    *,
    action: str,
    registry_id: str,
    receiver_id: str | None,
    total: int,
    completed: int,
    now: datetime,
    status: str = "succ",
    reason_code: str | None = None,
    reason_message: str | None = None,
) -> Json:
    """``MsgCallbackHeader_V1.0.0``; also carries ``sender_id`` and ``total_count`` so that it
    satisfies ``MsgHeader_V1.0.0`` too (the core API uses that on ``on-subscribe``)."""
    header: Json = {
        "version": VERSION,
        "message_id": new_id(),
        "message_ts": timestamp(now),
        "action": action,
        "status": status,
        "total_count": total,
        "completed_count": completed,
        "sender_id": registry_id,
        "is_msg_encrypted": False,
    }
    if receiver_id:
        header["receiver_id"] = receiver_id
    if reason_code:
        header["status_reason_code"] = reason_code
    if reason_message:
        header["status_reason_message"] = reason_message[:999]
    return header


def signed(
    header: Json, message: Json | None, keys: KeyRing, registry_id: str, now: datetime
) -> Json:
    """``{signature, header, message}`` signed with Nexo's current key."""
    key = keys.current
    envelope: Json = {"header": header}
    if message is not None:
        envelope["message"] = message
    envelope = {
        "signature": sign(
            header,
            message,
            key=key.private,
            sender_id=registry_id,
            kid=key.kid,
            now=now.timestamp(),
        ),
        **envelope,
    }
    return envelope


def _problem(error: DciRefused, status: int) -> Json:
    return {
        "type": PROBLEM_BASE + error.error.value,
        "title": error.error.summary,
        "status": status,
        "detail": error.message,
        **({"hint": error.hint} if error.hint else {}),
        "errors": [{"code": error.error.value, "message": error.message}],
    }


def error_ack(error: DciRefused, correlation_id: str, now: datetime) -> tuple[int, Json]:
    """An ``ERR`` acknowledgement (asynchronous endpoints and every 401/403/5xx)."""
    status = error.error.http_status
    body = _problem(error, status)
    body["message"] = {
        "ack_status": "ERR",
        "timestamp": timestamp(now),
        "correlation_id": correlation_id,
        "error": {"code": error.error.value, "message": error.message},
    }
    return status, body


def error_envelope(
    error: DciRefused,
    *,
    action: str,
    transaction_id: str | None,
    correlation_id: str,
    receiver_id: str | None,
    keys: KeyRing,
    registry_id: str,
    now: datetime,
) -> tuple[int, Json]:
    """A rejected synchronous reply: an ``on-search`` / ``txn-on-status`` envelope with header
    status ``rjct`` (401/403/5xx get the plain :func:`error_ack` form, which their schema wants)."""
    status = error.error.http_status
    if status in (401, 403) or status >= 500:
        return error_ack(error, correlation_id, now)
    header = callback_header(
        action=action,
        registry_id=registry_id,
        receiver_id=receiver_id,
        total=0,
        completed=0,
        now=now,
        status="rjct",
        reason_code=error.header_reason.value if error.header_reason else None,
        reason_message=f"{error.error.value}: {error.message}",
    )
    message: Json | None = None
    if transaction_id is not None:
        key = "search_response" if action == "on-search" else None
        if key:
            message = {"transaction_id": transaction_id, "correlation_id": correlation_id, key: []}
    body = signed(header, message, keys, registry_id, now)
    return status, {**_problem(error, status), **body}


def service_failure(correlation_id: str, now: datetime) -> tuple[int, Json]:
    error = DciRefused(
        ErrorCode.SERVICE_UNAVAILABLE,
        "the registry could not handle the message; nothing was disclosed; retry later",
    )
    return error_ack(error, correlation_id, now)
