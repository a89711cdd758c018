"""``nexo audit verify``: recompute the whole log and name the first entry that does not match.

Each entry is checked three ways: its position (index 0, 1, 2 … without gaps), its leaf hash
(recomputed from its content) and its keyed chain link (from the previous link, the index and
the leaf; only Nexo holds the key, so an edit that also recomputes the hashes still breaks the
link). The Merkle root is recomputed at the size of every signed checkpoint and compared;
a checkpoint beyond the end of the log means the log was truncated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from nexo.audit.domain import GENESIS_MAC, Checkpoint, chain_mac, entry_leaf, utc_iso
from nexo.audit.merkle import Frontier
from nexo.audit.repository import AuditRepository
from nexo.audit.tables import AuditEntryRow
from nexo.auth.keys import KeyStore

CHUNK = 10_000


@dataclass
class VerifyReport:
    entries: int = 0
    checkpoints: int = 0
    trusted_size: int | None = None
    first_bad: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, message: str, index: int | None = None) -> None:
        if index is not None and self.first_bad is None:
            self.first_bad = index
        self.problems.append(message)


def _columns_problem(row: AuditEntryRow, body: dict[str, object]) -> str | None:
    checks = {
        "at": (utc_iso(row.at), body.get("at")),
        "kind": (row.kind, body.get("kind")),
        "client_id": (row.client_id, body.get("client_id")),
        "decision": (row.decision, body.get("decision")),
    }
    for name, (col, signed) in checks.items():
        if col != signed:
            return name
    return None


def _check_entry(
    row: AuditEntryRow, position: int, previous: bytes, key: bytes, report: VerifyReport
) -> tuple[bytes, bytes] | None:
    """The entry's leaf and link, or None after reporting why it is bad."""
    if row.idx != position:
        what = "is missing" if row.idx > position else "appears out of order"
        report.fail(f"entry {position} {what} (found entry {row.idx} in its place)", position)
        return None
    try:
        body = json.loads(row.body)
    except ValueError:
        report.fail(f"entry {position} was changed: its content is not JSON", position)
        return None
    if body.get("index") != position:
        report.fail(
            f"entry {position} was moved: its content says index {body.get('index')}", position
        )
        return None
    leaf = entry_leaf(row.body)
    if leaf.hex() != row.leaf_hash:
        report.fail(f"entry {position} was changed: its content does not match its hash", position)
        return None
    link = chain_mac(key, previous, position, leaf)
    if link.hex() != row.chain:
        report.fail(
            f"entry {position} was changed, inserted or moved: its chain link does not match",
            position,
        )
        return None
    column = _columns_problem(row, body)
    if column:
        report.fail(f"entry {position} was changed: column {column} differs from its content")
        report.first_bad = position if report.first_bad is None else report.first_bad
        return None
    return leaf, link


def _check_subjects(
    repo: AuditRepository, bodies: dict[int, list[str]], start: int, end: int, report: VerifyReport
) -> None:
    stored = repo.subjects_between(start, end)
    for idx in range(start, end):
        if set(bodies.get(idx, [])) != stored.get(idx, set()):
            report.fail(f"the subject index of entry {idx} was changed", idx)
            return


def verify_log(
    session: Session,
    *,
    keys: KeyStore,
    trusted: Checkpoint | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Recompute every entry, link and checkpoint; report the first entry that is wrong."""
    repo = AuditRepository(session)
    report = VerifyReport()
    public = keys.audit_key.public_key()
    checkpoints: list[Checkpoint] = []
    for cp_row in repo.checkpoints():
        cp = Checkpoint(
            cp_row.origin,
            cp_row.tree_size,
            bytes.fromhex(cp_row.root_hash),
            cp_row.at,
            bytes.fromhex(cp_row.signature),
        )
        if not cp.verify(public):
            report.fail(f"the checkpoint at size {cp.tree_size} is not signed by this log's key")
            continue
        checkpoints.append(cp)
    if trusted is not None:
        checkpoints.append(trusted)
    checkpoints.sort(key=lambda c: c.tree_size)
    report.trusted_size = max((c.tree_size for c in checkpoints), default=None)
    pending = list(checkpoints)

    frontier, previous, position = Frontier(), GENESIS_MAC, 0
    bodies: dict[int, list[str]] = {}
    chunk_start = 0
    rows = repo.entries()
    for row in rows:
        checked = _check_entry(row, position, previous, keys.chain_key, report)
        if checked is None:
            break
        leaf, previous = checked
        bodies[position] = json.loads(row.body).get("subjects", [])
        frontier.append(leaf)
        position += 1
        while pending and pending[0].tree_size == position:
            cp = pending.pop(0)
            if cp.root_hash != frontier.root():
                report.fail(f"the log does not match the signed checkpoint at size {position}")
            report.checkpoints += 1
        if position - chunk_start >= CHUNK:
            _check_subjects(repo, bodies, chunk_start, position, report)
            bodies, chunk_start = {}, position
            if progress:
                progress(position)
        if not report.ok:
            break
    rows.close()
    if report.ok:
        _check_subjects(repo, bodies, chunk_start, position, report)
    report.entries = position
    if report.ok:
        for cp in pending:
            if cp.tree_size > position:
                report.fail(
                    f"the log was truncated: a checkpoint signed at {utc_iso(cp.at)} covers "
                    f"{cp.tree_size} entries but only {position} remain; first missing entry: "
                    f"{position}",
                    position,
                )
                break
    if report.ok:
        size, chain = repo.head()
        if size != position or chain != previous:
            report.fail(
                f"the log head says {size} entries but {position} verify; entry {position} "
                "onwards was removed or the head was changed",
                min(size, position),
            )
    if progress:
        progress(position)
    return report
