"""Receiving a DCI message: everything checked before any request in it is looked at.

In order: the bearer token (through the :class:`Authenticator` port), JSON, the standard's
schema for the endpoint, Nexo's bounds (ids, batch size, counts), the sender (registered, bound
to the authenticated client, active), the receiver id, the signature (per the sender's rule), the
callback address, and replays. Anything wrong refuses the whole message with the standard's
``err.*`` code (:class:`DciRefused`); nothing in it is processed and nothing is disclosed.
An accepted message is recorded as a transaction (caller's unit of work).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from nexo.config import DciSettings
from nexo.dci.errors import DciRefused, ErrorCode, HeaderReason
from nexo.dci.ports import AuthenticationFailed, Authenticator, Client
from nexo.dci.repository import DciRepository
from nexo.dci.schemas import (
    Envelope,
    Header,
    SearchRequest,
    SubscribeRequest,
    TxnStatusRequest,
    UnsubscribeRequest,
)
from nexo.dci.sender import Sender, SignaturePolicy, callback_allowed
from nexo.dci.signature import SignatureError, canonical_json, parse_jwks, verify
from nexo.dci.standard import Document, SchemaProblem, problems, request_pointer
from nexo.dci.tables import DciTransactionRow
from nexo.store.engine import transaction

MAX_ID = 99
MAX_DEPTH = 32
VERSIONS = ("1.0.0",)
Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str  # as in the standard (mounted under /dci)
    action: str  # header.action it accepts
    mode: str  # sync | async
    document: Document  # whose schema it follows
    reply_action: str
    model: type[BaseModel]


SEARCH = Endpoint(
    "/registry/search", "search", "async", Document.SOCIAL, "on-search", SearchRequest
)
SYNC_SEARCH = Endpoint(
    "/registry/sync/search", "search", "sync", Document.SOCIAL, "on-search", SearchRequest
)
TXN_STATUS = Endpoint(
    "/registry/txn/status",
    "txn-status",
    "async",
    Document.SOCIAL,
    "txn-on-status",
    TxnStatusRequest,
)
SYNC_TXN_STATUS = Endpoint(
    "/registry/sync/txn/status",
    "txn-status",
    "sync",
    Document.SOCIAL,
    "txn-on-status",
    TxnStatusRequest,
)
SUBSCRIBE = Endpoint(
    "/registry/subscribe", "subscribe", "async", Document.CORE, "on-subscribe", SubscribeRequest
)
UNSUBSCRIBE = Endpoint(
    "/registry/unsubscribe",
    "unsubscribe",
    "async",
    Document.CORE,
    "on-unsubscribe",
    UnsubscribeRequest,
)
ENDPOINTS = (SEARCH, SYNC_SEARCH, TXN_STATUS, SYNC_TXN_STATUS, SUBSCRIBE, UNSUBSCRIBE)


@dataclass
class Context:
    """What is known of a message so far; error replies echo it."""

    correlation_id: str
    sender_id: str | None = None
    transaction_id: str | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    endpoint: Endpoint
    client: Client
    sender: Sender
    header: Header
    message: Any  # the endpoint's typed message
    raw: Json  # {"header": ..., "message": ...} as received
    correlation_id: str
    sender_uri: str | None
    transaction_pk: int
    replayed: bool = False  # the same asynchronous message was accepted before


def _bad(message: str, reason: HeaderReason | None = None) -> DciRefused:
    return DciRefused(ErrorCode.REQUEST_BAD, message, header_reason=reason)


def _schema_refusal(found: list[SchemaProblem]) -> DciRefused:
    reason = None
    for p in found:
        if p.path == "header.message_ts":
            reason = HeaderReason.MESSAGE_TS_INVALID
        elif p.path == "header.action" and reason is None:
            reason = HeaderReason.ACTION_INVALID
    text = "; ".join(str(p) for p in found)
    return _bad(f"the message does not follow the DCI schema: {text}", reason)


def _ids(raw: Json) -> list[tuple[str, Any]]:
    """(where, value) of every id Nexo bounds to 1..99 characters."""
    header, message = raw["header"], raw["message"]
    out: list[tuple[str, Any]] = [
        ("header.message_id", header.get("message_id")),
        ("header.sender_id", header.get("sender_id")),
        ("message.transaction_id", message.get("transaction_id")),
    ]
    if header.get("receiver_id") is not None:
        out.append(("header.receiver_id", header["receiver_id"]))
    for key in ("search_request", "subscribe_request"):
        for i, item in enumerate(message.get(key) or ()):
            out.append((f"message.{key}[{i}].reference_id", item.get("reference_id")))
    status = message.get("txnstatus_request")
    if isinstance(status, dict):
        out.append(("message.txnstatus_request.reference_id", status.get("reference_id")))
        values = status.get("attribute_value")
        for i, v in enumerate(values if isinstance(values, list) else [values]):
            out.append((f"message.txnstatus_request.attribute_value[{i}]", v))
    for i, code in enumerate(message.get("subscription_codes") or ()):
        out.append((f"message.subscription_codes[{i}]", code))
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_sane(raw: Any) -> None:
    """No nesting deeper than :data:`MAX_DEPTH` and no text that is not Unicode (lone
    surrogates), so that nothing downstream can overflow or fail to encode."""
    stack = [(raw, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _bad(f"the message is nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
            stack.extend((k, depth + 1) for k in node)
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise _bad("the message holds text that is not valid Unicode") from None


def _count(message: Any) -> int | None:
    if isinstance(message, SearchRequest):
        return len(message.search_request)
    if isinstance(message, SubscribeRequest):
        return len(message.subscribe_request)
    return None


def parse(
    endpoint: Endpoint, body: bytes, settings: DciSettings, ctx: Context
) -> tuple[Json, Envelope, Any]:
    """JSON, schema, bounds and types; no store access."""
    try:
        raw = json.loads(body, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _bad("the body is not JSON; send a {signature, header, message} object") from None
    _check_sane(raw)
    if not isinstance(raw, dict):
        raise _bad("the body must be a {signature, header, message} object")
    header = raw.get("header")
    if isinstance(header, dict) and isinstance(header.get("sender_id"), str):
        ctx.sender_id = header["sender_id"][:MAX_ID]
    message = raw.get("message")
    if isinstance(message, dict) and isinstance(message.get("transaction_id"), str):
        ctx.transaction_id = message["transaction_id"][:MAX_ID]
    found = problems(endpoint.document, request_pointer(endpoint.path), raw)
    if found:
        raise _schema_refusal(found)
    if (isinstance(header, dict) and header.get("is_msg_encrypted")) or (
        isinstance(message, dict) and "ciphertext" in message
    ):
        raise DciRefused(
            ErrorCode.ENCRYPTION_INVALID,
            "Nexo does not accept encrypted messages yet; send the message in clear over TLS",
        )
    for where, value in _ids(raw):
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID:
            raise _bad(f"{where} must be text of 1 to {MAX_ID} characters")
    try:
        envelope = Envelope.model_validate(raw)
        typed = endpoint.model.model_validate(envelope.message)
    except ValidationError as e:
        raise _bad(f"the message does not follow the DCI schema: {e.errors()[0]['msg']}") from None
    h = envelope.header
    if h.version not in VERSIONS:
        raise DciRefused(
            ErrorCode.VERSION_NOT_SUPPORTED,
            f"header.version {h.version[:20]!r} is not supported; use 1.0.0",
            header_reason=HeaderReason.VERSION_INVALID,
        )
    if h.action != endpoint.action:
        raise _bad(
            f"header.action must be {endpoint.action!r} on {endpoint.path}",
            HeaderReason.ACTION_INVALID,
        )
    count = _count(typed)
    if h.total_count < 0 or (count is not None and h.total_count != count):
        raise _bad(
            f"header.total_count must be the number of requests in the message ({count})",
            HeaderReason.TOTAL_COUNT_INVALID,
        )
    if count is not None and not 1 <= count <= settings.max_batch:
        raise _bad(
            f"a message carries 1 to {settings.max_batch} requests",
            HeaderReason.TOTAL_COUNT_LIMIT_EXCEEDED,
        )
    return raw, envelope, typed


def _check_sender(sender: Sender | None, client: Client, header: Header) -> Sender:
    if sender is None or not sender.active:
        raise DciRefused(
            ErrorCode.SENDER_ID_INVALID,
            f"sender_id {header.sender_id!r} is not registered with this registry",
            hint="ask the operator to run: nexo dci senders add",
        )
    if sender.client_id != client.client_id:
        raise DciRefused(
            ErrorCode.SENDER_ID_INVALID,
            f"sender_id {header.sender_id!r} is not registered to the client of this token",
        )
    return sender


def _check_signature(sender: Sender, envelope: Envelope, raw: Json, now: datetime) -> None:
    if envelope.signature is None or not envelope.signature.strip():
        if sender.signature is SignaturePolicy.REQUIRED:
            raise DciRefused(
                ErrorCode.SIGNATURE_MISSING, f"{sender.sender_id} must sign its messages (Ed25519)"
            )
        return
    try:
        keys = parse_jwks(sender.jwks) if sender.jwks else {}
        verify(
            envelope.signature,
            raw["header"],
            raw["message"],
            sender_id=sender.sender_id,
            keys=keys,
            now=now.timestamp(),
        )
    except SignatureError as e:
        raise DciRefused(ErrorCode.SIGNATURE_INVALID, e.message) from None


def _callback(endpoint: Endpoint, sender: Sender, header: Header) -> str | None:
    if endpoint.mode == "sync":
        return None
    uri = header.sender_uri or (sender.callback_uris[0] if sender.callback_uris else None)
    if uri is None:
        raise DciRefused(
            ErrorCode.SENDER_URI_INVALID,
            "no header.sender_uri and no callback address registered for this sender",
        )
    if not callback_allowed(sender.callback_uris, uri):
        raise DciRefused(
            ErrorCode.SENDER_URI_INVALID,
            "header.sender_uri is not under a callback address registered for this sender",
            hint="ask the operator to register it: nexo dci senders add ... --callback URL",
        )
    return uri


def authenticate(authenticator: Authenticator, token: str | None) -> Client:
    """The calling client, through the port; a refusal with ``err.request.unauthorized``."""
    try:
        return authenticator.authenticate(token)
    except AuthenticationFailed as e:
        raise DciRefused(ErrorCode.REQUEST_UNAUTHORIZED, e.message, hint=e.hint) from None


def receive(
    *,
    factory: sessionmaker[Session],
    endpoint: Endpoint,
    body: bytes,
    client: Client,
    settings: DciSettings,
    ctx: Context,
    now: datetime,
) -> Accepted:
    """Check a message from an authenticated ``client`` and record it as a transaction;
    raises :class:`DciRefused`."""
    raw, envelope, typed = parse(endpoint, body, settings, ctx)
    header = envelope.header
    if header.receiver_id is not None and header.receiver_id != settings.registry_id:
        raise DciRefused(
            ErrorCode.RECEIVER_ID_INVALID,
            f"header.receiver_id must be {settings.registry_id!r} (this registry) or absent",
        )
    content = {"header": raw["header"], "message": raw["message"]}
    digest = hashlib.sha256(canonical_json(content)).hexdigest()
    try:
        with transaction(factory) as session:
            repo = DciRepository(session)
            sender = _check_sender(repo.sender(header.sender_id), client, header)
            _check_signature(sender, envelope, raw, now)
            uri = _callback(endpoint, sender, header)
            seen = repo.transaction_by_message(sender.sender_id, header.message_id)
            if seen is not None:
                if (
                    seen.request_hash == digest
                    and seen.mode == "async"
                    and endpoint.mode == "async"
                ):
                    return Accepted(endpoint, client, sender, header, typed, content,
                                    seen.correlation_id, uri, seen.id, replayed=True)  # fmt: skip
                raise _bad(
                    f"header.message_id {header.message_id!r} was used before by this sender",
                    HeaderReason.MESSAGE_ID_DUPLICATE,
                )
            row = repo.add_transaction(
                DciTransactionRow(
                    correlation_id=ctx.correlation_id,
                    sender_id=sender.sender_id,
                    client_id=client.client_id,
                    default_purpose=client.default_purpose,
                    message_id=header.message_id,
                    transaction_id=typed.transaction_id,
                    action=endpoint.action,
                    mode=endpoint.mode,
                    status="rcvd",
                    request_hash=digest,
                    request=content if endpoint.mode == "async" else None,
                    sender_uri=uri,
                    received_at=now,
                    completed_at=None,
                    lease_until=None,
                    attempts=0,
                )
            )
            pk = row.id
    except IntegrityError:
        raise _bad(
            f"header.message_id {header.message_id!r} was used before by this sender",
            HeaderReason.MESSAGE_ID_DUPLICATE,
        ) from None
    return Accepted(endpoint, client, sender, header, typed, content, ctx.correlation_id, uri, pk)
