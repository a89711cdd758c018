"""Audit entries, their canonical bytes, the entry chain and signed checkpoints (pure).

An entry's leaf in the Merkle log is the SHA-256 leaf hash of its canonical JSON (sorted keys,
no spaces, UTF-8). Checkpoints use the C2SP signed-note format: a body of origin, tree size and
root hash (plus a ``time`` extension line), signed with Ed25519.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from nexo.audit.merkle import leaf_hash
from nexo.errors import NexoError

FORMAT = 1
GENESIS_MAC = bytes(32)


class AuditUnavailable(NexoError):
    """The audit trail could not be written: the request must fail rather than go unrecorded."""

    code = "audit-unavailable"


class AuditTampered(NexoError):
    """Verification found an entry or checkpoint that does not match."""

    code = "audit-tampered"


@dataclass(frozen=True)
class AuditRecord:
    """What happened, as the caller states it; the log adds index, time and hashes.

    Persons are named only by keyed hash (``subjects``); nothing here is raw personal data.
    """

    kind: str  # request | event
    action: str  # "POST /v1/persons/search", "consent.withdrawn", "steward.correction", ...
    decision: str  # allow | partial | deny | error | recorded
    client_id: str | None = None
    agency: str | None = None
    actor: str | None = None
    purpose: str | None = None
    legal_bases: tuple[str, ...] = ()
    agreements: tuple[str, ...] = ()
    accountable: tuple[str, ...] = ()
    policy_version: str | None = None
    subjects: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    reason: str | None = None
    status: int | None = None
    request_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def utc_iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def body_of(index: int, at: datetime, record: AuditRecord) -> dict[str, Any]:
    return {
        "v": FORMAT,
        "index": index,
        "at": utc_iso(at),
        "kind": record.kind,
        "action": record.action,
        "decision": record.decision,
        "client_id": record.client_id,
        "agency": record.agency,
        "actor": record.actor,
        "purpose": record.purpose,
        "legal_bases": sorted(record.legal_bases),
        "agreements": sorted(record.agreements),
        "accountable": sorted(record.accountable),
        "policy_version": record.policy_version,
        "subjects": sorted(set(record.subjects)),
        "fields": sorted(set(record.fields)),
        "reason": record.reason,
        "status": record.status,
        "request_id": record.request_id,
        "detail": record.detail,
    }


def canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_leaf(text: str) -> bytes:
    return leaf_hash(text.encode("utf-8"))


def chain_mac(key: bytes, previous: bytes, index: int, leaf: bytes) -> bytes:
    """Keyed link from one entry to the next: the first entry whose link breaks is named."""
    return hmac.new(key, previous + index.to_bytes(8, "big") + leaf, hashlib.sha256).digest()


# ------------------------------------------------------------------ checkpoints (signed notes)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def note_key_id(origin: str, public: Ed25519PublicKey) -> bytes:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(origin.encode() + b"\n\x01" + raw).digest()[:4]


def checkpoint_body(origin: str, size: int, root: bytes, at: datetime) -> str:
    return f"{origin}\n{size}\n{_b64(root)}\ntime {utc_iso(at)}\n"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    at: datetime
    signature: bytes

    @property
    def body(self) -> str:
        return checkpoint_body(self.origin, self.tree_size, self.root_hash, self.at)

    def note(self, public: Ed25519PublicKey) -> str:
        sig = _b64(note_key_id(self.origin, public) + self.signature)
        return f"{self.body}\n\u2014 {self.origin} {sig}\n"

    def verify(self, public: Ed25519PublicKey) -> bool:
        try:
            public.verify(self.signature, self.body.encode())
        except InvalidSignature:
            return False
        return True


def sign_checkpoint(
    key: Ed25519PrivateKey, origin: str, size: int, root: bytes, at: datetime
) -> Checkpoint:
    sig = key.sign(checkpoint_body(origin, size, root, at).encode())
    return Checkpoint(origin, size, root, at, sig)


def parse_note(text: str, public: Ed25519PublicKey) -> Checkpoint:
    """A checkpoint from its signed note (as agencies keep it); raises if it is not genuine."""
    body, sep, sigs = text.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3:
        raise AuditTampered("not a signed checkpoint note", hint="pass the note as Nexo gave it")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    time_line = next((x for x in lines[3:] if x.startswith("time ")), None)
    if time_line is None:
        raise AuditTampered("the checkpoint note has no time line")
    at = datetime.strptime(time_line[5:], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    kid = note_key_id(origin, public)
    for line in sigs.splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[1] == origin:
            raw = base64.b64decode(parts[2])
            if raw[:4] == kid:
                cp = Checkpoint(origin, size, root, at, raw[4:])
                if cp.verify(public):
                    return cp
    raise AuditTampered(
        "the checkpoint note carries no valid signature of this log's key",
        hint="check that the note and the audit key belong to this Nexo",
    )
