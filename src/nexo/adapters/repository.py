"""Queries of ingest batches and the quarantine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from nexo.adapters.tables import IngestBatchRow, QuarantineRow
from nexo.store.repository import RepositoryBase


class BatchRepository(RepositoryBase):
    def add(self, **values: Any) -> IngestBatchRow:
        row = IngestBatchRow(**values)
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, batch_id: str) -> IngestBatchRow | None:
        return self.session.get(IngestBatchRow, batch_id)

    def unfinished(
        self, agency: str, source: str, input_sha256: str, mapping_version: str
    ) -> IngestBatchRow | None:
        """The batch a crash left behind for this very input and mapping, if any."""
        t = IngestBatchRow
        return self.session.scalar(
            select(t)
            .where(
                t.agency == agency,
                t.source == source,
                t.input_sha256 == input_sha256,
                t.mapping_version == mapping_version,
                t.status != "completed",
            )
            .order_by(t.started_at.desc())
            .limit(1)
        )

    def checkpoint(self, batch_id: str, **values: Any) -> None:
        self.session.execute(
            update(IngestBatchRow).where(IngestBatchRow.id == batch_id).values(**values)
        )

    def recent(self, limit: int = 20) -> list[IngestBatchRow]:
        t = IngestBatchRow
        return list(self.session.scalars(select(t).order_by(t.started_at.desc()).limit(limit)))


class QuarantineRepository(RepositoryBase):
    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert, ignoring rows already quarantined from the same input (idempotent rerun)."""
        if not rows:
            return
        dialect = self.session.get_bind().dialect.name
        stmt: Any
        if dialect == "postgresql":
            stmt = pg_insert(QuarantineRow).on_conflict_do_nothing(
                constraint="uq_quarantine_row_input_row"
            )
        elif dialect == "sqlite":
            stmt = sqlite_insert(QuarantineRow).on_conflict_do_nothing()
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            stmt = insert(QuarantineRow)
        self.session.execute(stmt, list(rows))

    def counts_by_reason(
        self, *, status: str = "open", batch_id: str | None = None, agency: str | None = None
    ) -> dict[str, int]:
        t = QuarantineRow
        q = select(t.reason_code, func.count()).where(t.status == status)
        if batch_id:
            q = q.where(t.batch_id == batch_id)
        if agency:
            q = q.where(t.agency == agency)
        return dict(self.session.execute(q.group_by(t.reason_code)).all())

    def list(
        self,
        *,
        status: str | None = "open",
        agency: str | None = None,
        source: str | None = None,
        reason: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[QuarantineRow]:
        t = QuarantineRow
        q = select(t)
        if status:
            q = q.where(t.status == status)
        if agency:
            q = q.where(t.agency == agency)
        if source:
            q = q.where(t.source == source)
        if reason:
            q = q.where(t.reason_code == reason)
        return list(self.session.scalars(q.order_by(t.id).limit(limit).offset(offset)))

    def get(self, row_id: int) -> QuarantineRow | None:
        return self.session.get(QuarantineRow, row_id)

    def resolve(self, row_ids: Sequence[int], at: datetime, status: str = "resolved") -> None:
        self.session.execute(
            update(QuarantineRow)
            .where(QuarantineRow.id.in_(list(row_ids)))
            .values(status=status, resolved_at=at)
        )
