"""Property: whatever an input looks like, ingest never raises and loses no row.

For every format, hypothesis builds a valid export and damages it (truncated lines, wrong
encodings, byte-order marks, NUL bytes, unbalanced quotes, huge fields, malformed XML and
JSON, cut files). Every row read must be stored or quarantined, and every quarantined row must
be in the store with its raw text.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

from adapter_helpers import person_mapping, valid_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from nexo.adapters.service import BatchReport, ingest
from nexo.adapters.spec import Mapping
from nexo.adapters.tables import QuarantineRow
from nexo.store.engine import transaction
from nexo.store.tables import SourceRecordRow

FUZZ = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_counter = itertools.count()

NAMES = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzáéíóúñüÁÉÑ -'"), min_size=1, max_size=12
)
DATES = st.one_of(
    st.dates(dt.date(1900, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat),
    st.sampled_from(["", "2001-02-30", "31/12/1999", "19900101"]),
)


@st.composite
def people(draw: st.DrawFn, max_size: int = 12) -> list[dict[str, str]]:
    n = draw(st.integers(1, max_size))
    return [
        {
            "ID": f"P{i}",
            "GIVEN": draw(NAMES),
            "FAMILY": draw(NAMES),
            "BIRTH": draw(DATES),
            "NAT": draw(st.sampled_from([valid_run(i), "", "12345678-0"])),
        }
        for i in range(n)
    ]


def _mapping(tmp_path: Path, fmt: dict[str, Any], cols: dict[str, str] | None = None) -> Mapping:
    return person_mapping(tmp_path, fmt, cols, name=f"fuzz{next(_counter)}")


def _check(factory: sessionmaker[Session], mapping: Mapping, source: Path | str) -> BatchReport:
    report = ingest(factory, mapping, source, chunk_rows=5)  # never raises
    assert report.stored + report.quarantined == report.rows_read
    assert sum(report.quarantined_by_reason.values()) == report.quarantined
    with transaction(factory) as s:
        kept = s.scalar(select(func.count()).where(QuarantineRow.batch_id == report.batch_id))
        raws = s.scalars(select(QuarantineRow.raw).where(QuarantineRow.batch_id == report.batch_id))
        # every quarantined row keeps some raw text (an empty file has none to keep)
        empty = isinstance(source, Path) and source.stat().st_size == 0
        assert all(raw for raw in raws) or empty
        versions = s.scalar(
            select(func.count()).where(SourceRecordRow.source == mapping.spec.source)
        )
    assert kept == report.quarantined
    assert versions == report.new_versions
    return report


# ------------------------------------------------------------------ line-based formats

LINE_DAMAGE = st.sampled_from(
    ["none", "none", "truncate", "nul", "latin1", "bad_bytes", "bom", "quote", "huge",
     "extra_field", "blank", "crlf", "lone_cr"]
)  # fmt: skip


def _damage(line: bytes, how: str, at: int) -> bytes:
    cut = at % (len(line) + 1)
    head, tail = line[:cut], line[cut:]
    if how == "latin1":
        return line.decode("utf-8").encode("latin-1", errors="replace")
    damaged = {
        "none": line,
        "truncate": head,
        "nul": head + b"\x00" + tail,
        "bad_bytes": head + b"\xff\xfe\xc3" + tail,
        "bom": b"\xef\xbb\xbf" + line,
        "quote": head + b'"' + tail,
        "huge": line + b"," + b"x" * 200_000,
        "extra_field": line + b",extra",
        "blank": b"",
        "crlf": line + b"\r",
        "lone_cr": head + b"\r" + tail,
    }
    return damaged[how]


@FUZZ
@given(rows=people(), damage=st.lists(st.tuples(LINE_DAMAGE, st.integers(0, 60)), max_size=12))
def test_csv(
    factory: sessionmaker[Session], tmp_path: Path, rows: list[dict[str, str]], damage: Any
) -> None:
    lines = [",".join(r.values()).encode() for r in rows]
    for i, (how, at) in enumerate(damage[: len(lines)]):
        lines[i] = _damage(lines[i], how, at)
    path = tmp_path / "people.csv"
    path.write_bytes(b"ID,GIVEN,FAMILY,BIRTH,NAT\n" + b"\n".join(lines) + b"\n")
    report = _check(factory, _mapping(tmp_path, {"type": "csv", "max_record_lines": 4}), path)
    if not any(how in ("quote", "blank", "truncate", "lone_cr") for how, _ in damage):
        assert report.rows_read == len(rows)


@FUZZ
@given(rows=people(), damage=st.lists(st.tuples(LINE_DAMAGE, st.integers(0, 60)), max_size=12))
def test_ndjson(
    factory: sessionmaker[Session], tmp_path: Path, rows: list[dict[str, str]], damage: Any
) -> None:
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in rows]
    lines += [b'{"ID": "X1", "GIVEN": "\\u0000", "FAMILY": "\\ud800"}', b"[1, 2]"]
    for i, (how, at) in enumerate(damage[: len(lines)]):
        lines[i] = _damage(lines[i], how, at)
    path = tmp_path / "people.ndjson"
    path.write_bytes(b"\n".join(lines))
    _check(factory, _mapping(tmp_path, {"type": "ndjson"}), path)


LAYOUT = [("ID", 1, 6), ("GIVEN", 7, 14), ("FAMILY", 21, 14), ("BIRTH", 35, 10), ("NAT", 45, 12)]


@FUZZ
@given(
    rows=people(),
    damage=st.lists(st.tuples(LINE_DAMAGE, st.integers(0, 60)), max_size=12),
    ebcdic=st.booleans(),
    packed=st.lists(st.binary(min_size=4, max_size=4), min_size=1),
)
def test_fixed_width(
    factory: sessionmaker[Session],
    tmp_path: Path,
    rows: list[dict[str, str]],
    damage: Any,
    ebcdic: bool,
    packed: list[bytes],
) -> None:
    """In EBCDIC, records end with a packed-decimal column of arbitrary bytes."""
    encoding = "cp037" if ebcdic else "latin-1"
    records = [
        "".join(r[name][:width].ljust(width) for name, _, width in LAYOUT).encode(encoding)
        + (packed[i % len(packed)] if ebcdic else b"")
        for i, r in enumerate(rows)
    ]
    for i, (how, at) in enumerate(damage[: len(records)]):
        if how != "latin1":
            records[i] = _damage(records[i], how, at)
    path = tmp_path / "people.dat"
    path.write_bytes(b"".join(records) if ebcdic else b"\n".join(records))
    fmt = {
        "type": "fixed_width",
        "encoding": encoding,
        "columns": [{"name": n, "start": s, "width": w} for n, s, w in LAYOUT]
        + ([{"name": "WAGE", "start": 57, "width": 4, "type": "packed", "scale": 2}] * ebcdic),
    }
    _check(factory, _mapping(tmp_path, fmt), path)


# ------------------------------------------------------------------ documents

DOC_DAMAGE = st.sampled_from(
    ["none", "cut", "garbage", "nul", "bad_bytes", "bom", "unclosed", "huge"]
)


def _damage_doc(doc: bytes, how: str, at: int) -> bytes:
    cut = at % (len(doc) + 1)
    return {
        "none": doc,
        "cut": doc[:cut],
        "garbage": doc[:cut] + b"<&}]{" + doc[cut:],
        "nul": doc[:cut] + b"\x00" + doc[cut:],
        "bad_bytes": doc[:cut] + b"\xff\xfe" + doc[cut:],
        "bom": b"\xef\xbb\xbf" + doc,
        "unclosed": doc[:cut] + b"<p" + doc[cut:],
        "huge": doc[:cut] + b"x" * 200_000 + doc[cut:],
    }[how]


@FUZZ
@given(rows=people(), how=DOC_DAMAGE, at=st.integers(0, 10_000))
def test_xml(
    factory: sessionmaker[Session], tmp_path: Path, rows: list[dict[str, str]], how: str, at: int
) -> None:
    from xml.sax.saxutils import escape, quoteattr

    body = "".join(
        f"<p:person id={quoteattr(r['ID'])}><p:given>{escape(r['GIVEN'])}</p:given>"
        f"<p:family>{escape(r['FAMILY'])}</p:family><p:born>{r['BIRTH']}</p:born>"
        f"<p:id>{r['NAT']}</p:id></p:person>\n"
        for r in rows
    )
    doc = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<p:persons xmlns:p="urn:x">\n{body}</p:persons>\n'
    )
    path = tmp_path / "people.xml"
    path.write_bytes(_damage_doc(doc.encode(), how, at))
    fmt = {"type": "xml", "record_path": "p:person", "namespaces": {"p": "urn:x"}}
    cols = {"ID": "@id", "GIVEN": "p:given", "FAMILY": "p:family", "BIRTH": "p:born", "NAT": "p:id"}
    report = _check(factory, _mapping(tmp_path, fmt, cols), path)
    if how == "none":
        assert report.rows_read == len(rows)


@FUZZ
@given(rows=people(), how=DOC_DAMAGE, at=st.integers(0, 10_000), odd=st.booleans())
def test_json(
    factory: sessionmaker[Session],
    tmp_path: Path,
    rows: list[dict[str, str]],
    how: str,
    at: int,
    odd: bool,
) -> None:
    records: list[Any] = list(rows)
    if odd:  # records no store can keep, and records that are not objects
        records += [{"ID": "X\u0000", "GIVEN": "\ud800"}, 7, None, ["a"]]
    doc = json.dumps({"data": {"persons": records}}, ensure_ascii=True).encode()
    path = tmp_path / "people.json"
    path.write_bytes(_damage_doc(doc, how, at))
    report = _check(
        factory, _mapping(tmp_path, {"type": "json", "record_path": "data.persons"}), path
    )
    if how == "none":
        assert report.rows_read == len(records)


# ------------------------------------------------------------------ typed sources

CELLS = st.one_of(
    st.none(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
)


@FUZZ
@given(
    cells=st.lists(st.lists(CELLS, min_size=0, max_size=7), min_size=1, max_size=10),
    cut=st.one_of(st.none(), st.integers(0, 5000)),
)
def test_xlsx(
    factory: sessionmaker[Session], tmp_path: Path, cells: list[list[Any]], cut: int | None
) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["ID", "GIVEN", "FAMILY", "BIRTH", "NAT"])
    for row in cells:
        book.active.append(row)
    path = tmp_path / "people.xlsx"
    book.save(path)
    if cut is not None:
        path.write_bytes(path.read_bytes()[:cut])
    _check(factory, _mapping(tmp_path, {"type": "xlsx"}), path)


@FUZZ
@given(
    values=st.lists(st.text(max_size=40), min_size=1, max_size=30),
    cut=st.one_of(st.none(), st.integers(0, 3000)),
    flip=st.one_of(st.none(), st.integers(0, 3000)),
)
def test_parquet(
    factory: sessionmaker[Session],
    tmp_path: Path,
    values: list[str],
    cut: int | None,
    flip: int | None,
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(values)
    table = pa.table({"ID": [f"P{i}" for i in range(n)], "GIVEN": values, "FAMILY": values,
                      "BIRTH": values, "NAT": values})  # fmt: skip
    path = tmp_path / "people.parquet"
    pq.write_table(table, path, row_group_size=7)
    data = bytearray(path.read_bytes())
    if flip is not None and data:
        data[flip % len(data)] ^= 0xFF
    if cut is not None:
        data = data[:cut]
    path.write_bytes(bytes(data))
    _check(factory, _mapping(tmp_path, {"type": "parquet", "batch_rows": 4}), path)


@FUZZ
@given(values=st.lists(st.text(max_size=40), min_size=1, max_size=20))
def test_sql(factory: sessionmaker[Session], tmp_path: Path, values: list[str]) -> None:
    import sqlite3

    db = tmp_path / f"agency{next(_counter)}.db"
    with sqlite3.connect(db) as conn:
        conn.execute('CREATE TABLE persons ("ID", "GIVEN", "FAMILY", "BIRTH", "NAT")')
        conn.executemany(
            "INSERT INTO persons VALUES (?, ?, ?, ?, ?)",
            [(f"P{i}", v, v, v, v if i % 2 else None) for i, v in enumerate(values)],
        )
    conn.close()
    query = 'SELECT * FROM persons ORDER BY "ID"'
    report = _check(factory, _mapping(tmp_path, {"type": "sql", "query": query}), f"sqlite:///{db}")
    assert report.rows_read == len(values)
