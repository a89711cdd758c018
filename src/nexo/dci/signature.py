"""DCI message signatures: Ed25519 over the header and the message.

The standard gives the form of ``signature`` (an HTTP-signature-like string) but not the bytes
signed. Nexo's profile (decision 0052, docs/dci.md):

``Signature: namespace="spdci", kidId="{sender_id}|{kid}|ed25519", algorithm="ed25519",
created="{unix}", expires="{unix}", headers="(created) (expires) digest", signature="{b64}"``

where ``signature`` is the standard Base64 Ed25519 signature of the UTF-8 signing string::

    (created): {created}
    (expires): {expires}
    digest: BLAKE-512={b64 of BLAKE2b-512(JCS(header) + JCS(message))}

JCS is the JSON Canonicalization Scheme (RFC 8785), so a verifier re-serialises the parsed
header and message and gets the signer's bytes back whatever the transport did to whitespace or
key order. Keys are JWKs (RFC 8037 ``OKP``/``Ed25519``), identified by RFC 7638 thumbprints.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from nexo.errors import NexoError

ALGORITHM = "ed25519"
NAMESPACE = "spdci"
HEADERS = "(created) (expires) digest"
MAX_TTL = 3600  # seconds a signature may claim to be valid
SKEW = 300  # seconds of clock difference tolerated


class SignatureError(NexoError):
    """A signature is malformed, expired, by an unknown key, or does not verify."""

    code = "signature"


# --------------------------------------------------------------------------- canonical JSON


def _number(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError("JSON has no NaN or Infinity")
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:  # ECMAScript form: 1e-07 → 1e-7, 1e+21 stays
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        text = f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return text


def _canonical(value: Any) -> str:
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(f"{_canonical(k)}:{_canonical(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"not JSON: {type(value).__name__}")


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) serialisation of parsed JSON."""
    return _canonical(value).encode("utf-8")


def digest(header: Any, message: Any) -> str:
    data = canonical_json(header) + canonical_json(message)
    return base64.b64encode(hashlib.blake2b(data, digest_size=64).digest()).decode("ascii")


def signing_string(created: int, expires: int, body_digest: str) -> bytes:
    return f"(created): {created}\n(expires): {expires}\ndigest: BLAKE-512={body_digest}".encode()


# --------------------------------------------------------------------------- the signature field


@dataclass(frozen=True, slots=True)
class SignatureParams:
    sender_id: str
    kid: str
    created: int
    expires: int
    signature: bytes


_PARAM = re.compile(r'([A-Za-z]+)="([^"]*)"')


def parse(value: str) -> SignatureParams:
    text = value.strip()
    if text.lower().startswith("signature:"):
        text = text[len("signature:") :]
    params = dict(_PARAM.findall(text))
    missing = {"kidId", "created", "expires", "signature"} - set(params)
    if missing:
        raise SignatureError(f"signature lacks {', '.join(sorted(missing))}")
    if params.get("algorithm", ALGORITHM).lower() != ALGORITHM:
        raise SignatureError("signature algorithm must be ed25519")
    if params.get("headers", HEADERS) != HEADERS:
        raise SignatureError(f'signature headers must be "{HEADERS}"')
    parts = params["kidId"].split("|")
    if len(parts) != 3 or parts[2].lower() != ALGORITHM:
        raise SignatureError('kidId must be "{sender_id}|{key id}|ed25519"')
    try:
        created, expires = int(params["created"]), int(params["expires"])
        raw = base64.b64decode(params["signature"], validate=True)
    except (ValueError, binascii.Error) as e:
        raise SignatureError("created/expires must be Unix seconds and signature Base64") from e
    return SignatureParams(parts[0], parts[1], created, expires, raw)


def sign(
    header: Any,
    message: Any,
    *,
    key: Ed25519PrivateKey,
    sender_id: str,
    kid: str,
    now: float,
    ttl: int = 600,
) -> str:
    created = int(now)
    expires = created + ttl
    raw = key.sign(signing_string(created, expires, digest(header, message)))
    return (
        f'Signature: namespace="{NAMESPACE}", kidId="{sender_id}|{kid}|{ALGORITHM}", '
        f'algorithm="{ALGORITHM}", created="{created}", expires="{expires}", '
        f'headers="{HEADERS}", signature="{base64.b64encode(raw).decode("ascii")}"'
    )


def verify(
    value: str,
    header: Any,
    message: Any,
    *,
    sender_id: str,
    keys: Mapping[str, Ed25519PublicKey],
    now: float,
) -> str:
    """Check ``value`` signs ``header`` + ``message`` by one of ``sender_id``'s ``keys``.

    Returns the key id used; raises :class:`SignatureError` saying what is wrong.
    """
    params = parse(value)
    if params.sender_id != sender_id:
        raise SignatureError("kidId names another sender than header.sender_id")
    if params.expires <= params.created or params.expires - params.created > MAX_TTL:
        raise SignatureError(f"expires must be after created, by at most {MAX_TTL} s")
    if params.created > now + SKEW or params.expires < now - SKEW:
        raise SignatureError("signature is not valid now (created in the future or expired)")
    public = keys.get(params.kid)
    if public is None:
        raise SignatureError(f"key {params.kid[:80]!r} is not registered for {sender_id}")
    try:
        public.verify(
            params.signature,
            signing_string(params.created, params.expires, digest(header, message)),
        )
    except InvalidSignature as e:
        raise SignatureError("signature does not match the header and message") from e
    return params.kid


# --------------------------------------------------------------------------- JWK


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}
    return {**jwk, "kid": thumbprint(jwk), "use": "sig", "alg": "EdDSA"}


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint of an OKP key (SHA-256, base64url)."""
    members = {k: jwk[k] for k in ("crv", "kty", "x")}
    text = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(text.encode()).digest())


def parse_jwks(document: Any) -> dict[str, Ed25519PublicKey]:
    """kid → public key of every Ed25519 signing key in a JWKS; raises on anything else."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise SignatureError('a JWKS is {"keys": [...]}')
    out: dict[str, Ed25519PublicKey] = {}
    for i, jwk in enumerate(document["keys"]):
        if not isinstance(jwk, Mapping):
            raise SignatureError(f"keys[{i}] is not an object")
        if (
            jwk.get("kty") != "OKP"
            or jwk.get("crv") != "Ed25519"
            or not isinstance(jwk.get("x"), str)
        ):
            raise SignatureError(f"keys[{i}] is not an Ed25519 public key (kty OKP, crv Ed25519)")
        if "d" in jwk:
            raise SignatureError(f"keys[{i}] holds a private key; register public keys only")
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "EdDSA") != "EdDSA":
            raise SignatureError(f"keys[{i}] must be a signing key (use sig, alg EdDSA)")
        try:
            raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
            key = Ed25519PublicKey.from_public_bytes(raw)
        except (ValueError, binascii.Error) as e:
            raise SignatureError(f"keys[{i}].x is not a 32-byte base64url key") from e
        kid = jwk.get("kid") or thumbprint(jwk)
        if not isinstance(kid, str) or not kid or len(kid) > 128 or "|" in kid:
            raise SignatureError(f"keys[{i}].kid must be 1 to 128 characters without '|'")
        out[kid] = key
    if not out:
        raise SignatureError("the JWKS has no keys")
    return out
