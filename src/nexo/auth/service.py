"""Use cases of clients and users: register, authenticate, issue tokens. Never commits."""

from __future__ import annotations

import json
import os
import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import jwt
from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from sqlalchemy.orm import Session

from nexo.auth.domain import (
    DEFAULT_SCOPES,
    AuthenticationFailed,
    Client,
    OAuthError,
    Role,
    Scope,
    User,
    check_client_id,
)
from nexo.auth.keys import KeyStore
from nexo.auth.repository import ClientRepository, UserRepository
from nexo.auth.tables import ApiClientRow, ConsoleUserRow
from nexo.auth.tokens import (
    IssuedToken,
    TokenClaims,
    assertion_subject,
    issue_access_token,
    verify_client_assertion,
)
from nexo.errors import UsageError


def hash_secret(secret: str) -> str:
    """Argon2id with OWASP's parameters: 19 MiB, 2 iterations, 1 lane."""
    kdf = Argon2id(salt=os.urandom(16), length=32, iterations=2, lanes=1, memory_cost=19 * 1024)
    return kdf.derive_phc_encoded(secret.encode())


def secret_matches(secret: str, phc: str) -> bool:
    try:
        Argon2id.verify_phc_encoded(secret.encode(), phc)
    except (InvalidKey, ValueError):
        return False
    return True


@cache
def _dummy_hash() -> str:
    """Checked against when the client is unknown, so timing does not tell which ids exist."""
    return hash_secret("not a real secret")


def jwk_from_public_key(text: str) -> dict[str, Any]:
    """A public key given as a JWK (JSON) or PEM, as a JWK with its algorithm."""
    text = text.strip()
    if text.startswith("{"):
        jwk = json.loads(text)
        if "d" in jwk:
            raise UsageError("the file holds a private key", hint="give the public key only")
        jwt.PyJWK(jwk)  # validates
        return {k: v for k, v in jwk.items() if k in {"kty", "crv", "x", "y", "n", "e", "alg"}}
    try:
        key = serialization.load_pem_public_key(text.encode())
    except ValueError as e:
        raise UsageError("not a PEM public key or JWK", hint="give a public key file") from e
    if isinstance(key, ed25519.Ed25519PublicKey):
        out = jwt.algorithms.OKPAlgorithm.to_jwk(key, as_dict=True) | {"alg": "EdDSA"}
    elif isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        out = jwt.algorithms.ECAlgorithm.to_jwk(key, as_dict=True) | {"alg": "ES256"}
    elif isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048:
        out = jwt.algorithms.RSAAlgorithm.to_jwk(key, as_dict=True) | {"alg": "PS256"}
    else:
        raise UsageError(
            "unsupported key", hint="use Ed25519, EC P-256 or RSA of 2048 bits or more"
        )
    return dict(out)


def add_client(
    session: Session,
    *,
    client_id: str,
    agency: str,
    name: str | None = None,
    scopes: frozenset[str] = DEFAULT_SCOPES,
    public_jwk: dict[str, Any] | None = None,
    with_secret: bool = True,
    default_purpose: str | None = None,
    rate_per_second: float,
    burst: int,
    now: datetime,
) -> tuple[Client, str | None]:
    """Register a client; return it and its secret (shown once, stored only as a hash)."""
    check_client_id(client_id)
    unknown = scopes - {s.value for s in Scope}
    if unknown:
        raise UsageError(
            f"unknown scope {', '.join(sorted(unknown))}",
            hint="scopes: " + ", ".join(s.value for s in Scope),
        )
    if not with_secret and not public_jwk:
        raise UsageError("a client needs a secret or a public key", hint="drop --no-secret")
    repo = ClientRepository(session)
    if repo.row(client_id) is not None:
        raise UsageError(f"client {client_id!r} exists", hint="choose another id")
    secret = secrets.token_urlsafe(32) if with_secret else None
    client = repo.add(
        ApiClientRow(
            client_id=client_id,
            agency=agency,
            name=name or client_id,
            secret_hash=hash_secret(secret) if secret else None,
            public_jwk=public_jwk,
            scopes=" ".join(sorted(scopes)),
            rate_per_second=rate_per_second,
            burst=burst,
            status="active",
            default_purpose=default_purpose,
            created_at=now,
            updated_at=now,
        )
    )
    return client, secret


def rotate_secret(session: Session, *, client_id: str, now: datetime) -> str:
    row = ClientRepository(session).row(client_id)
    if row is None:
        raise UsageError(f"no client {client_id!r}", hint="see: nexo clients list")
    secret = secrets.token_urlsafe(32)
    row.secret_hash = hash_secret(secret)
    row.updated_at = now
    return secret


def set_status(session: Session, *, client_id: str, active: bool, now: datetime) -> Client:
    repo = ClientRepository(session)
    row = repo.row(client_id)
    if row is None:
        raise UsageError(f"no client {client_id!r}", hint="see: nexo clients list")
    row.status = "active" if active else "disabled"
    row.updated_at = now
    session.flush()
    client = repo.get(client_id)
    assert client is not None
    return client


def list_clients(session: Session) -> list[Client]:
    return ClientRepository(session).all()


def get_client(session: Session, client_id: str) -> Client | None:
    return ClientRepository(session).get(client_id)


def authenticate_secret(session: Session, *, client_id: str, secret: str) -> Client:
    row = ClientRepository(session).row(client_id)
    ok = secret_matches(secret, row.secret_hash if row and row.secret_hash else _dummy_hash())
    if row is None or not row.secret_hash or not ok or row.status != "active":
        raise OAuthError(
            "invalid_client",
            "client authentication failed",
            hint="check client_id and client_secret, or ask for a new secret",
        )
    client = ClientRepository(session).get(client_id)
    assert client is not None
    return client


def authenticate_assertion(
    session: Session, *, assertion: str, audiences: list[str], now: datetime
) -> Client:
    """``private_key_jwt``: the client signed an assertion with its registered key."""
    client_id = assertion_subject(assertion)
    repo = ClientRepository(session)
    client = repo.get(client_id)
    if client is None or not client.active:
        raise OAuthError("invalid_client", "client authentication failed")
    jti, expires_at = verify_client_assertion(
        assertion, client=client, audiences=audiences, now=now
    )
    if not repo.use_assertion(client.client_id, jti, expires_at, now):
        raise OAuthError(
            "invalid_client",
            "client_assertion was used before (jti replayed)",
            hint="sign a new assertion with a fresh jti for every token request",
        )
    return client


def issue_token(
    keys: KeyStore,
    *,
    client: Client,
    scope: str | None,
    issuer: str,
    audience: str,
    now: datetime,
    ttl: timedelta,
    long_lived: bool = False,
) -> IssuedToken:
    requested = frozenset(scope.split()) if scope else client.scopes
    if not requested <= client.scopes:
        raise OAuthError(
            "invalid_scope",
            f"scope {' '.join(sorted(requested - client.scopes))} is not granted to this client",
            hint="ask for: " + " ".join(sorted(client.scopes)),
        )
    return issue_access_token(
        keys,
        client=client,
        scopes=requested,
        issuer=issuer,
        audience=audience,
        now=now,
        ttl=ttl,
        long_lived=long_lived,
    )


def client_of_token(session: Session, claims: TokenClaims) -> Client:
    """The client a valid token names, if still active (disabling a client revokes its tokens)."""
    client = ClientRepository(session).get(claims.client_id)
    if client is None or not client.active or client.agency != claims.agency:
        raise AuthenticationFailed(
            "the client of this token is unknown or disabled",
            hint="ask the Nexo operator to check the client",
        )
    return client


def add_user(
    session: Session,
    *,
    username: str,
    roles: frozenset[Role],
    agency: str | None,
    display_name: str | None,
    now: datetime,
) -> User:
    check_client_id(username)
    if not roles:
        raise UsageError("a user needs a role", hint="--role caseworker|steward|auditor|admin")
    repo = UserRepository(session)
    if repo.get(username) is not None:
        raise UsageError(f"user {username!r} exists")
    return repo.add(
        ConsoleUserRow(
            username=username,
            display_name=display_name or username,
            roles=" ".join(sorted(r.value for r in roles)),
            agency=agency,
            status="active",
            created_at=now,
        )
    )


def list_users(session: Session) -> list[User]:
    return UserRepository(session).all()
