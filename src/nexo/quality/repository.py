"""Queries of the quality part: reading the store into Polars, keeping runs and corrections."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Boolean, Date, Float, Integer, Numeric, cast, func, insert, select
from sqlalchemy.sql.elements import ColumnElement

from nexo.linkage.tables import MpiLinkRow, MpiPersonRow
from nexo.model.codes import EntityType
from nexo.quality.frames import RawFrames
from nexo.quality.scoring import Score
from nexo.quality.tables import CorrectionRow, QualityFailureRow, QualityRunRow, QualityScoreRow
from nexo.store import projection
from nexo.store.repository import RepositoryBase
from nexo.store.tables import PersonIdentifierRow, PersonRecordRow, SourceRecordRow

INSERT_CHUNK = 20_000
_SKIP = {"source_record_pk"}


def _polars_type(column: ColumnElement[Any]) -> pl.DataType:
    t = column.type
    if isinstance(t, Boolean):
        return pl.Boolean()
    if isinstance(t, Date):
        return pl.Date()
    if isinstance(t, Numeric):
        return pl.Float64()
    if isinstance(t, Integer):
        return pl.Int64()
    return pl.String()


def entity_columns() -> dict[EntityType, list[str]]:
    """The typed columns of every entity's current-version table."""
    return {
        entity: [c.name for c in table.__table__.c if c.name not in _SKIP]
        for entity, table in projection.TABLES.items()
    }


def _copy_frame(raw: Any, sql: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """PostgreSQL: ``COPY (query) TO STDOUT`` as CSV, parsed by Polars (fast for millions)."""
    buf = io.BytesIO()
    with raw.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
        for block in copy:
            buf.write(block)
    if buf.tell() == 0:
        return pl.DataFrame(schema=schema)
    buf.seek(0)
    text = {n: (pl.String() if t == pl.Boolean() else t) for n, t in schema.items()}
    # PostgreSQL writes NULL as an empty field and '' as "": Polars reads them back the same way
    frame = pl.read_csv(buf, has_header=False, new_columns=list(schema), schema=text)  # fmt: skip
    return frame.with_columns(
        [(pl.col(n) == "t").alias(n) for n, t in schema.items() if t == pl.Boolean()]
    )


class QualityRepository(RepositoryBase):
    # ------------------------------------------------------------ reading the store

    def _frame(self, columns: Sequence[ColumnElement[Any]]) -> pl.DataFrame:
        """Rows of ``columns`` as a typed frame, read in bulk (no per-row Python conversion)."""
        selected = [
            cast(c, Float).label(c.name) if isinstance(c.type, Numeric) else c for c in columns
        ]
        schema = {c.name: _polars_type(c) for c in columns}
        stmt = select(*selected)
        conn = self.session.connection()
        dialect = conn.dialect.name
        sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        raw = conn.connection.dbapi_connection
        assert raw is not None
        if dialect == "postgresql":
            return _copy_frame(raw, sql, schema)
        cursor = raw.cursor()
        try:
            cursor.execute(sql)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        # SQLite hands back dates as ISO text and booleans as 0/1: convert whole columns at once
        text = {n: (pl.String() if t == pl.Date() else pl.Int64() if t == pl.Boolean() else t)
                for n, t in schema.items()}  # fmt: skip
        frame = pl.DataFrame(rows, schema=text, orient="row")
        return frame.with_columns(
            [pl.col(n).str.to_date("%Y-%m-%d") for n, t in schema.items() if t == pl.Date()]
            + [pl.col(n).cast(pl.Boolean) for n, t in schema.items() if t == pl.Boolean()]
        )

    def raw_frames(self, entities: Iterable[EntityType]) -> RawFrames:
        tables = {}
        for entity in entities:
            table = projection.TABLES[entity].__table__
            tables[entity] = self._frame([c for c in table.c if c.name not in _SKIP])
        i = PersonIdentifierRow.__table__.c
        identifiers = self._frame([i.person_pk, i.scheme, i.value, i.verified, i.check_digit_ok])
        link = MpiLinkRow.__table__.c
        links = self._frame([link.agency, link.source, link.record_id, link.person_id])
        p = MpiPersonRow.__table__.c
        merges = pl.DataFrame(
            self.session.execute(
                select(p.person_id, p.merged_into).where(
                    p.status == "merged", p.merged_into.is_not(None)
                )
            ).all(),
            schema={"person_id": pl.String, "merged_into": pl.String},
            orient="row",
        )
        return RawFrames(tables, identifiers, links, merges)

    # ------------------------------------------------------------ runs

    def add_run(self, run: QualityRunRow, scores: list[Score], failures: pl.DataFrame) -> None:
        """Store a run, its scores and its failing records (``run_id, rule_id, agency...``)."""
        self.session.add(run)
        self.session.flush()
        rows = [
            {
                "run_id": run.id,
                "agency": s.agency,
                "source": s.source,
                "entity_type": s.entity,
                "rule_id": s.rule_id,
                "dimension": s.dimension,
                "severity": s.severity,
                "checked": s.checked,
                "failed": s.failed,
            }
            for s in scores
        ]
        if rows:
            self.session.execute(insert(QualityScoreRow), rows)
        for chunk in failures.iter_slices(INSERT_CHUNK):
            self.session.execute(insert(QualityFailureRow), chunk.to_dicts())

    def runs(self, limit: int | None = None) -> list[QualityRunRow]:
        """Runs, newest first."""
        stmt = select(QualityRunRow).order_by(QualityRunRow.started_at.desc())
        if limit:
            stmt = stmt.limit(limit)
        return list(self.session.scalars(stmt))

    def run(self, run_id: str) -> QualityRunRow | None:
        return self.session.get(QualityRunRow, run_id)

    def scores(self, run_id: str) -> list[Score]:
        t = QualityScoreRow
        rows = self.session.execute(
            select(
                t.agency,
                t.source,
                t.entity_type,
                t.rule_id,
                t.dimension,
                t.severity,
                t.checked,
                t.failed,
            )
            .where(t.run_id == run_id)
            .order_by(t.agency, t.source, t.rule_id)
        )
        return [Score(*row) for row in rows]

    def history(self, run_ids: Sequence[str]) -> list[tuple[str, str, str, int, int]]:
        """(run id, agency, dimension, checked, failed) pooled over rules and sources."""
        t = QualityScoreRow
        rows = self.session.execute(
            select(t.run_id, t.agency, t.dimension, func.sum(t.checked), func.sum(t.failed))
            .where(t.run_id.in_(list(run_ids)))
            .group_by(t.run_id, t.agency, t.dimension)
        )
        return [(r, a, d, int(c or 0), int(f or 0)) for r, a, d, c, f in rows]

    def failures(
        self,
        run_id: str,
        *,
        rule_id: str | None = None,
        agency: str | None = None,
        source: str | None = None,
        limit: int | None = None,
    ) -> list[QualityFailureRow]:
        t = QualityFailureRow
        stmt = select(t).where(t.run_id == run_id)
        for col, value in ((t.rule_id, rule_id), (t.agency, agency), (t.source, source)):
            if value is not None:
                stmt = stmt.where(col == value)
        stmt = stmt.order_by(t.rule_id, t.agency, t.source, t.record_id)
        if limit is not None:
            stmt = stmt.limit(limit)
        return list(self.session.scalars(stmt))

    def failures_of_record(
        self, run_id: str, agency: str, source: str, record_id: str
    ) -> list[QualityFailureRow]:
        t = QualityFailureRow
        return list(
            self.session.scalars(
                select(t)
                .where(
                    t.run_id == run_id,
                    t.agency == agency,
                    t.source == source,
                    t.record_id == record_id,
                )
                .order_by(t.rule_id)
            )
        )

    # ------------------------------------------------------------ records and corrections

    def current_version(
        self, agency: str, source: str, entity_type: EntityType, record_id: str
    ) -> tuple[int, date | None, dict[str, Any]] | None:
        """(version, source_updated_on, canonical data) of the current version of a record."""
        t = SourceRecordRow
        row = self.session.execute(
            select(t.version, t.source_updated_on, t.data).where(
                t.agency == agency,
                t.source == source,
                t.entity_type == entity_type.value,
                t.source_record_id == record_id,
                t.is_current.is_(True),
            )
        ).first()
        return (row[0], row[1], row[2]) if row else None

    def add_correction(self, row: CorrectionRow) -> CorrectionRow:
        self.session.add(row)
        self.session.flush()
        return row

    def correction(self, correction_id: int, *, for_update: bool = False) -> CorrectionRow | None:
        stmt = select(CorrectionRow).where(CorrectionRow.id == correction_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def corrections(self, status: str | None = None, limit: int = 200) -> list[CorrectionRow]:
        stmt = select(CorrectionRow).order_by(CorrectionRow.id).limit(limit)
        if status:
            stmt = stmt.where(CorrectionRow.status == status)
        return list(self.session.scalars(stmt))

    # ------------------------------------------------------------ master person index (tests)

    def link_records(self, links: Sequence[tuple[str, str, str, str]], *, at: datetime) -> int:
        """Link (agency, source, record_id) → person_id, creating persons as needed.

        Only for synthetic data, tests and benchmarks (see ``nexo.quality.synthetic_links``):
        in production the linkage part fills the master person index.
        """
        known = set(self.session.scalars(select(MpiPersonRow.person_id)))
        new_persons = sorted({pid for *_, pid in links} - known)
        for i in range(0, len(new_persons), INSERT_CHUNK):
            self.session.execute(
                insert(MpiPersonRow),
                [
                    {
                        "person_id": pid,
                        "status": "active",
                        "merged_into": None,
                        "created_at": at,
                        "updated_at": at,
                    }
                    for pid in new_persons[i : i + INSERT_CHUNK]
                ],
            )
        rows = [
            {
                "person_id": pid,
                "agency": a,
                "source": s,
                "record_id": r,
                "match_probability": 1.0,
                "method": "manual",
                "run_id": None,
                "linked_at": at,
            }
            for a, s, r, pid in links
        ]
        for i in range(0, len(rows), INSERT_CHUNK):
            self.session.execute(insert(MpiLinkRow), rows[i : i + INSERT_CHUNK])
        return len(rows)

    def person_record_keys(self) -> set[tuple[str, str, str]]:
        p = PersonRecordRow
        return {
            (a, s, r) for a, s, r in self.session.execute(select(p.agency, p.source, p.record_id))
        }
