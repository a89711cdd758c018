"""Map one chunk of raw rows: the records to store, the rows to quarantine, the findings.

Pure (no database): the ingest job commits what this returns, in one transaction per chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nexo.adapters.mapper import Reason, RowMapper
from nexo.adapters.readers import RawRow
from nexo.adapters.readers.base import store_safe
from nexo.store.repository import NewRecord


@dataclass(frozen=True, slots=True)
class ChunkOut:
    """Where the chunk's quarantine rows and findings come from."""

    batch_id: str
    agency: str
    source: str
    input_name: str
    input_sha256: str
    created_at: datetime


@dataclass(slots=True)
class MappedChunk:
    records: list[NewRecord] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    ok_rows: int = 0


def quarantine_row(
    out: ChunkOut, row: RawRow, record_id: str | None, reasons: list[Reason]
) -> dict[str, Any]:
    return {
        "batch_id": out.batch_id,
        "agency": out.agency,
        "source": out.source,
        "input_name": out.input_name,
        "input_sha256": out.input_sha256,
        "row_number": row.number,
        "record_id": store_safe(record_id) if record_id else None,
        "raw": store_safe(row.raw),
        "reasons": [r.as_dict() for r in reasons],
        "reason_code": reasons[0].code,
        "status": "open",
        "created_at": out.created_at,
        "resolved_at": None,
        "raw_original": None,
        "edited_at": None,
    }


def map_chunk(mapper: RowMapper, rows: list[RawRow], out: ChunkOut) -> MappedChunk:
    """Every row of the chunk ends in ``records`` (with its findings) or ``quarantine``."""
    good = [r.values for r in rows if r.problem is None]
    vector = mapper.vector
    ready: list[NewRecord | None] = vector.run(good) if vector and good else [None] * len(good)
    results = iter(mapper.map_rows([v for v, r in zip(good, ready, strict=True) if r is None]))
    done = MappedChunk()
    rejected: list[tuple[RawRow, list[Reason]]] = []
    clean = iter(ready)
    for row in rows:
        if row.problem is not None:
            rejected.append((row, [Reason(row.problem[0], None, row.problem[1])]))
            continue
        record = next(clean)
        if record is not None:  # a clean row mapped column-wise: one record, no findings
            done.ok_rows += 1
            done.records.append(record)
            continue
        result = next(results)
        if result.entities is None:
            rejected.append((row, result.reasons))
            continue
        done.ok_rows += 1
        done.records.extend(
            NewRecord.of(m.entity_type, m.record_id, m.entity, m.updated_on)
            for m in result.entities
        )
        done.findings.extend(
            {
                "batch_id": out.batch_id,
                "agency": out.agency,
                "source": out.source,
                "input_sha256": out.input_sha256,
                "row_number": row.number,
                "entity_type": f.entity_type,
                "record_id": f.record_id[:128],
                "field": f.field[:200],
                "code": f.code,
                "message": f.message,
                "created_at": out.created_at,
            }
            for f in result.findings
        )
    if rejected:
        ids = mapper.record_ids([row.values for row, _ in rejected])
        ids = [rid if row.values else None for (row, _), rid in zip(rejected, ids, strict=True)]
        done.quarantine = [
            quarantine_row(out, row, rid, reasons)
            for (row, reasons), rid in zip(rejected, ids, strict=True)
        ]
    return done
