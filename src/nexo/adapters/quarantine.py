"""Working the quarantine: read it, export it, correct rows, and retry them.

A retry runs open quarantined rows of one agency source through the current (fixed) mapping:
rows that now pass are stored (as a retry batch, so their provenance shows it) and marked
resolved; the others stay open with their new reasons. A steward may first correct a row's raw
text (``edit``); the text as it came in is kept.
"""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy.orm import Session, sessionmaker

from nexo.adapters.chunk import ChunkOut
from nexo.adapters.mapper import Reason, RowMapper
from nexo.adapters.readers import RawRow, reparser_for
from nexo.adapters.readers.csv_reader import dialect
from nexo.adapters.repository import BatchRepository, FindingRepository, QuarantineRepository
from nexo.adapters.spec import CsvFormat, FixedWidthFormat, Mapping
from nexo.adapters.tables import QuarantineRow
from nexo.errors import NotFound, UsageError
from nexo.store.engine import transaction
from nexo.store.repository import NewRecord, RecordRepository

PAGE = 1000
EXPORT_COLUMNS = (
    "id", "agency", "source", "batch_id", "input_name", "row_number", "record_id", "status",
    "reason_code", "reasons", "raw", "raw_original", "created_at", "resolved_at",
)  # fmt: skip


@dataclass
class RetryReport:
    batch_id: str
    agency: str
    source: str
    mapping_version: str
    retried: int = 0
    resolved: int = 0
    still_open: int = 0
    still_open_by_reason: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Filter:
    status: str | None = "open"
    agency: str | None = None
    source: str | None = None
    reason: str | None = None
    batch_id: str | None = None
    ids: tuple[int, ...] | None = None


def page(session: Session, flt: Filter, after: int | None, limit: int) -> list[QuarantineRow]:
    return QuarantineRepository(session).list(
        status=flt.status,
        agency=flt.agency,
        source=flt.source,
        reason=flt.reason,
        batch_id=flt.batch_id,
        ids=flt.ids,
        after_id=after,
        limit=limit,
    )


def iter_rows(factory: sessionmaker[Session], flt: Filter) -> Iterator[QuarantineRow]:
    """Every row that matches, a page (one short transaction) at a time."""
    after: int | None = None
    while True:
        with transaction(factory) as s:
            rows = page(s, flt, after, PAGE)
        yield from rows
        if len(rows) < PAGE:
            return
        after = rows[-1].id


def count_rows(session: Session, flt: Filter) -> int:
    return QuarantineRepository(session).count(status=flt.status, agency=flt.agency)


def get_row(session: Session, row_id: int) -> QuarantineRow:
    row = QuarantineRepository(session).get(row_id)
    if row is None:
        raise NotFound(f"no quarantined row {row_id}", hint="see: nexo quarantine list")
    return row


def as_record(row: QuarantineRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "agency": row.agency,
        "source": row.source,
        "batch_id": row.batch_id,
        "input_name": row.input_name,
        "row_number": row.row_number,
        "record_id": row.record_id,
        "status": row.status,
        "reason_code": row.reason_code,
        "reasons": row.reasons,
        "raw": row.raw,
        "raw_original": row.raw_original,
        "created_at": row.created_at.isoformat(),
        "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
    }


def export_rows(factory: sessionmaker[Session], out: TextIO, flt: Filter, fmt: str) -> int:
    """Write matching rows as CSV, JSON (one array) or NDJSON; returns the row count."""
    if fmt not in ("csv", "json", "ndjson"):
        raise UsageError(f"unknown export format {fmt!r}", hint="use csv, json or ndjson")
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writerow(EXPORT_COLUMNS)
    elif fmt == "json":
        out.write("[")
    n = 0
    for row in iter_rows(factory, flt):
        rec = as_record(row)
        if writer:
            rec["reasons"] = "; ".join(r["message"] for r in row.reasons)
            writer.writerow(["" if rec[c] is None else rec[c] for c in EXPORT_COLUMNS])
        else:
            text = json.dumps(rec, ensure_ascii=False)
            out.write(("\n" if fmt == "ndjson" else ",\n" if n else "\n") + text)
        n += 1
    if fmt == "json":
        out.write("\n]\n" if n else "]\n")
    elif fmt == "ndjson" and n:
        out.write("\n")
    return n


# ------------------------------------------------------------------ corrections


def _batch_columns(session: Session, batch_id: str) -> list[str] | None:
    batch = BatchRepository(session).get(batch_id)
    return list(batch.columns) if batch and batch.columns else None


def _rewrite(raw: str, values: dict[str, str], mapping: Mapping, columns: list[str] | None) -> str:
    """The raw text with some columns set to new values, in the input's own format."""
    fmt = mapping.spec.format
    row = reparser_for(fmt.type)(raw, fmt, list(values), columns)
    if row.problem is not None and fmt.type in ("csv", "fixed_width"):
        raise UsageError(
            f"the raw text cannot be split ({row.problem[1]}), so a column cannot be set",
            hint="correct the whole text with --raw",
        )
    if isinstance(fmt, CsvFormat):
        assert columns is not None
        cells = {**row.values, **values}
        unknown = set(values) - set(columns)
        if unknown:
            raise UsageError(f"the input has no column {', '.join(sorted(unknown))}")
        ending = raw[len(raw.rstrip("\r\n")) :] or "\n"
        text = _csv_line([cells[c] or "" for c in columns], fmt)
        return text + ending
    if isinstance(fmt, FixedWidthFormat):
        text, ending = raw.rstrip("\r\n"), raw[len(raw.rstrip("\r\n")) :]
        width = max(c.start - 1 + c.width for c in fmt.columns)
        chars = list(text.ljust(width))
        for name, value in values.items():
            col = next((c for c in fmt.columns if c.name == name), None)
            if col is None:
                raise UsageError(f"the layout has no column {name}")
            if len(value) > col.width:
                raise UsageError(f"{name} is {col.width} characters wide; {value!r} is longer")
            chars[col.start - 1 : col.start - 1 + col.width] = value.ljust(col.width)
        return "".join(chars) + ending
    if fmt.type == "xml":
        raise UsageError("XML rows are corrected as a whole", hint="use --raw")
    try:
        record = json.loads(raw)
    except ValueError:
        raise UsageError("the raw text is not JSON", hint="correct it with --raw") from None
    if not isinstance(record, dict):
        raise UsageError("the raw text is not a JSON object", hint="correct it with --raw")
    for name, value in values.items():
        target = record
        *parents, last = name.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return json.dumps(record, ensure_ascii=False) + ("\n" if raw.endswith("\n") else "")


def _csv_line(cells: list[str], fmt: CsvFormat) -> str:
    import io

    buf = io.StringIO()
    opts = {k: v for k, v in dialect(fmt).items() if k != "strict"}
    csv.writer(buf, lineterminator="", **opts).writerow(cells)
    return buf.getvalue()


def edit_row(
    session: Session,
    row_id: int,
    *,
    raw: str | None = None,
    values: dict[str, str] | None = None,
    mapping: Mapping | None = None,
) -> QuarantineRow:
    """Correct an open row's raw text (whole, or some columns through the mapping's format)."""
    row = get_row(session, row_id)
    if row.status != "open":
        raise UsageError(f"row {row_id} is {row.status}; only open rows can be corrected")
    if (raw is None) == (not values):
        raise UsageError("give either the corrected raw text or column values to set")
    if values:
        if mapping is None:
            raise UsageError("setting column values needs the mapping", hint="add --mapping FILE")
        _same_source(row, mapping)
        raw = _rewrite(row.raw, values, mapping, _batch_columns(session, row.batch_id))
    assert raw is not None
    QuarantineRepository(session).edit(row, raw, datetime.now(UTC))
    return row


def _same_source(row: QuarantineRow, mapping: Mapping) -> None:
    if (row.agency, row.source) != (mapping.spec.agency, mapping.spec.source):
        raise UsageError(
            f"row {row.id} comes from {row.agency}/{row.source}, the mapping reads "
            f"{mapping.spec.agency}/{mapping.spec.source}"
        )


# ------------------------------------------------------------------ retry


def retry(factory: sessionmaker[Session], mapping: Mapping, flt: Filter) -> RetryReport:
    """Run the matching open rows of the mapping's source through the mapping again."""
    spec = mapping.spec
    flt = Filter("open", spec.agency, spec.source, flt.reason, flt.batch_id, flt.ids)
    mapper = RowMapper(mapping)
    reparse = reparser_for(spec.format.type)
    now = datetime.now(UTC)
    batch_id = str(uuid.uuid4())
    report = RetryReport(batch_id, spec.agency, spec.source, mapping.version)
    still: Counter[str] = Counter()
    with transaction(factory) as s:
        BatchRepository(s).add(
            id=batch_id, agency=spec.agency, source=spec.source,
            entity_type=spec.primary_entity.value, mapping_name=mapping.name,
            mapping_version=mapping.version, input_name="quarantine retry",
            input_sha256=hashlib.sha256(f"retry\n{batch_id}".encode()).hexdigest(),
            input_size=0, status="running", started_at=now, rows_read=0, stored=0,
            unchanged=0, quarantined=0, quarantined_by_reason={}, resume_row=0,
        )  # fmt: skip
    after: int | None = None
    columns: dict[str, list[str] | None] = {}
    while True:
        with transaction(factory) as s:
            rows = page(s, flt, after, PAGE)
            if not rows:
                break
            after = rows[-1].id
            for b in {r.batch_id for r in rows} - set(columns):
                columns[b] = _batch_columns(s, b)
            raws = [reparse(r.raw, spec.format, mapper.columns, columns[r.batch_id]) for r in rows]
            _retry_page(s, mapper, mapping, rows, raws, now, batch_id, report, still)
    report.still_open_by_reason = dict(still)
    with transaction(factory) as s:
        BatchRepository(s).checkpoint(
            batch_id, status="completed", finished_at=datetime.now(UTC),
            rows_read=report.retried, stored=report.resolved, quarantined=report.still_open,
            quarantined_by_reason=dict(still),
        )  # fmt: skip
    return report


def _retry_page(
    s: Session,
    mapper: RowMapper,
    mapping: Mapping,
    page: list[QuarantineRow],
    raws: list[RawRow],
    now: datetime,
    batch_id: str,
    report: RetryReport,
    still: Counter[str],
) -> None:
    good = [i for i, r in enumerate(raws) if r.problem is None]
    results = dict(zip(good, mapper.map_rows([raws[i].values for i in good]), strict=True))
    records: list[NewRecord] = []
    findings: list[dict[str, Any]] = []
    resolved: list[int] = []
    quarantine = QuarantineRepository(s)
    for i, row in enumerate(page):
        report.retried += 1
        result = results.get(i)
        if result is not None and result.entities is not None:
            resolved.append(row.id)
            records += [
                NewRecord.of(m.entity_type, m.record_id, m.entity, m.updated_on)
                for m in result.entities
            ]
            out = ChunkOut(batch_id, row.agency, row.source, row.input_name, row.input_sha256, now)
            findings += [
                {"batch_id": out.batch_id, "agency": row.agency, "source": row.source,
                 "input_sha256": row.input_sha256, "row_number": row.row_number,
                 "entity_type": f.entity_type, "record_id": f.record_id[:128],
                 "field": f.field[:200], "code": f.code, "message": f.message, "created_at": now}
                for f in result.findings
            ]  # fmt: skip
            continue
        problem = raws[i].problem
        reasons = (
            result.reasons
            if result is not None
            else [Reason(problem[0], None, problem[1])]
            if problem
            else []
        )
        quarantine.set_reasons(row.id, [r.as_dict() for r in reasons])
        still[reasons[0].code] += 1
        report.still_open += 1
    RecordRepository(s).write(
        agency=mapping.spec.agency,
        source=mapping.spec.source,
        batch_id=batch_id,
        mapping_version=mapping.version,
        received_at=now,
        records=records,
    )
    FindingRepository(s).add_many(findings)
    if resolved:
        quarantine.resolve(resolved, now)
        report.resolved += len(resolved)
