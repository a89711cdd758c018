"""Tokens: client credentials with a secret or a signed assertion, single-use jti, JWKS."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest
from api_support import ALL_SCOPES, Api
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text

from nexo.api import state as api_state
from nexo.auth import service as auth
from nexo.auth.tables import ApiClientRow
from nexo.store.base import utc_now
from nexo.store.engine import transaction

TOKEN_URL = "http://testserver/oauth/token"


def test_client_secret_gets_a_short_lived_eddsa_token_verifiable_with_jwks(api: Api) -> None:
    r = api.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("soc-client", api.secrets["soc-client"]),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    jwks = api.client.get("/.well-known/jwks.json").json()
    key = jwt.PyJWK(jwks["keys"][0])
    claims = jwt.decode(body["access_token"], key.key, algorithms=["EdDSA"], audience="nexo-api")
    assert claims["sub"] == "soc-client" and claims["nexo_agency"] == "social"
    assert claims["exp"] - claims["iat"] == 300
    assert jwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"
    # the same with the secret in the form, and a narrower scope
    r = api.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "soc-client",
            "client_secret": api.secrets["soc-client"],
            "scope": "persons:read",
        },
    )
    assert r.status_code == 200 and r.json()["scope"] == "persons:read"
    # the secret is stored only as an Argon2id hash
    with transaction(api.factory) as s:
        stored = s.scalar(
            select(ApiClientRow.secret_hash).where(ApiClientRow.client_id == "soc-client")
        )
    assert stored and stored.startswith("$argon2id$") and api.secrets["soc-client"] not in stored


def test_wrong_secrets_and_unknown_clients_get_the_same_401(api: Api) -> None:
    wrong = api.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("soc-client", "guess")
    )
    unknown = api.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("nobody-client", "guess")
    )
    for r in (wrong, unknown):
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        assert r.headers["content-type"] == "application/problem+json"
    assert wrong.json()["detail"] == unknown.json()["detail"]
    grant = api.client.post(
        "/oauth/token",
        data={"grant_type": "password"},
        auth=("soc-client", api.secrets["soc-client"]),
    )
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    form = {"grant_type": "client_credentials", "scope": "admin"}
    scope = api.client.post(
        "/oauth/token", data=form, auth=("soc-client", api.secrets["soc-client"])
    )
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"


def _key_client(api: Api) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with transaction(api.factory) as s:
        auth.add_client(
            s,
            client_id="keyed-client",
            agency="social",
            scopes=ALL_SCOPES,
            public_jwk=auth.jwk_from_public_key(pem.decode()),
            with_secret=False,
            rate_per_second=100,
            burst=100,
            now=utc_now(),
        )
    return key


def _assertion(key: Ed25519PrivateKey, jti: str, aud: str = TOKEN_URL, ttl: int = 60) -> str:
    now = int(time.time())
    claims = {
        "iss": "keyed-client",
        "sub": "keyed-client",
        "aud": aud,
        "jti": jti,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, key, algorithm="EdDSA")


def _token(api: Api, assertion: str) -> Any:
    return api.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )


def test_private_key_jwt_and_replayed_jti_is_rejected(api: Api) -> None:
    key = _key_client(api)
    assertion = _assertion(key, uuid.uuid4().hex)
    first = _token(api, assertion)
    assert first.status_code == 200, first.text
    replay = _token(api, assertion)
    assert replay.status_code == 401
    assert "jti replayed" in replay.json()["detail"]
    assert _token(api, _assertion(key, uuid.uuid4().hex)).status_code == 200
    # wrong audience, too long a lifetime, and a key that is not the registered one
    wrong_aud = _assertion(key, uuid.uuid4().hex, aud="https://other")
    assert _token(api, wrong_aud).status_code == 401
    long = _token(api, _assertion(key, uuid.uuid4().hex, ttl=3600))
    assert long.status_code == 401 and "lives too long" in long.json()["detail"]
    stranger = _assertion(Ed25519PrivateKey.generate(), uuid.uuid4().hex)
    assert _token(api, stranger).status_code == 401


def test_forged_expired_and_wrongly_typed_tokens_are_refused(api: Api) -> None:
    def call(token: str) -> Any:
        return api.client.get("/v1/purposes", headers={"Authorization": f"Bearer {token}"})

    good = api.token("soc-client")
    header, payload, sig = good.split(".")
    forged = f"{header}.{payload[:-2]}AA.{sig}"
    with transaction(api.factory) as s:
        client = auth.get_client(s, "soc-client")
    assert client is not None
    expired = auth.issue_token(
        api.keys,
        client=client,
        scope=None,
        issuer="nexo",
        audience="nexo-api",
        now=utc_now() - timedelta(hours=1),
        ttl=timedelta(minutes=5),
    ).token
    untyped = jwt.encode(
        jwt.decode(good, options={"verify_signature": False}),
        api.keys.token_key,
        algorithm="EdDSA",
        headers={"kid": api.keys.token_kid},
    )
    for token, says in ((forged, "not valid"), (expired, "expired"), (untyped, "typ")):
        r = call(token)
        assert r.status_code == 401 and says in r.json()["detail"], r.text
    assert call(good).status_code == 200


def test_scopes_long_lived_tokens_and_disabled_clients(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit_only = api.headers("soc-client", scope="audit:read")
    r = api.client.get("/v1/purposes", headers=audit_only)
    assert r.status_code == 403 and r.json()["type"] == "/problems/insufficient-scope"
    long = api.token("soc-client", ttl=timedelta(days=30), long_lived=True)
    h = {"Authorization": f"Bearer {long}"}
    assert api.client.get("/v1/purposes", headers=h).status_code == 200
    monkeypatch.setattr(api_state, "CLIENT_TTL_SECONDS", 0.0)
    with transaction(api.factory) as s:
        s.execute(text("UPDATE api_client SET status = 'disabled' WHERE client_id = 'soc-client'"))
    r = api.client.get("/v1/purposes", headers=h)
    assert r.status_code == 401 and "disabled" in r.json()["detail"]
