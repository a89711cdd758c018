"""Ingest: read an agency export with a mapping and load it into the canonical store.

Every row read ends in exactly one place: the store (as new or unchanged record versions) or the
quarantine (with its reasons and raw text). Ingest is a job that commits every chunk together
with its resume point, so a crash loses nothing and a rerun continues where it stopped.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from nexo.adapters.mapper import MappedEntity, Reason, RowMapper, RowRejected
from nexo.adapters.readers import RawRow, reader_for
from nexo.adapters.repository import BatchRepository, QuarantineRepository
from nexo.adapters.spec import Mapping
from nexo.errors import MappingError, UsageError
from nexo.logging import get_logger, log_context
from nexo.store.engine import transaction
from nexo.store.repository import NewRecord, RecordRepository

log = get_logger(__name__)
CHUNK_ROWS = 2000
Progress = Callable[[int, int | None], None]
"""Called with rows done so far and the estimated total (None when unknown)."""


@dataclass
class BatchReport:
    batch_id: str
    agency: str
    source: str
    input: str
    mapping: str
    mapping_version: str
    rows_read: int = 0
    stored: int = 0  # rows whose records are in the store (new_versions + unchanged rows)
    new_versions: int = 0
    unchanged: int = 0
    quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    resumed_after_row: int = 0
    duration_s: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows_read / self.duration_s if self.duration_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"rows_per_s": round(self.rows_per_s, 1)}


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def estimate_rows(path: Path, mapping: Mapping) -> int | None:
    """A quick count for the progress bar: lines, or record elements for XML."""
    fmt = mapping.spec.format
    if fmt.type in ("csv", "fixed_width"):
        with path.open("rb") as fh:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
        return max(0, lines - (1 if fmt.type == "csv" and fmt.header else 0))
    if fmt.type == "xml" and fmt.record_path:
        needle = f"<{fmt.record_path.rsplit('/', 1)[-1]}".encode()
        with path.open("rb") as fh:
            return sum(chunk.count(needle) for chunk in iter(lambda: fh.read(1 << 20), b""))
    return None


def _chunks(rows: Iterable[RawRow], size: int) -> Iterator[list[RawRow]]:
    chunk: list[RawRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Ingest:
    def __init__(
        self,
        factory: sessionmaker[Session],
        mapping: Mapping,
        path: Path,
        chunk_rows: int,
        progress: Progress | None,
    ) -> None:
        self.factory, self.mapping, self.path = factory, mapping, path
        self.chunk_rows, self.progress = chunk_rows, progress
        self.mapper = RowMapper(mapping)
        self.reasons: Counter[str] = Counter()
        self.columns_checked = mapping.spec.format.type not in ("csv", "fixed_width")

    def _check_columns(self, row: RawRow) -> None:
        missing = [c for c in self.mapper.columns if c not in row.values]
        if missing:
            raise MappingError(
                f"{self.path.name}: the mapping reads column(s) {', '.join(missing)} that the "
                f"input does not have",
                hint=f"the input has: {', '.join(row.values)}",
            )
        self.columns_checked = True

    def _map_chunk(
        self, rows: list[RawRow], batch_id: str, sha: str, now: datetime
    ) -> tuple[list[NewRecord], list[dict[str, Any]], int]:
        records: list[NewRecord] = []
        quarantine: list[dict[str, Any]] = []
        ok_rows = 0
        for row in rows:
            reasons: list[Reason]
            if row.problem is not None:
                reasons = [Reason(row.problem[0], None, row.problem[1])]
            else:
                if not self.columns_checked:
                    self._check_columns(row)
                try:
                    mapped: list[MappedEntity] = self.mapper(row.values)
                except RowRejected as rejected:
                    reasons = rejected.reasons
                else:
                    records.extend(
                        NewRecord.of(m.entity_type, m.record_id, m.entity, m.updated_on)
                        for m in mapped
                    )
                    ok_rows += 1
                    continue
            self.reasons[reasons[0].code] += 1
            quarantine.append(
                {
                    "batch_id": batch_id,
                    "agency": self.mapping.spec.agency,
                    "source": self.mapping.spec.source,
                    "input_name": self.path.name,
                    "input_sha256": sha,
                    "row_number": row.number,
                    "record_id": _record_id(row, self.mapper),
                    "raw": row.raw,
                    "reasons": [r.as_dict() for r in reasons],
                    "reason_code": reasons[0].code,
                    "status": "open",
                    "created_at": now,
                    "resolved_at": None,
                }
            )
        return records, quarantine, ok_rows

    def run(self) -> BatchReport:
        spec = self.mapping.spec
        started = time.perf_counter()
        sha, size = file_sha256(self.path), self.path.stat().st_size
        now = datetime.now(UTC)
        with transaction(self.factory) as s:
            batches = BatchRepository(s)
            batch = batches.unfinished(spec.agency, spec.source, sha, self.mapping.version)
            if batch is None:
                batch = batches.add(
                    id=str(uuid.uuid4()),
                    agency=spec.agency,
                    source=spec.source,
                    entity_type=spec.primary_entity.value,
                    mapping_name=self.mapping.name,
                    mapping_version=self.mapping.version,
                    input_name=self.path.name,
                    input_sha256=sha,
                    input_size=size,
                    status="running",
                    started_at=now,
                    rows_read=0,
                    stored=0,
                    unchanged=0,
                    quarantined=0,
                    quarantined_by_reason={},
                    resume_row=0,
                )
            report = BatchReport(
                batch.id,
                spec.agency,
                spec.source,
                str(self.path),
                self.mapping.name,
                self.mapping.version,
                rows_read=batch.rows_read,
                stored=batch.stored,
                unchanged=batch.unchanged,
                quarantined=batch.quarantined,
                resumed_after_row=batch.resume_row,
            )
            report.new_versions = max(0, batch.stored - batch.unchanged)
            self.reasons.update(batch.quarantined_by_reason or {})
            resume = batch.resume_row
        with log_context(batch_id=report.batch_id, agency=spec.agency, source=spec.source):
            try:
                self._stream(report, resume, sha, now)
            except BaseException as e:
                with transaction(self.factory) as s:
                    BatchRepository(s).checkpoint(
                        report.batch_id, status="failed", error=f"{type(e).__name__}: {e}"[:2000]
                    )
                raise
        report.duration_s = time.perf_counter() - started
        report.quarantined_by_reason = dict(self.reasons)
        log.info("ingest finished", extra={"fields": report.as_dict()})
        return report

    def _stream(self, report: BatchReport, resume: int, sha: str, now: datetime) -> None:
        spec = self.mapping.spec
        total = estimate_rows(self.path, self.mapping) if self.progress else None
        read = reader_for(spec.format.type)
        rows = (r for r in read(self.path, spec.format, self.mapper.columns) if r.number > resume)
        last = resume
        for chunk in _chunks(rows, self.chunk_rows):
            records, quarantine, ok_rows = self._map_chunk(chunk, report.batch_id, sha, now)
            last = chunk[-1].number
            with transaction(self.factory) as s:
                result = RecordRepository(s).write(
                    agency=spec.agency,
                    source=spec.source,
                    batch_id=report.batch_id,
                    mapping_version=self.mapping.version,
                    received_at=now,
                    records=records,
                )
                QuarantineRepository(s).add_many(quarantine)
                report.rows_read += len(chunk)
                report.stored += ok_rows
                report.new_versions += result.written
                report.unchanged += result.unchanged
                report.quarantined += len(quarantine)
                BatchRepository(s).checkpoint(
                    report.batch_id,
                    rows_read=report.rows_read,
                    stored=report.stored,
                    unchanged=report.unchanged,
                    quarantined=report.quarantined,
                    quarantined_by_reason=dict(self.reasons),
                    resume_row=last,
                )
            if self.progress:
                self.progress(report.rows_read, total)
        with transaction(self.factory) as s:
            BatchRepository(s).checkpoint(
                report.batch_id, status="completed", finished_at=datetime.now(UTC), resume_row=last
            )


def _record_id(row: RawRow, mapper: RowMapper) -> str | None:
    """The row's record id if it can be read at all (for finding it in the quarantine)."""
    if not row.values:
        return None
    try:
        value = mapper.entities[0].record_id(row.values)
    except Exception:  # noqa: BLE001 - best effort only; the row is quarantined anyway
        return None
    return str(value)[:128] if value not in (None, "") else None


def ingest_file(
    factory: sessionmaker[Session],
    mapping: Mapping,
    path: Path,
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> BatchReport:
    if not path.is_file():
        raise UsageError(f"input {path} does not exist or is not a file")
    return _Ingest(factory, mapping, path, chunk_rows, progress).run()
