"""Senders: the systems allowed to send DCI messages to Nexo, and where Nexo may call them back.

Pure. A sender is registered by an operator (``nexo dci senders add``) with the exchange client
it belongs to, its public keys (JWKS), whether it must sign, and the callback addresses Nexo may
POST to. A request's ``sender_uri`` must fall under one of those addresses: Nexo never calls an
address a message merely names (no server-side request forgery).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from nexo.errors import UsageError


class SignaturePolicy(StrEnum):
    REQUIRED = "required"  # unsigned or badly signed messages are refused
    OPTIONAL = "optional"  # while an agency migrates: a signature, if present, must verify


@dataclass(frozen=True, slots=True)
class Sender:
    sender_id: str
    client_id: str
    signature: SignaturePolicy
    callback_uris: tuple[str, ...]
    jwks: dict[str, Any] | None
    active: bool = True


_SENDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,98}$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def check_sender_id(sender_id: str) -> str:
    if not _SENDER_ID.match(sender_id):
        raise UsageError(
            f"sender id {sender_id[:120]!r} is not valid",
            hint="use 1 to 99 letters, digits and . _ : @ - (e.g. spmis.example.org)",
        )
    return sender_id


@dataclass(frozen=True, slots=True)
class _Address:
    scheme: str
    host: str
    port: int
    path: str


def _address(uri: str) -> _Address | None:
    """The parts of an absolute http(s) URL that decide where a request goes; None if unsafe."""
    if len(uri) > 2048 or any(c.isspace() or c == "\\" or ord(c) > 126 for c in uri):
        return None
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    if parts.fragment:
        return None
    path = parts.path or "/"
    segments = path.split("/")
    if any(s in (".", "..") or "%2e" in s.lower() or "%2f" in s.lower() for s in segments):
        return None
    return _Address(scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme], path)


def check_callback(uri: str) -> str:
    """Validate a callback address at registration."""
    if _address(uri) is None:
        raise UsageError(
            f"callback address {uri[:200]!r} is not an absolute http(s) URL",
            hint="e.g. https://spmis.example.org/dci/callback (no user, fragment or dot segments)",
        )
    return uri


def callback_allowed(registered: Sequence[str], uri: str) -> bool:
    """Whether ``uri`` is one of the registered addresses or below one of them (same scheme,
    host and port; path equal or under the registered path)."""
    target = _address(uri)
    if target is None:
        return False
    for reg in registered:
        base = _address(reg)
        if base is None:
            continue
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            continue
        prefix = base.path.rstrip("/")
        if target.path == base.path or target.path.startswith(prefix + "/"):
            return True
    return False
