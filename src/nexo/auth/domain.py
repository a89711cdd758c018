"""Clients, users, roles, scopes and the errors of authentication: pure types."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from nexo.errors import NexoError, UsageError


class Role(StrEnum):
    """Roles of console users (the console itself comes later)."""

    CASEWORKER = "caseworker"
    STEWARD = "steward"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Scope(StrEnum):
    PERSONS_READ = "persons:read"
    CONSENT_WRITE = "consent:write"
    AUDIT_READ = "audit:read"


DEFAULT_SCOPES = frozenset({Scope.PERSONS_READ.value, Scope.AUDIT_READ.value})

CLIENT_ID = re.compile(r"^[a-z0-9][a-z0-9_.\-]{2,63}$")


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    agency: str
    name: str
    scopes: frozenset[str]
    rate_per_second: float
    burst: int
    active: bool = True
    has_secret: bool = False
    default_purpose: str | None = None
    public_jwk: dict[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class User:
    username: str
    display_name: str
    roles: frozenset[Role]
    agency: str | None
    active: bool = True


class AuthenticationFailed(NexoError):
    """No valid credentials: a missing, expired, forged or revoked token."""

    code = "unauthenticated"


class OAuthError(NexoError):
    """An error of the token endpoint, with its RFC 6749 error code."""

    code = "oauth"

    def __init__(self, error: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.error = error


class ScopeMissing(NexoError):
    """The token does not carry the scope the endpoint needs."""

    code = "insufficient-scope"


_TTL = re.compile(r"^(?P<n>\d+)(?P<unit>[smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_TTL = timedelta(days=366)


def parse_ttl(text: str) -> timedelta:
    """``90s``, ``15m``, ``12h``, ``30d``, ``2w`` → a duration (at most a year)."""
    m = _TTL.match(text.strip())
    if not m or int(m.group("n")) == 0:
        raise UsageError(
            f"--ttl {text!r} is not a duration", hint="use a number and s, m, h, d or w: 30d"
        )
    ttl = timedelta(seconds=int(m.group("n")) * _UNITS[m.group("unit")])
    if ttl > MAX_TTL:
        raise UsageError(f"--ttl {text} is longer than a year", hint="issue a new token yearly")
    return ttl


def check_client_id(client_id: str) -> str:
    if not CLIENT_ID.match(client_id):
        raise UsageError(
            f"{client_id!r} is not a client id",
            hint="3-64 lower-case letters, digits, '_', '.', '-' (e.g. social-benefits)",
        )
    return client_id
