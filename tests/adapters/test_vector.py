"""The column-wise (Polars) mapping of clean person rows gives exactly what the row-wise mapper
gives: the same records (canonical JSON, content hash, projection), quarantine and findings, and
after an ingest the same store, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import gc
import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from nexo.adapters import vector
from nexo.adapters.chunk import ChunkOut, MappedChunk, map_block, map_chunk
from nexo.adapters.mapper import RowMapper
from nexo.adapters.person_csv import PERSON_CSV_COLUMNS
from nexo.adapters.readers import RawRow
from nexo.adapters.readers.csv_blocks import PlainBlock
from nexo.adapters.service import ingest
from nexo.adapters.spec import Mapping, load_mapping, resolve_mapping
from nexo.model.identifier import run_check_digit
from nexo.store.repository import RecordRepository
from nexo.store.staging import PersonColumns, stage

OUT = ChunkOut("b", "agency", "src", "in.csv", "sha", datetime(2026, 1, 1, tzinfo=UTC))
GIVEN = ["Ana", "Luis", "María José", "  Pedro  ", "Camila\tRosa", "José", "Sofía", "민준", "Zoë"]
FAMILY = ["Rojas", "González", "de la Fuente", "O'Brien", "Núñez", "Müller-Lüdenscheidt"]
ODD_FAMILY = ['Say "Hi"', "Back\\slash", "Tab\tbed", "Ünïcödé\u0085"]


def _mapping(agency: str = "t", scheme: str = "cl-run") -> Mapping:
    return load_mapping(resolve_mapping("person-csv"), {"agency": agency, "id_scheme": scheme})


def _row_wise(mapping: Mapping) -> RowMapper:
    mapper = RowMapper(mapping)
    mapper.__dict__["vector"] = None  # (the cached property) the row-wise path only
    return mapper


def _run(body: str, rng: random.Random) -> str:
    dv = run_check_digit(body)
    how = rng.random()
    if how < 0.05:
        dv = "0" if dv != "0" else "1"  # a wrong check digit: stored, with a finding
    elif how < 0.1:
        body = f"{body[:-6]}.{body[-6:-3]}.{body[-3:]}"  # dotted
    elif how < 0.12:
        dv = dv.lower()
    elif how < 0.14:
        return ""
    elif how < 0.15:
        return f"{body}{dv}x"
    return f"{body}-{dv}"


def person_rows(n: int, seed: int = 3) -> list[dict[str, str]]:
    """Person CSV rows, most of them clean, many of them not (in every way we could think of)."""
    rng = random.Random(seed)
    rows = []
    for i in range(1, n + 1):
        day = f"{rng.randint(1900, 2010):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        odd_day = ["1990-02-30", "0000-01-01", "1990-1-02", " 1990-01-02 ", "02/01/1990", "x", ""]
        sex = rng.choice(["f", "m", "F", "M", "female", "male", "other", "unknown"])
        odd_sex = ["q", " f ", "", "Female", "fem"]
        given = rng.choice(GIVEN)
        odd_given = ["A" * 121, "\u00a0Ana", "Ana\u2003Luz", "Ana\x1fX", "\u3000", "  ", "😀 Ana"]
        row = {
            "record_id": f"P{i:06d}" if rng.random() > 0.005 else rng.choice(["", " ", "X" * 130]),
            "source": "",
            "given_name": given if rng.random() > 0.05 else rng.choice(odd_given),
            "family_name": rng.choice(FAMILY if rng.random() > 0.03 else ODD_FAMILY),
            "second_family_name": rng.choice([*FAMILY, "", *ODD_FAMILY[:1]]),
            "birth_date": day if rng.random() > 0.05 else rng.choice(odd_day),
            "sex": sex if rng.random() > 0.03 else rng.choice(odd_sex),
            "national_id": _run(str(rng.randint(1_000_000, 29_999_999)), rng),
            "address": rng.choice(["Calle 1", "Pasaje 2, depto 3", "", "  Av.  Grande  9 "]),
            "postcode": "12345678901234567" if rng.random() < 0.01 else rng.choice(["8320000", ""]),
            "locality": rng.choice(["Santiago", "La Serena", "", "Ñuñoa"]),
            "region": rng.choice(["RM", "", "Región de Valparaíso"]),
        }
        rows.append(row)
    return rows


def _raw_rows(rows: list[dict[str, str]]) -> list[RawRow]:
    return [RawRow(i + 1, ",".join(r.values()), dict(r)) for i, r in enumerate(rows)]


def _snapshot(done: MappedChunk) -> dict[str, Any]:
    records = done.records if done.batch is None else done.batch.records()
    assert not (done.batch and done.records)
    return {
        "records": [
            (r.entity_type, r.record_id, r.text, r.content_hash, r.source_updated_on, r.projected())
            for r in records
        ],
        "quarantine": done.quarantine,
        "findings": done.findings,
        "ok_rows": done.ok_rows,
    }


def test_every_python_whitespace_makes_a_row_unclean() -> None:
    spaces = {c for c in range(sys.maxunicode + 1) if chr(c).isspace() and c != 0x20}
    assert spaces <= set(vector.SPACES)


def test_a_code_list_value_that_json_escapes_is_mapped_row_wise(tmp_path: Path) -> None:
    text = resolve_mapping("person-csv").read_text(encoding="utf-8")
    odd = tmp_path / "odd.yaml"
    odd.write_text(text.replace("F: female", 'F: "fe\\"male"'), encoding="utf-8")
    mapping = load_mapping(odd, {"agency": "t", "id_scheme": "cl-run"})
    assert RowMapper(mapping).vector is None


def test_the_builtin_person_mapping_is_vectorised() -> None:
    assert RowMapper(_mapping()).vector is not None
    assert RowMapper(_mapping(scheme="other")).vector is not None
    assert RowMapper(_mapping(scheme="kr-rrn")).vector is None  # (row-wise: not compiled)


@pytest.mark.parametrize("scheme", ["cl-run", "other", "kr-rrn"])
def test_same_records_quarantine_and_findings_as_row_wise(scheme: str) -> None:
    mapping = _mapping(scheme=scheme)
    rows = _raw_rows(person_rows(3000))
    fast, slow = RowMapper(mapping), _row_wise(mapping)
    got = map_chunk(fast, rows, OUT)
    assert _snapshot(got) == _snapshot(map_chunk(slow, rows, OUT))
    if scheme == "cl-run":
        # the sample has every kind of row: clean ones, and ones only the row-wise mapper takes
        assert fast.vector is not None
        clean, batch = fast.vector.run([r.values for r in rows])
        assert 1500 < sum(clean) == len(batch) < 2900
        assert {q["reason_code"] for q in got.quarantine} >= {
            "invalid_date",
            "unknown_code",
            "invalid_value",
            "missing_record_id",
        }
        assert {f["code"] for f in got.findings} == {"invalid_check_digit"}


def _two_identifiers(tmp_path: Path) -> Mapping:
    """person-csv with a second identifier: the agency's own, from the record id (so a person
    whose national id is missing has it as the first)."""
    text = resolve_mapping("person-csv").read_text(encoding="utf-8")
    text += "      - scheme: agency\n        value: record_id\n"
    path = tmp_path / "two.yaml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path, {"agency": "t", "id_scheme": "cl-run"})


@pytest.mark.parametrize("scheme", ["cl-run", "other", "two identifiers"])
def test_a_block_mapped_to_arrow_tables_stages_the_row_wise_records(
    scheme: str, tmp_path: Path
) -> None:
    """For staging, a plain block's clean rows go from Polars to Arrow tables (a person's
    first identifier in its row, further ones apart), and the rows mapped row-wise are merged
    in: staged, the batch holds the row-wise mapper's records."""
    mapping = _two_identifiers(tmp_path) if scheme == "two identifiers" else _mapping(scheme=scheme)
    assert RowMapper(mapping).vector is not None
    rows = _raw_rows(person_rows(3000))
    header = list(PERSON_CSV_COLUMNS)
    frame = pl.DataFrame(
        {c: [r.values.get(c) for r in rows] for c in header},
        schema=dict.fromkeys(header, pl.String),
    )
    block = PlainBlock(1, frame, [r.raw.encode() for r in rows], header)
    got = map_block(RowMapper(mapping), block, OUT, columnar=True)
    assert isinstance(got.batch, PersonColumns) and 1500 < len(got.batch) < 2900
    staged = stage(got.batch)
    got.batch = staged.load()
    staged.discard()
    assert _snapshot(got) == _snapshot(map_chunk(_row_wise(mapping), rows, OUT))


def test_missing_columns_map_as_row_wise() -> None:
    """person-csv's columns are optional: a file without some maps the same both ways."""
    mapping = _mapping()
    kept = ("record_id", "family_name", "birth_date", "national_id")
    rows = _raw_rows([{c: r[c] for c in kept} for r in person_rows(500)])
    fast = map_chunk(RowMapper(mapping), rows, OUT)
    assert fast.batch is not None and len(fast.batch) > 300
    assert _snapshot(fast) == _snapshot(map_chunk(_row_wise(mapping), rows, OUT))


_CHARS = st.sampled_from(
    [*"aZ09 -.K/é'\"\\\t\n\x1f\x85\u00a0\u2003\u3000민ß", "\u200b", "\ufeff", "😀", "ǅ"]
)
_TEXT = st.text(_CHARS, max_size=12) | st.sampled_from(["", "Ana", "f", "m", "1990-01-02"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({c: _TEXT for c in PERSON_CSV_COLUMNS}), max_size=8))
def test_any_text_maps_as_row_wise(rows: list[dict[str, str]]) -> None:
    mapping = _mapping()
    raw = _raw_rows(rows)
    assert _snapshot(map_chunk(RowMapper(mapping), raw, OUT)) == _snapshot(
        map_chunk(_row_wise(mapping), raw, OUT)
    )


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(PERSON_CSV_COLUMNS)
        for r in rows:
            w.writerow([r[c] for c in PERSON_CSV_COLUMNS])
        f.write("P9999999,too,few,fields\n")


def _store(engine: Engine, agency: str) -> dict[str, list[Any]]:
    """What an agency's ingest left, without the ids and times that differ from run to run."""
    queries = {
        "versions": "SELECT source_record_id, entity_type, version, is_current, content_hash, "
        "superseded_at IS NULL, source_updated_on, {data} FROM source_record "
        "WHERE agency = :a ORDER BY source_record_id, version",
        "persons": "SELECT p.record_id, p.given_names, p.family_name, p.second_family_name, "
        "p.birth_date, p.sex, p.phone, p.email, p.address_line, p.locality, p.postcode, p.region, "
        "p.admin_area_code, p.country, p.source_updated_on, s.content_hash FROM person_record p "
        "JOIN source_record s ON s.id = p.source_record_pk WHERE p.agency = :a "
        "ORDER BY p.record_id",
        "identifiers": "SELECT p.record_id, i.scheme, i.value, i.verified, i.check_digit_ok "
        "FROM person_identifier i JOIN person_record p ON p.id = i.person_pk "
        "WHERE p.agency = :a ORDER BY p.record_id, i.id",
        "quarantine": "SELECT row_number, record_id, raw, {reasons}, reason_code, status "
        "FROM quarantine_row WHERE agency = :a ORDER BY row_number",
        "findings": "SELECT row_number, entity_type, record_id, field, code, message "
        "FROM ingest_finding WHERE agency = :a ORDER BY row_number, id",
        "batches": "SELECT rows_read, stored, unchanged, quarantined, {by_reason}, "
        "{findings}, status FROM ingest_batch WHERE agency = :a ORDER BY started_at",
    }
    pg = engine.dialect.name == "postgresql"
    cast = {
        "data": "data::text" if pg else "data",
        "reasons": "reasons::text" if pg else "reasons",
        "by_reason": "quarantined_by_reason::text" if pg else "quarantined_by_reason",
        "findings": "findings_by_reason::text" if pg else "findings_by_reason",
    }
    with engine.connect() as conn:
        return {
            k: [tuple(r) for r in conn.execute(text(q.format(**cast)), {"a": agency})]
            for k, q in queries.items()
        }


def test_ingest_leaves_the_same_store(
    engine: Engine,
    factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = person_rows(3000, seed=5)
    first, second = tmp_path / "p1.csv", tmp_path / "p2.csv"
    _write_csv(first, rows)
    changed = [dict(r) for r in rows]
    for r in changed[::50]:
        r["locality"] = "Temuco"  # a changed record: a new version
    _write_csv(second, changed)

    def load(agency: str, workers: int = 0) -> list[tuple[int, int, int, int]]:
        reports = [
            ingest(factory, _mapping(agency), p, chunk_rows=700, workers=workers)
            for p in (first, first, second)
        ]
        return [(r.rows_read, r.new_versions, r.unchanged, r.quarantined) for r in reports]

    columns_written: list[int] = []  # batches written straight from their columns
    direct = "_insert_new_persons" if engine.dialect.name == "sqlite" else "_copy_new_persons"
    original = getattr(RecordRepository, direct)

    def spy(self: RecordRepository, common: dict[str, Any], batch: Any) -> None:
        columns_written.append(len(batch))
        original(self, common, batch)

    monkeypatch.setattr(RecordRepository, direct, spy)
    fast = load("fast")
    assert len(columns_written) >= 3  # (a chunk with a record twice takes the general path)
    ahead = load("ahead", workers=1)  # read and mapped in plain blocks by another process
    monkeypatch.setattr(vector, "compile_person", lambda mapper: None)
    assert RowMapper(_mapping()).vector is None
    slow = load("slow")
    assert fast == slow == ahead
    assert fast[1][1] == 0  # the same file twice adds nothing
    assert fast[2][1] == 60  # the changed records, as new versions
    got, want, read_ahead = _store(engine, "fast"), _store(engine, "slow"), _store(engine, "ahead")
    for key in want:
        assert got[key] == want[key], key
        assert read_ahead[key] == want[key], key
    assert len(got["versions"]) > 2800 and got["quarantine"] and got["findings"]


def test_rows_with_problems_leave_no_reference_cycles() -> None:
    """A column-wise load makes few Python objects, so the cycle collector hardly ever runs:
    a problem kept with its traceback (a cycle through the frame that caught it) piled up in
    the read-ahead process, 150 MB over 2,000,000 rows."""
    mapper = RowMapper(_mapping())
    rows = _raw_rows(person_rows(400, seed=11))
    gc.collect()
    done = map_chunk(mapper, rows, OUT)
    assert done.quarantine and done.findings  # problems and flags were raised and kept
    del done
    assert gc.collect() == 0
