"""Nexo's own keys, generated into ``NEXO_HOME/keys`` on first use and never committed.

- ``token-signing.pem``: Ed25519 key signing access tokens (public at /.well-known/jwks.json)
- ``audit-signing.pem``: Ed25519 key signing audit checkpoints
- ``subject.key``: HMAC key; the audit trail names persons by keyed hash only
- ``audit-chain.key``: HMAC key of the entry chain that pinpoints the first altered entry

Files are created with mode 0600 inside a 0700 folder; an existing key is never overwritten.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from nexo.errors import ConfigurationError


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _write_new(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it first; use theirs
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _ed25519(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_new(path, pem)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as e:
        raise ConfigurationError(
            f"cannot read key {path}: {e}", hint="restore the file from backup"
        ) from e
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} is not an Ed25519 private key")
    return key


def _secret(path: Path) -> bytes:
    if not path.exists():
        _write_new(path, secrets.token_bytes(32).hex().encode())
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as e:
        raise ConfigurationError(f"cannot read key {path}: {e}") from e


def public_jwk(key: Ed25519PublicKey) -> dict[str, Any]:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint of an OKP key: the key id Nexo publishes."""
    members = {k: jwk[k] for k in ("crv", "kty", "x")}
    text = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return b64url(hashlib.sha256(text.encode()).digest())


@dataclass
class KeyStore:
    """Lazy access to the keys in one folder (``NEXO_HOME/keys``)."""

    folder: Path

    @cached_property
    def token_key(self) -> Ed25519PrivateKey:
        return _ed25519(self.folder / "token-signing.pem")

    @cached_property
    def token_kid(self) -> str:
        return jwk_thumbprint(public_jwk(self.token_key.public_key()))

    @cached_property
    def audit_key(self) -> Ed25519PrivateKey:
        return _ed25519(self.folder / "audit-signing.pem")

    @cached_property
    def audit_kid(self) -> str:
        return jwk_thumbprint(public_jwk(self.audit_key.public_key()))

    @cached_property
    def subject_key(self) -> bytes:
        return _secret(self.folder / "subject.key")

    @cached_property
    def chain_key(self) -> bytes:
        return _secret(self.folder / "audit-chain.key")

    def jwks(self) -> dict[str, Any]:
        jwk = public_jwk(self.token_key.public_key())
        return {"keys": [{**jwk, "kid": self.token_kid, "use": "sig", "alg": "EdDSA"}]}

    def subject_ref(self, value: str) -> str:
        """Keyed hash that names a person (or a searched identifier) in the audit trail."""
        return hmac.new(self.subject_key, value.encode(), hashlib.sha256).hexdigest()


def keystore(home: Path) -> KeyStore:
    return KeyStore(home / "keys")
