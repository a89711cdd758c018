"""Queries of the audit trail. Entries are only ever inserted: nothing here updates or deletes."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from nexo.audit.domain import GENESIS_MAC
from nexo.audit.tables import AuditCheckpointRow, AuditEntryRow, AuditHeadRow, AuditSubjectRow
from nexo.store.base import Base
from nexo.store.repository import RepositoryBase

HEAD_ID = 1


def _t(row: type[Base]) -> Table:
    table = row.__table__
    assert isinstance(table, Table)
    return table


_HEAD = _t(AuditHeadRow)
_ADVANCE = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .values(size=_HEAD.c.size + 1)
    .returning(_HEAD.c.size, _HEAD.c.chain)
)
_SET_CHAIN = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(chain=bindparam("chain"))
_READ_HEAD = select(_HEAD.c.size, _HEAD.c.chain).where(_HEAD.c.id == HEAD_ID)
_SWAP_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID, _HEAD.c.size == bindparam("expected"))
    .values(size=bindparam("new_size"), chain=bindparam("new_chain"))
)
_INSERT_ENTRY = insert(_t(AuditEntryRow))
_INSERT_SUBJECT = insert(_t(AuditSubjectRow))


class AppendStatements:
    """The statements of one append, on a plain connection: they run on every request, and
    the ORM session around them would double their cost."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def read_head(self) -> tuple[int, bytes]:
        row = self.conn.execute(_READ_HEAD).one_or_none()
        return (int(row.size), bytes.fromhex(row.chain)) if row else (0, GENESIS_MAC)

    def swap_head(self, expected: int, size: int, chain: bytes) -> bool:
        """Move the head from ``expected`` to ``size`` entries; False if it was not there."""
        result = self.conn.execute(
            _SWAP_HEAD, {"expected": expected, "new_size": size, "new_chain": chain.hex()}
        )
        return bool(result.rowcount == 1)

    def insert(self, entry: dict[str, object], subjects: Sequence[str]) -> None:
        self.conn.execute(_INSERT_ENTRY, entry)
        if subjects:
            idx = entry["idx"]
            self.conn.execute(_INSERT_SUBJECT, [{"ref": r, "entry_idx": idx} for r in subjects])


class AuditRepository(RepositoryBase):
    def __init__(self, session: Session) -> None:
        super().__init__(session)

    @property
    def fast(self) -> AppendStatements:
        return AppendStatements(self.session.connection())

    def advance_head(self) -> tuple[int, bytes]:
        """Reserve the next index (locking the head until commit); return it and the last chain."""
        conn = self.session.connection()
        row = conn.execute(_ADVANCE).one_or_none()
        if row is None:  # the head row is gone: start it again (verify reports the gap)
            conn.execute(insert(_HEAD).values(id=HEAD_ID, size=0, chain=GENESIS_MAC.hex()))
            row = conn.execute(_ADVANCE).one()
        size, chain = row
        return int(size) - 1, bytes.fromhex(chain)

    def set_head_chain(self, chain: bytes) -> None:
        self.session.connection().execute(_SET_CHAIN, {"chain": chain.hex()})

    def head(self) -> tuple[int, bytes]:
        row = self.session.get(AuditHeadRow, HEAD_ID)
        return (row.size, bytes.fromhex(row.chain)) if row else (0, GENESIS_MAC)

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(AuditEntryRow)) or 0)

    def entries(
        self, start: int = 0, end: int | None = None
    ) -> Generator[AuditEntryRow, None, None]:
        t = AuditEntryRow
        stmt = select(t).where(t.idx >= start).order_by(t.idx)
        if end is not None:
            stmt = stmt.where(t.idx < end)
        result = self.session.scalars(stmt.execution_options(yield_per=5000))
        try:
            yield from result
        finally:
            result.close()  # a reader that stops early must not leave a server cursor open

    def entry(self, idx: int) -> AuditEntryRow | None:
        return self.session.get(AuditEntryRow, idx)

    def leaf_hashes(self, start: int, end: int | None = None) -> Iterator[tuple[int, str]]:
        t = AuditEntryRow
        stmt = select(t.idx, t.leaf_hash).where(t.idx >= start).order_by(t.idx)
        if end is not None:
            stmt = stmt.where(t.idx < end)
        result = self.session.execute(stmt.execution_options(yield_per=20000))
        try:
            for idx, leaf in result:
                yield int(idx), str(leaf)
        finally:
            result.close()

    def subjects_between(self, start: int, end: int) -> dict[int, set[str]]:
        t = AuditSubjectRow
        out: dict[int, set[str]] = {}
        rows = self.session.execute(
            select(t.entry_idx, t.ref).where(t.entry_idx >= start, t.entry_idx < end)
        )
        for idx, ref in rows:
            out.setdefault(idx, set()).add(ref)
        return out

    def entries_naming(self, refs: Sequence[str]) -> list[AuditEntryRow]:
        s, e = AuditSubjectRow, AuditEntryRow
        ids = select(s.entry_idx).where(s.ref.in_(list(refs))).distinct()
        return list(self.session.scalars(select(e).where(e.idx.in_(ids)).order_by(e.idx)))

    # ---------------------------------------------------------------- checkpoints

    def checkpoints(self) -> list[AuditCheckpointRow]:
        t = AuditCheckpointRow
        return list(self.session.scalars(select(t).order_by(t.tree_size)))

    def latest_checkpoint(self) -> AuditCheckpointRow | None:
        t = AuditCheckpointRow
        return self.session.scalar(select(t).order_by(t.tree_size.desc()).limit(1))

    def checkpoint_at(self, size: int) -> AuditCheckpointRow | None:
        return self.session.get(AuditCheckpointRow, size)

    def add_checkpoint(self, row: AuditCheckpointRow) -> None:
        self.session.add(row)
        self.session.flush()
