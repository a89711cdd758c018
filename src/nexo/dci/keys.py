"""Nexo's own DCI signing keys: Ed25519, kept as PEM files in one folder.

The folder is ``$NEXO_HOME/keys/dci/`` unless ``NEXO_DCI__KEY_DIR`` names another (a mounted
secret in production). It holds one ``ed25519-<UTC time>.pem`` (PKCS #8, readable by the owner
only) per key; the newest signs, all are published in the JWKS so that messages signed before a
rotation still verify. The first use creates a key. These keys sign DCI messages only: the
exchange API's token-signing keys live elsewhere and are not touched here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from nexo.config import Settings
from nexo.dci.signature import public_jwk
from nexo.errors import ConfigurationError, UsageError


def key_dir(settings: Settings) -> Path:
    """Where Nexo's DCI signing keys live: ``NEXO_DCI__KEY_DIR`` or ``$NEXO_HOME/keys/dci``."""
    return settings.dci.key_dir or settings.home / "keys" / "dci"


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey
    path: Path

    @property
    def jwk(self) -> dict[str, str]:
        return public_jwk(self.private.public_key())


@dataclass(frozen=True, slots=True)
class KeyRing:
    keys: tuple[SigningKey, ...]  # newest first

    @property
    def current(self) -> SigningKey:
        return self.keys[0]

    def jwks(self) -> dict[str, Any]:
        """The public JWKS (RFC 7517) of every key, as ``/.well-known/jwks.json`` serves it."""
        return {"keys": [k.jwk for k in self.keys]}


def _load(path: Path) -> SigningKey:
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise ConfigurationError(
            f"cannot read the DCI signing key {path.name}",
            hint=f"remove or replace the file in {path.parent}",
        ) from e
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(
            f"{path.name} is not an Ed25519 key", hint=f"keep only Ed25519 keys in {path.parent}"
        )
    return SigningKey(public_jwk(key.public_key())["kid"], key, path)


def create_key(directory: Path, now: datetime | None = None) -> SigningKey:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"ed25519-{stamp}.pem"
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return SigningKey(public_jwk(key.public_key())["kid"], key, path)


def load_keyring(directory: Path, *, create: bool = True) -> KeyRing:
    """The keys in ``directory``, newest first; creates the first key when there is none."""
    paths = sorted(directory.glob("ed25519-*.pem"), reverse=True) if directory.is_dir() else []
    if not paths:
        if not create:
            raise ConfigurationError(
                f"no DCI signing key in {directory}", hint="run: nexo dci keys rotate"
            )
        return KeyRing((create_key(directory),))
    return KeyRing(tuple(_load(p) for p in paths))


def rotate(directory: Path) -> KeyRing:
    """Add a new signing key; the previous ones stay published until retired."""
    create_key(directory)
    return load_keyring(directory)


def retire(directory: Path, kid: str) -> KeyRing:
    """Remove a key that no longer signs (never the newest, which does)."""
    ring = load_keyring(directory, create=False)
    match = [k for k in ring.keys if k.kid == kid]
    if not match:
        raise UsageError(f"no DCI signing key {kid!r}", hint="see: nexo dci keys list")
    if match[0] is ring.current:
        raise UsageError(
            "the newest key signs every message and cannot be retired",
            hint="run nexo dci keys rotate first",
        )
    match[0].path.unlink()
    return load_keyring(directory)
