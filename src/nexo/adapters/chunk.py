"""Map one chunk of raw rows: the records to store, the rows to quarantine, the findings.

Pure (no database): the ingest job commits what this returns, in one transaction per chunk.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nexo.adapters.mapper import Reason, RowMapper
from nexo.adapters.readers import RawRow
from nexo.adapters.readers.base import store_safe
from nexo.adapters.readers.csv_blocks import PlainBlock
from nexo.store.repository import NewRecord, PersonBatch
from nexo.store.staging import PersonColumns, StagedPersons


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
    #: with a vectorised mapping, the records (``records`` is then empty); staged by the
    #: read-ahead process for a SQLite store (``store/staging.py``), from Arrow tables
    batch: PersonBatch | PersonColumns | StagedPersons | None = None


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
    """Every row of the chunk ends in ``records`` (with its findings) or ``quarantine``.

    With a vectorised mapping (``vector.py``) the records are in ``batch`` instead: the clean
    rows mapped column-wise, the others row-wise, in input order.
    """
    good = [r.values for r in rows if r.problem is None]
    vector = mapper.vector
    batch: PersonBatch | None = None
    if vector is not None and good:
        clean, batch = vector.run(good)
    else:
        clean = [False] * len(good)
    left: list[tuple[int, RawRow]] = []  # (position among the good rows, row) not yet mapped
    k = -1
    for row in rows:
        if row.problem is None:
            k += 1
            if clean[k]:
                continue
        left.append((k, row))
    return _complete(mapper, out, clean, batch, left)


def map_block(
    mapper: RowMapper, block: PlainBlock, out: ChunkOut, columnar: bool = False
) -> MappedChunk:
    """``map_chunk`` for a plain block of CSV rows (``csv_blocks.py``): the same result,
    without making each clean row a Python object (``columnar``: the batch as Arrow tables,
    for staging)."""
    vector = mapper.vector
    assert vector is not None
    clean, batch = vector.run_frame(block.frame, columnar)
    unclean = [i for i, c in enumerate(clean) if not c]
    return _complete(
        mapper, out, clean, batch, list(zip(unclean, block.rows(unclean), strict=True))
    )


def _complete(
    mapper: RowMapper,
    out: ChunkOut,
    clean: list[bool],
    batch: PersonBatch | PersonColumns | None,
    left: list[tuple[int, RawRow]],
) -> MappedChunk:
    """The chunk's result, given the rows mapped column-wise (``clean``, ``batch``) and the
    rest in input order: those with a problem, quarantined, and the others, mapped row-wise."""
    done = MappedChunk(ok_rows=sum(clean))
    results = iter(mapper.map_rows([row.values for _, row in left if row.problem is None]))
    rejected: list[tuple[RawRow, list[Reason]]] = []
    others: list[tuple[int, NewRecord]] = []  # records mapped row-wise, by good row
    for k, row in left:
        if row.problem is not None:
            rejected.append((row, [Reason(row.problem[0], None, row.problem[1])]))
            continue
        result = next(results)
        if result.entities is None:
            rejected.append((row, result.reasons))
            continue
        done.ok_rows += 1
        records = [
            NewRecord.of(m.entity_type, m.record_id, m.entity, m.updated_on)
            for m in result.entities
        ]
        if batch is None:
            done.records.extend(records)
        else:
            others.extend((k, r) for r in records)
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
    if isinstance(batch, PersonColumns):
        done.batch = batch.merged(clean, others) if others else batch
    elif batch is not None:
        done.batch = _merged(batch, clean, others) if others else batch
    if rejected:
        ids = mapper.record_ids([row.values for row, _ in rejected])
        ids = [rid if row.values else None for (row, _), rid in zip(rejected, ids, strict=True)]
        done.quarantine = [
            quarantine_row(out, row, rid, reasons)
            for (row, reasons), rid in zip(rejected, ids, strict=True)
        ]
    return done


def _merged(
    batch: PersonBatch, clean: list[bool], others: list[tuple[int, NewRecord]]
) -> PersonBatch:
    """The clean rows' batch with the records mapped row-wise, in input order."""
    out = PersonBatch()
    positions = [i for i, c in enumerate(clean) if c]  # each clean record's good row
    done = 0  # clean records taken
    for k, record in others:
        upto = bisect_left(positions, k, lo=done)
        out.extend(batch, done, upto)
        done = upto
        out.append(record)
    out.extend(batch, done, len(positions))
    return out
