"""Queries of ingest batches and the quarantine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from nexo.adapters.tables import IngestBatchRow, IngestFindingRow, QuarantineRow
from nexo.store.base import Base
from nexo.store.repository import RepositoryBase
from nexo.store.sqlite_writer import driver_connection, insert_new


class BatchRepository(RepositoryBase):
    def add(self, **values: Any) -> IngestBatchRow:
        row = IngestBatchRow(**values)
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, batch_id: str) -> IngestBatchRow | None:
        return self.session.get(IngestBatchRow, batch_id)

    def unfinished(
        self,
        agency: str,
        source: str,
        mapping_version: str,
        *,
        input_sha256: str | None = None,
        input_name: str | None = None,
    ) -> IngestBatchRow | None:
        """The batch a crash left behind for this very input and mapping, if any.

        A file is known by its content (``input_sha256``); a database query by its URL
        (``input_name``), the mapping (which holds the query) being the same.
        """
        t = IngestBatchRow
        q = select(t).where(
            t.agency == agency,
            t.source == source,
            t.mapping_version == mapping_version,
            t.status != "completed",
        )
        if input_sha256 is not None:
            q = q.where(t.input_sha256 == input_sha256)
        if input_name is not None:
            q = q.where(t.input_name == input_name)
        return self.session.scalar(q.order_by(t.started_at.desc()).limit(1))

    def checkpoint(self, batch_id: str, **values: Any) -> None:
        self.session.execute(
            update(IngestBatchRow).where(IngestBatchRow.id == batch_id).values(**values)
        )

    def recent(self, limit: int = 20) -> list[IngestBatchRow]:
        t = IngestBatchRow
        return list(self.session.scalars(select(t).order_by(t.started_at.desc()).limit(limit)))


def _insert_new(
    session: Session, table: type[Base], constraint: str, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert, ignoring rows already there from the same input (an idempotent rerun)."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    stmt: Any
    if dialect.name == "sqlite":  # (through the driver: SQLAlchemy's cost per row was most)
        insert_new(driver_connection(session.connection().connection), table, dialect, rows)
        return
    if dialect.name == "postgresql":
        stmt = pg_insert(table).on_conflict_do_nothing(constraint=constraint)
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        stmt = insert(table)
    session.execute(stmt, list(rows))


class FindingRepository(RepositoryBase):
    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        _insert_new(self.session, IngestFindingRow, "uq_ingest_finding_input_row", rows)

    def counts_by_code(self, *, agency: str | None = None) -> dict[str, int]:
        t = IngestFindingRow
        q = select(t.code, func.count())
        if agency:
            q = q.where(t.agency == agency)
        return {code: int(n) for code, n in self.session.execute(q.group_by(t.code)).all()}

    def for_record(self, agency: str, source: str, record_id: str) -> list[IngestFindingRow]:
        t = IngestFindingRow
        q = select(t).where(t.agency == agency, t.source == source, t.record_id == record_id)
        return list(self.session.scalars(q.order_by(t.id)))


class QuarantineRepository(RepositoryBase):
    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert, ignoring rows already quarantined from the same input (idempotent rerun)."""
        _insert_new(self.session, QuarantineRow, "uq_quarantine_row_input_row", rows)

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
        batch_id: str | None = None,
        ids: Sequence[int] | None = None,
        after_id: int | None = None,
    ) -> list[QuarantineRow]:
        """Rows by id; ``after_id`` pages through many rows without an offset scan."""
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
        if batch_id:
            q = q.where(t.batch_id == batch_id)
        if ids is not None:
            q = q.where(t.id.in_(list(ids)))
        if after_id is not None:
            q = q.where(t.id > after_id)
        return list(self.session.scalars(q.order_by(t.id).limit(limit).offset(offset)))

    def count(self, *, status: str | None = "open", agency: str | None = None) -> int:
        t = QuarantineRow
        q = select(func.count()).select_from(t)
        if status:
            q = q.where(t.status == status)
        if agency:
            q = q.where(t.agency == agency)
        return int(self.session.scalar(q) or 0)

    def set_reasons(self, row_id: int, reasons: Sequence[dict[str, Any]]) -> None:
        self.session.execute(
            update(QuarantineRow)
            .where(QuarantineRow.id == row_id)
            .values(reasons=reasons, reason_code=reasons[0]["code"])
        )

    def edit(self, row: QuarantineRow, raw: str, at: datetime) -> None:
        """Correct a row's raw text; the text as it came in is kept (``raw_original``)."""
        if row.raw_original is None:
            row.raw_original = row.raw
        row.raw, row.edited_at = raw, at
        self.session.flush()

    def get(self, row_id: int) -> QuarantineRow | None:
        return self.session.get(QuarantineRow, row_id)

    def resolve(self, row_ids: Sequence[int], at: datetime, status: str = "resolved") -> None:
        self.session.execute(
            update(QuarantineRow)
            .where(QuarantineRow.id.in_(list(row_ids)))
            .values(status=status, resolved_at=at)
        )
