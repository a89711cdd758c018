"""Signed tokens: access tokens Nexo issues (EdDSA JWT) and client assertions it accepts.

Access tokens are JWTs typed ``at+jwt`` (RFC 9068) so that no other JWT (a client assertion, an
ID token) can be replayed as one. Client assertions follow RFC 7523 (``private_key_jwt``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from nexo.auth.domain import AuthenticationFailed, Client, OAuthError
from nexo.auth.keys import KeyStore

ACCESS_TYP = "at+jwt"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ["EdDSA", "ES256", "ES384", "RS256", "PS256"]
MAX_ASSERTION_LIFETIME = timedelta(minutes=10)
LEEWAY = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: datetime
    scope: str
    jti: str


@dataclass(frozen=True, slots=True)
class TokenClaims:
    client_id: str
    agency: str
    scopes: frozenset[str]
    jti: str
    expires_at: int
    long_lived: bool


def issue_access_token(
    keys: KeyStore,
    *,
    client: Client,
    scopes: frozenset[str],
    issuer: str,
    audience: str,
    now: datetime,
    ttl: timedelta,
    long_lived: bool = False,
) -> IssuedToken:
    jti = uuid.uuid4().hex
    exp = now + ttl
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": client.client_id,
        "aud": audience,
        "client_id": client.client_id,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(exp.timestamp()),
        "jti": jti,
        "scope": " ".join(sorted(scopes)),
        "nexo_agency": client.agency,
    }
    if long_lived:
        claims["nexo_long_lived"] = True
    token = jwt.encode(
        claims,
        keys.token_key,
        algorithm="EdDSA",
        headers={"kid": keys.token_kid, "typ": ACCESS_TYP},
    )
    return IssuedToken(token, exp, claims["scope"], jti)


def verify_access_token(keys: KeyStore, token: str, *, issuer: str, audience: str) -> TokenClaims:
    """The claims of a valid access token; anything else raises ``AuthenticationFailed``."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("typ") != ACCESS_TYP:
            raise AuthenticationFailed(
                "the bearer token is not a Nexo access token (typ must be at+jwt)",
                hint="get one from POST /oauth/token",
            )
        if header.get("kid") != keys.token_kid:
            raise AuthenticationFailed(
                "the bearer token was signed by a key Nexo does not use",
                hint="get a new token from POST /oauth/token",
            )
        claims = jwt.decode(
            token,
            keys.token_key.public_key(),
            algorithms=["EdDSA"],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY,
            options={"require": ["exp", "iat", "sub", "jti", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError as e:
        raise AuthenticationFailed(
            "the bearer token has expired", hint="get a new token from POST /oauth/token"
        ) from e
    except jwt.InvalidTokenError as e:
        raise AuthenticationFailed(
            f"the bearer token is not valid: {e}", hint="get a token from POST /oauth/token"
        ) from e
    return TokenClaims(
        client_id=str(claims["sub"]),
        agency=str(claims.get("nexo_agency", "")),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        jti=str(claims["jti"]),
        expires_at=int(claims["exp"]),
        long_lived=bool(claims.get("nexo_long_lived", False)),
    )


def assertion_subject(assertion: str) -> str:
    """The client id an assertion claims (unverified: only to find the key to verify it with)."""
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.InvalidTokenError as e:
        raise OAuthError("invalid_client", f"client_assertion is not a JWT: {e}") from e
    sub, iss = claims.get("sub"), claims.get("iss")
    if not isinstance(sub, str) or sub != iss:
        raise OAuthError(
            "invalid_client", "client_assertion must carry iss and sub, both the client id"
        )
    return sub


def verify_client_assertion(
    assertion: str, *, client: Client, audiences: list[str], now: datetime
) -> tuple[str, datetime]:
    """Check an RFC 7523 client assertion; return its ``jti`` and expiry (to make it single-use)."""
    if not client.public_jwk:
        raise OAuthError(
            "invalid_client",
            f"client {client.client_id!r} has no registered public key",
            hint="register one: nexo clients add ... --public-key FILE",
        )
    try:
        key = jwt.PyJWK(client.public_jwk)
        claims = jwt.decode(
            assertion,
            key.key,
            algorithms=[key.algorithm_name] if key.algorithm_name else ASSERTION_ALGORITHMS,
            audience=audiences,
            issuer=client.client_id,
            leeway=LEEWAY,
            options={"require": ["exp", "iss", "sub", "aud", "jti"]},
        )
    except jwt.InvalidTokenError as e:
        raise OAuthError("invalid_client", f"client_assertion is not valid: {e}") from e
    exp = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
    if exp - now > MAX_ASSERTION_LIFETIME:
        raise OAuthError(
            "invalid_client",
            "client_assertion lives too long",
            hint=f"set exp at most {int(MAX_ASSERTION_LIFETIME.total_seconds())} s ahead",
        )
    jti = claims["jti"]
    if not isinstance(jti, str) or not 8 <= len(jti) <= 200:
        raise OAuthError("invalid_client", "client_assertion jti must be 8 to 200 characters")
    return jti, exp + LEEWAY
