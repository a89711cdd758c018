"""A DCI search end to end, in process, for ``nexo demo`` and for trying a binding.

:func:`demo_search` plays a social protection MIS: it registers a demo sender with a fresh
Ed25519 key, signs a synchronous ``idtype-value`` search, and hands it to the same intake and
use case the HTTP route calls (minus HTTP and the bearer token: the client is given). It returns
the request, Nexo's signed ``on-search`` reply, and whether that reply verifies against the keys
Nexo publishes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from nexo.dci.envelope import new_id, timestamp
from nexo.dci.intake import SYNC_SEARCH, Context, receive
from nexo.dci.ports import Client
from nexo.dci.registration import register_sender
from nexo.dci.sender import SignaturePolicy
from nexo.dci.service import DciRuntime, answer_sync
from nexo.dci.signature import SignatureError, parse_jwks, public_jwk, sign, verify
from nexo.store.engine import transaction

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DciDemo:
    sender_id: str
    request: Json  # the signed search the demo sender sent
    reply: Json  # Nexo's signed on-search envelope
    signature_ok: bool  # the reply verifies against Nexo's published JWKS

    @property
    def records(self) -> list[Json]:
        items = self.reply.get("message", {}).get("search_response", [])
        return [r for item in items for r in item.get("data", {}).get("reg_records", [])]


def demo_search(
    runtime: DciRuntime,
    *,
    client: Client,
    identifier: str,
    id_type: str = "UIN",
    purpose: str | None = None,
    sender_id: str = "demo-spmis.example.org",
) -> DciDemo:
    """Search one person by identifier as a DCI sender of ``client`` would; see module doc."""
    key = Ed25519PrivateKey.generate()
    jwk = public_jwk(key.public_key())
    now = runtime.clock()
    with transaction(runtime.factory) as session:
        register_sender(
            session,
            sender_id=sender_id,
            client_id=client.client_id,
            callbacks=[],
            jwks={"keys": [jwk]},
            signature=SignaturePolicy.REQUIRED,
            now=now,
        )
    criteria: Json = {"query_type": "idtype-value", "query": {"type": id_type, "value": identifier}}
    if purpose:
        criteria["authorize"] = {"purpose": {"code": purpose}}
    header = {
        "version": "1.0.0",
        "message_id": new_id(),
        "message_ts": timestamp(now),
        "action": "search",
        "sender_id": sender_id,
        "receiver_id": runtime.settings.registry_id,
        "total_count": 1,
    }
    message = {
        "transaction_id": f"demo-{uuid.uuid4().hex[:12]}",
        "search_request": [
            {
                "reference_id": "1",
                "timestamp": timestamp(now),
                "search_criteria": criteria,
                "locale": "eng",
            }
        ],
    }
    signature = sign(
        header, message, key=key, sender_id=sender_id, kid=jwk["kid"], now=now.timestamp()
    )
    request = {"signature": signature, "header": header, "message": message}
    accepted = receive(
        factory=runtime.factory,
        endpoint=SYNC_SEARCH,
        body=json.dumps(request).encode(),
        client=client,
        settings=runtime.settings,
        ctx=Context(new_id()),
        now=now,
    )
    reply = answer_sync(runtime, accepted)
    try:
        verify(
            reply["signature"],
            reply["header"],
            reply["message"],
            sender_id=runtime.settings.registry_id,
            keys=parse_jwks(runtime.keys.jwks()),
            now=runtime.clock().timestamp(),
        )
        ok = True
    except SignatureError:
        ok = False
    return DciDemo(sender_id, request, reply, ok)
