"""Ingest: read an agency export with a mapping and load it into the canonical store.

Every row read ends in exactly one place: the store (as new or unchanged record versions) or the
quarantine (with its reasons and raw text). Ingest is a job that commits every chunk together
with its resume point, so a crash loses nothing and a rerun continues where it stopped.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Index
from sqlalchemy.orm import Session, sessionmaker

from nexo.adapters.chunk import ChunkOut, MappedChunk, map_chunk
from nexo.adapters.readers import RawRow, ReadInfo, reader_for
from nexo.adapters.readers.sql_reader import safe_name
from nexo.adapters.repository import BatchRepository, FindingRepository, QuarantineRepository
from nexo.adapters.spec import Mapping
from nexo.adapters.workers import MapperPool, ReadAhead
from nexo.config import get_settings
from nexo.errors import MappingError, UsageError
from nexo.logging import get_logger, log_context
from nexo.store import bulk, staging
from nexo.store.engine import background_checkpoints, transaction
from nexo.store.projection import TABLES
from nexo.store.repository import RecordRepository

log = get_logger(__name__)
AUTO_WORKERS_BYTES = 16 << 20  # from this input size on, map in worker processes by default
#: read-ahead processes by default, at most one per core: with two on 2 cores, 1,000,000 rows
#: loaded 11 % faster than with one (decision 0059); beyond two, the ingest process's own
#: writing is slower than what they make
AUTO_READERS = 2
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
    findings_by_reason: dict[str, int] = field(default_factory=dict)
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


def _count(path: Path, needle: bytes) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(needle) for chunk in iter(lambda: fh.read(1 << 20), b""))


def estimate_rows(path: Path, mapping: Mapping) -> int | None:
    """A quick count for the progress bar: lines, record elements, or Parquet metadata."""
    fmt = mapping.spec.format
    if fmt.type in ("csv", "fixed_width", "ndjson"):
        header = 1 if fmt.type == "csv" and fmt.header else 0
        return max(0, _count(path, b"\n") - header)
    if fmt.type == "xml":
        return _count(path, f"<{fmt.record_path.rsplit('/', 1)[-1]}".encode())
    if fmt.type == "parquet":
        from nexo.adapters.readers.parquet_reader import parquet_module

        try:
            return int(parquet_module().ParquetFile(path).metadata.num_rows)
        except Exception:  # noqa: BLE001 - only an estimate
            return None
    return None


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Collect cycles less often while a job makes millions of short-lived objects.

    Rows, dicts and models form no reference cycles, so reference counting frees them; with the
    default thresholds the cyclic collector would scan them over and over (in a profile of a
    one-million-row load, about a third of the CPU time).
    """
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], 50_000), old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _chunks(rows: Iterable[RawRow], size: int) -> Generator[list[RawRow], None, None]:
    chunk: list[RawRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass(frozen=True)
class _Input:
    location: Path | str  # what the reader opens
    name: str  # what is shown and stored (a file name, a URL without password)
    sha256: str | None  # content hash of a file (once ``hashed``); None for a database query
    size: int

    def hashed(self) -> _Input:
        if isinstance(self.location, Path) and self.sha256 is None:
            return replace(self, sha256=file_sha256(self.location))
        return self


def _input(mapping: Mapping, source: Path | str) -> _Input:
    """The input, a file not hashed yet."""
    if mapping.spec.format.type == "sql":
        return _Input(str(source), safe_name(str(source)), None, 0)
    path = Path(source)
    if not path.is_file():
        raise UsageError(f"input {path} does not exist or is not a file")
    return _Input(path, path.name, None, path.stat().st_size)


class _Ingest:
    def __init__(
        self,
        factory: sessionmaker[Session],
        mapping: Mapping,
        source: Path | str,
        chunk_rows: int,
        progress: Progress | None,
        workers: int | None = None,
    ) -> None:
        self.factory, self.mapping, self.chunk_rows, self.progress = (
            factory,
            mapping,
            chunk_rows,
            progress,
        )
        self.input = _input(mapping, source)
        from nexo.adapters.mapper import RowMapper

        self.mapper = RowMapper(mapping)
        self.reasons: Counter[str] = Counter()
        self.findings: Counter[str] = Counter()
        self.workers = workers
        #: the projection tables this mapping writes (with the identifiers of persons)
        self.tables = bulk.written_with(TABLES[e.type].__tablename__ for e in mapping.spec.entities)
        # source_record first: its row count decides when the tables are analysed
        self.statistics = bulk.Statistics(["source_record", *sorted(self.tables)])

    def _batch(self, now: datetime) -> tuple[BatchReport, int, str]:
        spec, inp = self.mapping.spec, self.input
        with transaction(self.factory) as s:
            batches = BatchRepository(s)
            batch = batches.unfinished(
                spec.agency,
                spec.source,
                self.mapping.version,
                input_sha256=inp.sha256,
                input_name=inp.name if inp.sha256 is None else None,
            )
            if batch is None:
                batch_id = str(uuid.uuid4())
                # a query's rows differ from run to run: each run is its own input
                sha = inp.sha256 or hashlib.sha256(f"{inp.name}\n{batch_id}".encode()).hexdigest()
                batch = batches.add(
                    id=batch_id,
                    agency=spec.agency,
                    source=spec.source,
                    entity_type=spec.primary_entity.value,
                    mapping_name=self.mapping.name,
                    mapping_version=self.mapping.version,
                    input_name=inp.name,
                    input_sha256=sha,
                    input_size=inp.size,
                    status="running",
                    started_at=now,
                    rows_read=0,
                    stored=0,
                    unchanged=0,
                    quarantined=0,
                    quarantined_by_reason={},
                    findings_by_reason={},
                    resume_row=0,
                )
            report = BatchReport(
                batch.id,
                spec.agency,
                spec.source,
                str(inp.location) if inp.sha256 else inp.name,
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
            self.findings.update(batch.findings_by_reason or {})
            return report, batch.resume_row, batch.input_sha256

    def run(self) -> BatchReport:
        started = time.perf_counter()
        now = datetime.now(UTC)
        # (first: read-ahead processes start up while this one hashes the input, counts its
        # lines and reads its first chunk)
        ahead = self._read_ahead_processes()
        try:
            self.input = self.input.hashed()
            report, resume, sha = self._batch(now)
            spec = self.mapping.spec
            with log_context(batch_id=report.batch_id, agency=spec.agency, source=spec.source):
                deferred = self._defer_indexes()
                try:
                    with bulk_gc(), background_checkpoints(self._engine()):
                        self._stream(report, resume, sha, now, ahead)
                except BaseException as e:
                    with transaction(self.factory) as s:
                        BatchRepository(s).checkpoint(
                            report.batch_id,
                            status="failed",
                            error=f"{type(e).__name__}: {e}"[:2000],
                        )
                    self._restore_indexes(deferred, failing=True)
                    raise
                self._restore_indexes(deferred)
        finally:
            if ahead is not None:
                ahead.close()
        report.duration_s = time.perf_counter() - started
        report.quarantined_by_reason = dict(self.reasons)
        report.findings_by_reason = dict(self.findings)
        log.info("ingest finished", extra={"fields": report.as_dict()})
        return report

    def _defer_indexes(self) -> list[Index]:
        """On SQLite, drop the reader-only indexes of the tables this ingest writes when the
        input is big for the store (or always, as configured); they are built again at the end
        (``store/bulk.py``, decision 0056)."""
        setting = get_settings().ingest.defer_indexes
        if setting == "never":
            return []
        indexes = bulk.reader_only_indexes(self.tables)
        with transaction(self.factory) as s:
            if not indexes or s.get_bind().dialect.name != "sqlite":
                return []
            conn = s.connection()
            if setting == "auto":
                if not bulk.should_defer(self.expected_rows, bulk.stored_rows(conn, indexes)):
                    return []
            bulk.drop(conn, indexes)
        log.info("reader-only indexes deferred", extra={"fields": {"indexes": len(indexes)}})
        return indexes

    def _restore_indexes(self, indexes: list[Index], failing: bool = False) -> None:
        if not indexes:
            return
        try:
            with transaction(self.factory) as s:
                bulk.restore(s.connection(), indexes)
        except Exception:
            if not failing:
                raise
            # the ingest's own error is the one to report; the next ingest or upgrade builds them
            log.exception("deferred indexes could not be built after a failed ingest")

    def _engine(self) -> Engine:
        with self.factory() as s:
            bind = s.get_bind()
        return bind if isinstance(bind, Engine) else bind.engine

    @property
    def _configured_workers(self) -> int | None:
        """Worker or read-ahead processes as asked (``workers``, else the setting); ``None``
        for the default."""
        return self.workers if self.workers is not None else get_settings().ingest.workers

    def _read_ahead_processes(self) -> ReadAhead | None:
        """Read-ahead processes, started up, for the rest of the input after the first chunk
        (they read it only if it has more than one: ``_stream``): for a vectorised mapping of
        a file, when worker processes are configured, or by default for a big file on a
        machine with more than one core."""
        location = self.input.location
        if self.mapper.vector is None or not isinstance(location, Path):
            return None
        configured = self._configured_workers
        if configured is not None and configured <= 0:
            return None
        if configured is None and (self.input.size < AUTO_WORKERS_BYTES or _cores() < 2):
            return None
        with self.factory() as s:  # (batches are staged for SQLite, where it can)
            sqlite = s.get_bind().dialect.name == "sqlite" and staging.available()
        return ReadAhead(self.mapping, location, self.chunk_rows, sqlite, self._readers())

    def _readers(self) -> int:
        configured = self._configured_workers
        return read_ahead_processes(configured)

    def _workers(self) -> int:
        """Mapping processes: as configured, or for a big file one per core (at most 4).

        (A vectorised mapping reads ahead in one process instead: ``_reads_ahead``.)
        """
        configured = self._configured_workers
        if configured is not None:
            return configured
        big = self.input.size >= AUTO_WORKERS_BYTES
        cores = _cores()
        return min(cores, 4) if big and cores > 1 else 0

    def _check_columns(self, info: ReadInfo) -> None:
        if not info.tabular or info.columns is None:
            return
        have = set(info.columns) | set(self.mapping.spec.format.optional_columns)
        missing = [
            c for c in self.mapper.columns if c not in have and c.split(".", 1)[0] not in have
        ]
        if missing:
            raise MappingError(
                f"{self.input.name}: the mapping reads column(s) {', '.join(missing)} that the "
                f"input does not have",
                hint=f"the input has: {', '.join(info.columns)}",
            )

    @cached_property
    def expected_rows(self) -> int | None:
        """The input's rows, estimated (for the progress bar and deferred indexes)."""
        location = self.input.location
        return estimate_rows(location, self.mapping) if isinstance(location, Path) else None

    def _stream(
        self, report: BatchReport, resume: int, sha: str, now: datetime, ahead: ReadAhead | None
    ) -> None:
        spec = self.mapping.spec
        location = self.input.location
        total = self.expected_rows if self.progress else None
        info = ReadInfo()
        read = reader_for(spec.format.type)
        rows = (
            r for r in read(location, spec.format, self.mapper.columns, info) if r.number > resume
        )
        context = ChunkOut(
            batch_id=report.batch_id,
            agency=spec.agency,
            source=spec.source,
            input_name=self.input.name,
            input_sha256=sha,
            created_at=now,
        )
        last = resume
        chunks = _chunks(rows, self.chunk_rows)
        first = next(chunks, None)
        self._check_columns(info)  # the reader knows the header once it gave a row
        if ahead is not None and (first is None or len(first) < self.chunk_rows):
            ahead.close()  # (one chunk at most: nothing to read ahead)
            ahead = None
        if first is not None and ahead is not None:
            # the first chunk here (the header and its problems show as they always did), the
            # rest read and mapped by other processes while this one writes
            chunks.close()
            rows.close()
            last = first[-1].number
            ahead.start(last, context, info.columns)
            mapped = map_chunk(self.mapper, first, context)
            self._commit(report, mapped, len(first), last, info, now)
            if self.progress:
                self.progress(report.rows_read, total)
            for n, last, mapped in ahead:
                self._commit(report, mapped, n, last, info, now)
                if self.progress:
                    self.progress(report.rows_read, total)
        elif first is not None:
            workers = self._workers()
            pool = MapperPool(self.mapping, context, workers) if workers else None
            try:
                everything = itertools.chain([first], chunks)
                mapped_chunks = (
                    pool.map(everything)
                    if pool
                    else ((c, map_chunk(self.mapper, c, context)) for c in everything)
                )
                for chunk, mapped in mapped_chunks:
                    last = chunk[-1].number
                    self._commit(report, mapped, len(chunk), last, info, now)
                    if self.progress:
                        self.progress(report.rows_read, total)
            finally:
                if pool:
                    pool.close()
        with transaction(self.factory) as s:
            BatchRepository(s).checkpoint(
                report.batch_id,
                status="completed",
                finished_at=datetime.now(UTC),
                resume_row=last,
                columns=info.columns,
            )

    def _commit(
        self,
        report: BatchReport,
        mapped: MappedChunk,
        rows: int,
        last: int,
        info: ReadInfo,
        now: datetime,
    ) -> None:
        try:
            spec = self.mapping.spec
            self.reasons.update(q["reason_code"] for q in mapped.quarantine)
            self.findings.update(f["code"] for f in mapped.findings)
            with transaction(self.factory) as s:
                repository = RecordRepository(s)
                args: dict[str, Any] = {
                    "agency": spec.agency,
                    "source": spec.source,
                    "batch_id": report.batch_id,
                    "mapping_version": self.mapping.version,
                    "received_at": now,
                }
                result = (
                    repository.write(**args, records=mapped.records)
                    if mapped.batch is None
                    else repository.write_persons(**args, batch=mapped.batch)
                )
                QuarantineRepository(s).add_many(mapped.quarantine)
                FindingRepository(s).add_many(mapped.findings)
                report.rows_read += rows
                report.stored += mapped.ok_rows
                report.new_versions += result.written
                report.unchanged += result.unchanged
                report.quarantined += len(mapped.quarantine)
                BatchRepository(s).checkpoint(
                    report.batch_id,
                    rows_read=report.rows_read,
                    stored=report.stored,
                    unchanged=report.unchanged,
                    quarantined=report.quarantined,
                    quarantined_by_reason=dict(self.reasons),
                    findings_by_reason=dict(self.findings),
                    resume_row=last,
                    columns=info.columns,
                )
                self.statistics.written(s.connection(), result.written)
            # a committed chunk's session, statements and cursors are garbage now, some of them in
            # reference cycles; with bulk_gc's thresholds and a read-ahead process making the rows,
            # the collector would seldom run here, and on PostgreSQL they held 130 MB per
            # 1,000,000 rows until it did (young generations only: about 3 ms)
            gc.collect(1)
        finally:
            if isinstance(mapped.batch, staging.StagedPersons):
                mapped.batch.discard()  # (its file: staged by a read-ahead process)


def read_ahead_processes(workers: int | None) -> int:
    """Read-ahead processes of a vectorised mapping: the mapping workers configured, else one
    per core, at most ``AUTO_READERS``."""
    return workers or max(1, min(_cores(), AUTO_READERS))


def _cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def ingest(
    factory: sessionmaker[Session],
    mapping: Mapping,
    source: Path | str,
    *,
    chunk_rows: int | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> BatchReport:
    """Ingest one input (a file, or for ``sql`` mappings a database URL) with a mapping.

    ``workers``: processes that map rows (0: map in this process; None: the setting
    ``NEXO_INGEST__WORKERS``, or automatic: one per core for a big file).
    """
    rows = chunk_rows or get_settings().ingest.chunk_rows
    return _Ingest(factory, mapping, source, rows, progress, workers).run()


def ingest_file(
    factory: sessionmaker[Session],
    mapping: Mapping,
    path: Path,
    *,
    chunk_rows: int | None = None,
    progress: Progress | None = None,
) -> BatchReport:
    return ingest(factory, mapping, path, chunk_rows=chunk_rows, progress=progress)
