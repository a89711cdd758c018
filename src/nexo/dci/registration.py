"""Registering DCI senders and listing what the DCI layer holds (operator use cases).

Keyword-only, on the caller's session; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from nexo.dci.repository import DciRepository
from nexo.dci.sender import Sender, SignaturePolicy, check_callback, check_sender_id
from nexo.dci.signature import SignatureError, parse_jwks
from nexo.dci.tables import DciDeliveryRow, DciSubscriptionRow
from nexo.errors import NotFound, UsageError


def _checked_jwks(jwks: Any) -> dict[str, Any]:
    try:
        parse_jwks(jwks)
    except SignatureError as e:
        raise UsageError(
            f"the JWKS is not usable: {e.message}", hint="give Ed25519 public keys"
        ) from e
    return dict(jwks)


def register_sender(
    session: Session,
    *,
    sender_id: str,
    client_id: str,
    callbacks: Sequence[str],
    jwks: dict[str, Any] | None,
    signature: SignaturePolicy,
    now: datetime,
) -> Sender:
    """Add a sender, or replace its registration (keys, callbacks, signature rule)."""
    check_sender_id(sender_id)
    if not client_id.strip() or len(client_id) > 128:
        raise UsageError("the client id must be 1 to 128 characters", hint="see: nexo clients list")
    for uri in callbacks:
        check_callback(uri)
    keys = _checked_jwks(jwks) if jwks is not None else None
    if signature is SignaturePolicy.REQUIRED and keys is None:
        raise UsageError(
            f"{sender_id} must sign, but no keys were given",
            hint="give --jwks FILE with its public keys, or --signature optional while it migrates",
        )
    sender = Sender(sender_id, client_id.strip(), signature, tuple(dict.fromkeys(callbacks)), keys)
    DciRepository(session).save_sender(sender, now)
    return sender


def remove_sender(session: Session, *, sender_id: str) -> None:
    if not DciRepository(session).delete_sender(sender_id):
        raise NotFound(f"no DCI sender {sender_id!r}", hint="see: nexo dci senders list")


def list_senders(session: Session) -> list[Sender]:
    return DciRepository(session).senders()


def list_deliveries(
    session: Session, *, state: str | None = None, limit: int = 100
) -> list[DciDeliveryRow]:
    return DciRepository(session).deliveries(state, limit)


def list_subscriptions(session: Session, *, sender_id: str) -> list[DciSubscriptionRow]:
    return DciRepository(session).subscriptions_of(sender_id)
