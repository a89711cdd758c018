"""Appending to the audit trail, signing checkpoints, proofs and "who saw my data".

``append`` and ``record_event`` write inside the caller's transaction (the caller commits): a
steward's correction and its audit entry commit together, and an API request whose audit entry
cannot be committed fails. Verification lives in ``nexo.audit.verify``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from nexo.audit.domain import (
    AuditRecord,
    AuditTampered,
    Checkpoint,
    body_of,
    canonical,
    chain_mac,
    entry_leaf,
    sign_checkpoint,
)
from nexo.audit.merkle import Frontier, LeafHashes
from nexo.audit.repository import AppendStatements, AuditRepository
from nexo.audit.tables import AuditCheckpointRow
from nexo.auth.keys import KeyStore
from nexo.errors import NotFound
from nexo.store.base import utc_now
from nexo.store.engine import transaction

DEFAULT_ORIGIN = "nexo.audit.log"
WAL_CHECKPOINT_PAGES = 100


@dataclass(frozen=True, slots=True)
class Appended:
    index: int
    leaf_hash: str
    at: datetime


def _write(
    repo: AppendStatements,
    keys: KeyStore,
    record: AuditRecord,
    at: datetime,
    index: int,
    previous: bytes,
) -> tuple[Appended, bytes]:
    """Insert entry ``index`` after the entry whose chain value is ``previous``."""
    text = canonical(body_of(index, at, record))
    leaf = entry_leaf(text)
    link = chain_mac(keys.chain_key, previous, index, leaf)
    repo.insert(
        {
            "idx": index,
            "at": at,
            "kind": record.kind,
            "client_id": record.client_id,
            "decision": record.decision,
            "body": text,
            "leaf_hash": leaf.hex(),
            "chain": link.hex(),
        },
        sorted(set(record.subjects)),
    )
    return Appended(index, leaf.hex(), at), link


def append(
    session: Session,
    *,
    keys: KeyStore,
    record: AuditRecord,
    at: datetime | None = None,
    origin: str = DEFAULT_ORIGIN,
    checkpoint_every: int = 1000,
) -> Appended:
    """Add one entry at the end of the log, in the caller's transaction (and a signed
    checkpoint every N entries). The head row is locked until the caller commits."""
    at = at or utc_now()
    repo = AuditRepository(session)
    index, previous = repo.advance_head()
    appended, link = _write(repo.fast, keys, record, at, index, previous)
    repo.set_head_chain(link)
    if (index + 1) % checkpoint_every == 0:
        make_checkpoint(session, keys=keys, origin=origin, at=at, size=index + 1)
    return appended


class AuditWriter:
    """The API's appender, one per process, committing each entry in its own transaction.

    It remembers the head (size and last chain value) between appends, so an append is a
    compare-and-set of the head and two inserts. If another process appended meanwhile, the
    compare-and-set matches no row: the writer reads the head again and retries.
    """

    ATTEMPTS = 8

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        keys: KeyStore,
        origin: str = DEFAULT_ORIGIN,
        checkpoint_every: int = 1000,
    ) -> None:
        self.factory = factory
        engine = factory.kw.get("bind")
        if not isinstance(engine, Engine):
            raise TypeError("the audit writer needs a session factory bound to an engine")
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.keys = keys
        self.origin = origin
        self.checkpoint_every = checkpoint_every
        self.head: tuple[int, bytes] | None = None
        self.lock = threading.Lock()

    def append(self, record: AuditRecord, at: datetime | None = None) -> Appended:
        return self.append_many([record], at)[0]

    def append_many(self, records: list[AuditRecord], at: datetime | None = None) -> list[Appended]:
        """Append several entries in one transaction (group commit), in the given order."""
        with self.lock:
            for attempt in range(self.ATTEMPTS):
                try:
                    appended = self._try(records, at or utc_now())
                    if appended is not None:
                        break
                except (OperationalError, IntegrityError):
                    if attempt == self.ATTEMPTS - 1:
                        raise
                self.head = None  # another writer moved the head: read it again
                time.sleep(0.001 * (attempt + 1))
            else:
                raise AuditTampered("the audit head kept moving; another writer misbehaves")
        for a in appended:
            if (a.index + 1) % self.checkpoint_every == 0:
                with transaction(self.factory) as s:
                    make_checkpoint(s, keys=self.keys, origin=self.origin, size=a.index + 1)
        return appended

    def _try(self, records: list[AuditRecord], at: datetime) -> list[Appended] | None:
        with self.engine.begin() as conn:
            if self.sqlite:
                # checkpoint the WAL in small steps: each ends with an fsync that holds up
                # the commits queued behind it; 100 pages keep that wait to milliseconds
                conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            statements = AppendStatements(conn)
            start, link = self.head if self.head is not None else statements.read_head()
            out = []
            for i, record in enumerate(records):
                appended, link = _write(statements, self.keys, record, at, start + i, link)
                out.append(appended)
            if not statements.swap_head(start, start + len(records), link):
                conn.rollback()
                return None
        self.head = (start + len(records), link)
        return out


def record_event(
    session: Session,
    *,
    keys: KeyStore,
    action: str,
    actor: str,
    persons: tuple[str, ...] = (),
    agency: str | None = None,
    purpose: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Appended:
    """Audit something that is not an API request (a steward's accepted correction, a consent
    change, a merge of two persons). ``persons`` are person ids: only their keyed hashes are
    stored. ``detail`` must hold no personal data."""
    record = AuditRecord(
        kind="event",
        action=action,
        decision="recorded",
        agency=agency,
        actor=actor,
        purpose=purpose,
        subjects=tuple(keys.subject_ref(p) for p in persons),
        detail=detail or {},
    )
    return append(session, keys=keys, record=record, at=at)


# ---------------------------------------------------------------- checkpoints


def _checkpoint(row: AuditCheckpointRow) -> Checkpoint:
    return Checkpoint(
        row.origin,
        row.tree_size,
        bytes.fromhex(row.root_hash),
        row.at,
        bytes.fromhex(row.signature),
    )


def make_checkpoint(
    session: Session,
    *,
    keys: KeyStore,
    origin: str = DEFAULT_ORIGIN,
    at: datetime | None = None,
    size: int | None = None,
) -> Checkpoint:
    """Sign the tree head at ``size`` (default: the whole log), reusing the last checkpoint."""
    repo = AuditRepository(session)
    size = repo.head()[0] if size is None else size
    latest = repo.latest_checkpoint()
    if latest is not None and latest.tree_size >= size:
        existing = repo.checkpoint_at(size)
        if existing is not None:
            return _checkpoint(existing)
        latest = None  # an older size: rebuild from the start
    if latest is not None:
        frontier = Frontier(latest.tree_size, [bytes.fromhex(h) for h in latest.frontier.split()])
    else:
        frontier = Frontier()
    for _, leaf in repo.leaf_hashes(frontier.size, size):
        frontier.append(bytes.fromhex(leaf))
    if frontier.size != size:
        raise NotFound(f"the log has {frontier.size} entries, not {size}")
    cp = sign_checkpoint(keys.audit_key, origin, size, frontier.root(), at or utc_now())
    row = AuditCheckpointRow(
        tree_size=size,
        root_hash=cp.root_hash.hex(),
        at=cp.at,
        origin=origin,
        key_id=keys.audit_kid,
        signature=cp.signature.hex(),
        frontier=" ".join(h.hex() for h in frontier.hashes),
    )
    try:
        with session.begin_nested():
            repo.add_checkpoint(row)
    except IntegrityError:  # another process signed this size first
        existing = repo.checkpoint_at(size)
        assert existing is not None
        return _checkpoint(existing)
    return cp


def latest_checkpoint(session: Session) -> Checkpoint | None:
    row = AuditRepository(session).latest_checkpoint()
    return _checkpoint(row) if row else None


def checkpoint_at(session: Session, size: int) -> Checkpoint | None:
    row = AuditRepository(session).checkpoint_at(size)
    return _checkpoint(row) if row else None


# ---------------------------------------------------------------- proofs


class LeafCache:
    """Leaf hashes read once and extended as the log grows (the log is append-only)."""

    def __init__(self) -> None:
        self.leaves = LeafHashes()
        self._lock = threading.Lock()

    def refresh(self, session: Session) -> LeafHashes:
        with self._lock:
            for idx, leaf in AuditRepository(session).leaf_hashes(len(self.leaves)):
                if idx != len(self.leaves):
                    raise NotFound(
                        f"audit entry {len(self.leaves)} is missing; run nexo audit verify"
                    )
                self.leaves.append(bytes.fromhex(leaf))
            return self.leaves


@dataclass(frozen=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]
    root: bytes


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    path: list[bytes]
    first_root: bytes
    second_root: bytes


def inclusion_proof(
    session: Session, *, index: int, tree_size: int, cache: LeafCache | None = None
) -> InclusionProof:
    leaves = (cache or LeafCache()).refresh(session)
    if not 0 <= index < tree_size <= len(leaves):
        raise NotFound(
            f"no entry {index} in a log of size {tree_size} (the log has {len(leaves)} entries)",
            hint="tree_size must be above the index and at most the size of a checkpoint",
        )
    return InclusionProof(
        index,
        tree_size,
        leaves[index],
        leaves.inclusion_proof(index, tree_size),
        leaves.root(tree_size),
    )


def consistency_proof(
    session: Session, *, first: int, second: int, cache: LeafCache | None = None
) -> ConsistencyProof:
    leaves = (cache or LeafCache()).refresh(session)
    if not 0 < first <= second <= len(leaves):
        raise NotFound(
            f"no consistency proof from size {first} to {second} "
            f"(the log has {len(leaves)} entries)",
            hint="0 < first <= second <= the size of a checkpoint",
        )
    return ConsistencyProof(
        first,
        second,
        leaves.consistency_proof(first, second),
        leaves.root(first),
        leaves.root(second),
    )


# ---------------------------------------------------------------- who saw my data


def entries_about(session: Session, *, keys: KeyStore, values: list[str]) -> list[dict[str, Any]]:
    """Every entry naming one of ``values`` (person ids, searched identifiers), oldest first."""
    refs = [keys.subject_ref(v) for v in values]
    rows = AuditRepository(session).entries_naming(refs)
    return [json.loads(r.body) for r in rows]


def entry_body(session: Session, index: int) -> dict[str, Any] | None:
    row = AuditRepository(session).entry(index)
    return json.loads(row.body) if row else None
