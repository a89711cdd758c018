"""OAuth 2.0 token endpoint: client credentials, with client_secret or private_key_jwt."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session

from nexo.api.deps import api_state
from nexo.api.problems import RateLimited
from nexo.api.responses import problems
from nexo.audit.domain import AuditRecord
from nexo.auth import service
from nexo.auth.domain import Client, OAuthError
from nexo.auth.schemas import TokenRead
from nexo.auth.tokens import CLIENT_ASSERTION_TYPE
from nexo.policy.decision import Requester
from nexo.store.base import utc_now

router = APIRouter(tags=["oauth"])

Field = Annotated[str | None, Form(max_length=4096)]


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as e:
        raise OAuthError("invalid_request", "the Basic authorization header is malformed") from e
    client_id, sep, secret = raw.partition(":")
    if not sep:
        raise OAuthError("invalid_request", "the Basic authorization header is malformed")
    return unquote(client_id), unquote(secret)


@router.post(
    "/oauth/token",
    response_model=TokenRead,
    summary="Get an access token (OAuth 2.0 client credentials)",
    responses=problems(400),
)
def token(
    request: Request,
    grant_type: Annotated[str, Form(max_length=64, examples=["client_credentials"])],
    scope: Field = None,
    client_id: Field = None,
    client_secret: Field = None,
    client_assertion_type: Field = None,
    client_assertion: Field = None,
) -> TokenRead:
    """Authenticate with ``client_secret_basic``, ``client_secret_post`` or ``private_key_jwt``
    (RFC 7523: a JWT signed with your registered key, ``aud`` = this endpoint's URL or the
    issuer, a fresh ``jti`` each time) and get a short-lived EdDSA-signed access token."""
    api = api_state(request)
    if grant_type != "client_credentials":
        raise OAuthError(
            "unsupported_grant_type",
            f"grant_type {grant_type!r} is not supported",
            hint="use grant_type=client_credentials",
        )
    basic = _basic(request)
    claimed = (basic[0] if basic else client_id) or "(assertion)"
    request.state.client = Requester(claimed[:64], "")
    wait = api.token_limiter.check(claimed)
    if wait is not None:
        raise RateLimited("too many token requests for this client", retry_after=wait)
    now = utc_now()
    audiences = [str(request.url_for("token")), api.settings.issuer]

    def work(s: Session) -> tuple[TokenRead, AuditRecord]:
        client = _authenticate(
            s,
            basic,
            client_id,
            client_secret,
            client_assertion_type,
            client_assertion,
            audiences,
            now,
        )
        request.state.client = Requester(client.client_id, client.agency)
        issued = service.issue_token(
            api.keys,
            client=client,
            scope=scope,
            issuer=api.settings.issuer,
            audience=api.settings.audience,
            now=now,
            ttl=timedelta(seconds=api.settings.token_ttl_seconds),
        )
        api.limiter.configure(client.client_id, client.rate_per_second, client.burst)
        record = AuditRecord(
            kind="request",
            action="",
            decision="allow",
            client_id=client.client_id,
            agency=client.agency,
            detail={"token": issued.jti, "scope": issued.scope},
        )
        read = TokenRead(
            access_token=issued.token, expires_in=api.settings.token_ttl_seconds, scope=issued.scope
        )
        return read, record

    # write=False: the slow secret check must not hold the audit lock; the used assertion id
    # commits first, then the entry (a token refused for want of its entry costs a new jti)
    return api.run(request, work, write=False)


def _authenticate(
    s: Session,
    basic: tuple[str, str] | None,
    client_id: str | None,
    client_secret: str | None,
    assertion_type: str | None,
    assertion: str | None,
    audiences: list[str],
    now: datetime,
) -> Client:
    methods = sum([basic is not None, client_secret is not None, assertion is not None])
    if methods != 1:
        raise OAuthError(
            "invalid_request",
            "authenticate the client exactly one way",
            hint="Basic auth, or client_id + client_secret, or client_assertion (private_key_jwt)",
        )
    if assertion is not None:
        if assertion_type != CLIENT_ASSERTION_TYPE:
            raise OAuthError(
                "invalid_request", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}"
            )
        return service.authenticate_assertion(s, assertion=assertion, audiences=audiences, now=now)
    if basic is not None:
        return service.authenticate_secret(s, client_id=basic[0], secret=basic[1])
    if not client_id:
        raise OAuthError("invalid_request", "client_id is missing")
    return service.authenticate_secret(s, client_id=client_id, secret=client_secret or "")
