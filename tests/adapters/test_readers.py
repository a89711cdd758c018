"""Every source format, read into the store: what is stored, what is quarantined and why."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from adapter_helpers import PEOPLE, PG_URL, column, count, person_mapping
from sqlalchemy.orm import Session, sessionmaker

from nexo.adapters.repository import QuarantineRepository
from nexo.adapters.service import ingest, ingest_file
from nexo.store.engine import transaction
from nexo.store.tables import PersonIdentifierRow, PersonRecordRow

CSV_HEADER = "ID,GIVEN,FAMILY,BIRTH,NAT\n"


def _csv(rows: list[dict[str, str]]) -> str:
    return CSV_HEADER + "".join(",".join(r.values()) + "\n" for r in rows)


def _quarantine(factory: sessionmaker[Session]) -> list[tuple[int, str, str]]:
    with transaction(factory) as s:
        rows = QuarantineRepository(s).list(limit=1000)
        return [(r.row_number, r.reason_code, r.raw) for r in rows]


# ------------------------------------------------------------------ CSV


def test_tsv_in_utf16_with_bom(factory: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "people.tsv"
    text = "\t".join(CSV_HEADER.strip().split(",")) + "\r\n"
    text += "".join("\t".join(r.values()) + "\r\n" for r in PEOPLE)
    path.write_bytes(text.encode("utf-16"))  # with its byte-order mark, as Excel writes it
    mapping = person_mapping(tmp_path, {"type": "csv", "delimiter": "\t", "encoding": "utf-16"})
    report = ingest_file(factory, mapping, path)
    assert (report.rows_read, report.stored, report.quarantined) == (3, 2, 1)
    assert report.quarantined_by_reason == {"invalid_date": 1}
    assert column(factory, PersonRecordRow.family_name) == ["Núñez", "Rojas"]


def test_csv_rows_that_cannot_be_split_keep_their_raw_text(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    good = _csv(PEOPLE[:2]).encode()
    lines = [
        b'P4,"Calle 1\nDepto 2",Soto,1970-05-05,\n',  # a quoted line break: one record
        b"P5,J\xe9r\xf4me,Soto,1970-05-05,\n",  # Latin-1 bytes in a UTF-8 file
        b"P6,Ana\x00,Soto,1970-05-05,\n",  # a NUL byte
        b"P7,Ana,Soto\n",  # too few fields
    ]
    path = tmp_path / "people.csv"
    path.write_bytes(good + b"".join(lines))
    report = ingest_file(factory, person_mapping(tmp_path, {"type": "csv"}), path)
    assert report.rows_read == 6 and report.stored == 3
    assert report.quarantined_by_reason == {"encoding_error": 1, "parse_error": 1, "field_count": 1}
    quarantined = _quarantine(factory)
    assert [(n, code) for n, code, _ in quarantined] == [
        (4, "encoding_error"),
        (5, "parse_error"),
        (6, "field_count"),
    ]
    assert quarantined[0][2] == "P5,J\ufffdr\ufffdme,Soto,1970-05-05,\n"
    assert "Calle 1 Depto 2" in column(factory, PersonRecordRow.given_names)  # collapse_spaces


def test_an_unbalanced_quote_spoils_one_line_not_the_rest(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    rows = [f"P{i},Ana,Rojas,1990-01-0{i % 9 + 1},\n" for i in range(1, 9)]
    rows[1] = 'P2,"Luis,Rojas,1990-01-03,\n'  # the quote never closes
    path = tmp_path / "people.csv"
    path.write_text(CSV_HEADER + "".join(rows), encoding="utf-8")
    mapping = person_mapping(tmp_path, {"type": "csv", "max_record_lines": 3})
    report = ingest_file(factory, mapping, path)
    assert report.quarantined_by_reason == {"unbalanced_quote": 1}
    assert report.stored == 7 and report.rows_read == 8
    assert _quarantine(factory)[0][2] == rows[1]


# ------------------------------------------------------------------ fixed width, EBCDIC


def test_ebcdic_fixed_length_records(factory: sessionmaker[Session], tmp_path: Path) -> None:
    layout = [
        ("ID", 1, 4),
        ("GIVEN", 5, 12),
        ("FAMILY", 17, 12),
        ("BIRTH", 29, 10),
        ("NAT", 39, 12),
    ]
    fmt = {
        "type": "fixed_width",
        "encoding": "cp037",
        "columns": [{"name": n, "start": s, "width": w} for n, s, w in layout],
    }
    records = [
        "P1  " + "José".ljust(12) + "Muñoz".ljust(12) + "1990-01-02" + "12345678-5  ",
        "P2  " + "Inés".ljust(12) + "Peña".ljust(12) + "1985-12-31" + "7654321-6   ",
    ]
    data = b"".join(r.encode("cp037") for r in records) + records[0][:20].encode("cp037")
    assert b"\n" not in data  # mainframe records have no line ends
    path = tmp_path / "people.ebc"
    path.write_bytes(data)
    mapping = person_mapping(tmp_path, fmt)
    report = ingest_file(factory, mapping, path)
    assert (report.stored, report.quarantined_by_reason) == (2, {"record_length": 1})
    assert column(factory, PersonRecordRow.family_name) == ["Muñoz", "Peña"]
    assert column(factory, PersonIdentifierRow.value) == ["123456785", "76543216"]


def _packed(value: int, size: int) -> bytes:
    """``value`` as COMP-3: its digits, two a byte, then the sign half-byte (C or D)."""
    digits = str(abs(value)).rjust(size * 2 - 1, "0")
    return bytes.fromhex(digits + ("d" if value < 0 else "c"))


def test_unpack_decimal() -> None:
    from nexo.adapters.readers.fixed_width import unpack_decimal

    assert unpack_decimal(bytes.fromhex("12345c"), 2) == "123.45"
    assert unpack_decimal(bytes.fromhex("00123d")) == "-123"
    assert unpack_decimal(bytes.fromhex("00001f"), 3) == "0.001"
    assert unpack_decimal(bytes.fromhex("000d"), 1) == "0.0"  # no negative zero
    for bad, says in (("1a2c", "digit"), ("1234", "sign")):
        with pytest.raises(ValueError, match=says):
            unpack_decimal(bytes.fromhex(bad))


def test_packed_decimal_fields_in_ebcdic_records(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """A wage in COMP-3 (4 bytes, 2 decimals) after the text fields of an EBCDIC record; its
    bytes may be NUL or the code of a line end, and a bad one quarantines its row only."""
    from nexo.adapters.readers import ReadInfo
    from nexo.adapters.readers.fixed_width import read_fixed_width, reparse_fixed_width
    from nexo.adapters.spec import FixedWidthFormat

    layout = [("ID", 1, 4), ("GIVEN", 5, 12), ("FAMILY", 17, 12), ("BIRTH", 29, 10),
              ("NAT", 39, 12)]  # fmt: skip
    spec = {
        "type": "fixed_width",
        "encoding": "cp037",
        "columns": [{"name": n, "start": s, "width": w} for n, s, w in layout]
        + [{"name": "WAGE", "start": 51, "width": 4, "type": "packed", "scale": 2}],
    }
    text = "P1  " + "José".ljust(12) + "Muñoz".ljust(12) + "1990-01-02" + "12345678-5  "
    wages = [123456, -10, 5, None]  # None: not packed decimal
    data = b"".join(
        text.replace("P1", f"P{k}").encode("cp037")
        + (_packed(w, 4) if w is not None else b"\x12\x34\x56\x78")
        for k, w in enumerate(wages)
    )
    assert b"\x00" in data and b"\x0d" in data  # NUL, and CR (cp037) ending a field
    path = tmp_path / "wages.ebc"
    path.write_bytes(data)
    fmt = FixedWidthFormat.model_validate(spec)
    rows = list(read_fixed_width(path, fmt, [], ReadInfo()))
    assert [r.values.get("WAGE") for r in rows] == ["1234.56", "-0.10", "0.05", None]
    assert rows[0].values["FAMILY"].strip() == "Muñoz"
    assert rows[3].problem == ("parse_error", "column WAGE: not packed decimal "
                               "(12345678: its sign half-byte is wrong)")  # fmt: skip

    report = ingest_file(factory, person_mapping(tmp_path, spec), path)
    assert (report.stored, report.quarantined_by_reason) == (3, {"parse_error": 1})
    # the raw text kept for a row reads back to the same values (for quarantine retry), NUL
    # bytes included (the store shows them as ␀)
    from nexo.adapters.readers.base import store_safe

    again = reparse_fixed_width(store_safe(rows[1].raw), fmt, [], None)
    assert again.problem is None and again.values == rows[1].values


def test_packed_fields_need_records_of_bytes() -> None:
    from pydantic import ValidationError

    from nexo.adapters.spec import FixedWidthFormat

    packed = {"name": "WAGE", "start": 1, "width": 4, "type": "packed"}
    for encoding, length in (("utf-8", 4), ("latin-1", None), ("cp1252", 4)):
        with pytest.raises(ValidationError, match="packed column"):
            FixedWidthFormat.model_validate(
                {"type": "fixed_width", "encoding": encoding, "columns": [packed],
                 "record_length": length}
            )  # fmt: skip
    fmt = {"type": "fixed_width", "encoding": "latin-1", "columns": [packed], "record_length": 4}
    assert FixedWidthFormat.model_validate(fmt).columns[0].type == "packed"


# ------------------------------------------------------------------ JSON and NDJSON

JSON_COLS = {"ID": "id", "GIVEN": "name.given", "FAMILY": "name.family", "BIRTH": "born",
             "NAT": "ids.0.value"}  # fmt: skip


def _json_records() -> list[object]:
    return [
        {"id": p["ID"], "name": {"given": p["GIVEN"], "family": p["FAMILY"]}, "born": p["BIRTH"],
         "ids": [{"scheme": "cl-run", "value": p["NAT"]}]}
        for p in PEOPLE
    ]  # fmt: skip


def test_json_records_at_a_path(factory: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    doc = {"meta": {"count": 4}, "data": {"persons": [*_json_records(), 42]}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    mapping = person_mapping(tmp_path, {"type": "json", "record_path": "data.persons"}, JSON_COLS)
    report = ingest_file(factory, mapping, path)
    assert report.rows_read == 4 and report.stored == 2
    assert report.quarantined_by_reason == {"invalid_date": 1, "parse_error": 1}
    assert column(factory, PersonIdentifierRow.value) == ["123456785", "76543216"]


def test_malformed_json_keeps_what_came_before(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    text = json.dumps(_json_records()[:2], ensure_ascii=False)
    path = tmp_path / "people.json"
    path.write_text(text[:-1] + ', {"id": "P9", "name": tru', encoding="utf-8")  # cut short
    report = ingest_file(factory, person_mapping(tmp_path, {"type": "json"}, JSON_COLS), path)
    assert report.stored == 2
    assert report.quarantined_by_reason == {"malformed_json": 1}
    assert '"id": "P9"' in _quarantine(factory)[0][2]


def test_an_empty_xml_export_is_one_quarantined_row_that_says_so(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "people.xml"
    path.write_bytes(b"")
    fmt = {"type": "xml", "record_path": "person"}
    report = ingest_file(factory, person_mapping(tmp_path, fmt, {"ID": "@id"}), path)
    assert (report.rows_read, report.stored, report.quarantined) == (1, 0, 1)
    with transaction(factory) as s:
        [row] = QuarantineRepository(s).list(limit=10)
    assert row.reason_code == "malformed_xml" and "document is empty" in row.reasons[0]["message"]


def test_ndjson_line_by_line(factory: sessionmaker[Session], tmp_path: Path) -> None:
    lines = [json.dumps({"person": r}, ensure_ascii=False).encode() for r in _json_records()]
    lines += [b"{not json}", b'{"person": [1, 2]}', b'{"person": {"id": "\xff"}}', b""]
    path = tmp_path / "people.ndjson"
    path.write_bytes(b"\n".join(lines))
    mapping = person_mapping(tmp_path, {"type": "ndjson", "record_path": "person"}, JSON_COLS)
    report = ingest_file(factory, mapping, path)
    assert report.rows_read == 6 and report.stored == 2
    assert report.quarantined_by_reason == {
        "invalid_date": 1,
        "parse_error": 2,
        "encoding_error": 1,
    }


# ------------------------------------------------------------------ Excel


def test_xlsx_values_become_text(factory: sessionmaker[Session], tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "notes"
    sheet = book.create_sheet("persons")
    sheet.append(["ID", "GIVEN", "FAMILY", "BIRTH", "NAT"])
    sheet.append([101, "Ana", "Rojas", dt.datetime(1990, 1, 2), "12345678-5"])  # noqa: DTZ001
    sheet.append([])
    sheet.append([102.0, "Luis", "Soto", dt.date(1985, 12, 31), None])
    sheet.append([103, "Eva", "Vera", "1970-01-01", None, "an extra cell"])
    path = tmp_path / "people.xlsx"
    book.save(path)
    mapping = person_mapping(tmp_path, {"type": "xlsx", "sheet": "persons"})
    report = ingest_file(factory, mapping, path)
    assert (report.rows_read, report.stored) == (3, 2)
    assert report.quarantined_by_reason == {"field_count": 1}
    assert column(factory, PersonRecordRow.record_id) == ["101", "102"]
    assert column(factory, PersonRecordRow.birth_date) == [
        dt.date(1985, 12, 31),
        dt.date(1990, 1, 2),
    ]


def test_a_damaged_workbook_is_quarantined_not_a_crash(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "people.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a workbook")
    report = ingest_file(factory, person_mapping(tmp_path, {"type": "xlsx"}), path)
    assert (report.rows_read, report.quarantined, report.stored) == (1, 1, 0)
    assert report.quarantined_by_reason == {"unreadable_input": 1}


# ------------------------------------------------------------------ Parquet


def test_parquet_in_batches_with_struct_fields(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 25
    table = pa.table(
        {
            "ID": [f"P{i}" for i in range(n)],
            "name": [{"given": "Ana", "family": f"Rojas{i}"} for i in range(n)],
            "BIRTH": [dt.date(1990, 1, 1) + dt.timedelta(days=i) for i in range(n)],
            "NAT": [None] * n,
        }
    )
    path = tmp_path / "people.parquet"
    pq.write_table(table, path, row_group_size=10)
    cols = {"GIVEN": "name.given", "FAMILY": "name.family"}
    mapping = person_mapping(tmp_path, {"type": "parquet", "batch_rows": 7}, cols)
    report = ingest_file(factory, mapping, path)
    assert (report.rows_read, report.stored, report.quarantined) == (n, n, 0)
    assert (
        count(factory, PersonRecordRow, family_name="Rojas24", birth_date=dt.date(1990, 1, 25)) == 1
    )


def test_a_damaged_parquet_file_is_quarantined(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "people.parquet"
    path.write_bytes(b"PAR1 not really PAR1")
    report = ingest_file(factory, person_mapping(tmp_path, {"type": "parquet"}), path)
    assert report.quarantined_by_reason == {"unreadable_input": 1}


# ------------------------------------------------------------------ SQL


def _sql_mapping(tmp_path: Path) -> object:
    query = 'SELECT "ID", "GIVEN", "FAMILY", "BIRTH", "NAT" FROM persons ORDER BY "ID"'
    return person_mapping(tmp_path, {"type": "sql", "query": query, "batch_rows": 2})


def _fill(conn: object, date_type: str) -> None:
    from sqlalchemy import text

    conn.execute(  # type: ignore[attr-defined]
        text(
            'CREATE TABLE persons ("ID" VARCHAR(10), "GIVEN" VARCHAR(50), "FAMILY" VARCHAR(50), '
            f'"BIRTH" {date_type}, "NAT" VARCHAR(20))'
        )
    )
    for p in PEOPLE[:2]:
        conn.execute(  # type: ignore[attr-defined]
            text("INSERT INTO persons VALUES (:i, :g, :f, :b, :n)"),
            {"i": p["ID"], "g": p["GIVEN"], "f": p["FAMILY"],
             "b": dt.date.fromisoformat(p["BIRTH"]), "n": p["NAT"]},
        )  # fmt: skip
    conn.execute(  # type: ignore[attr-defined]
        text("INSERT INTO persons VALUES ('P3', 'Eva', 'Vera', NULL, '1-1')")
    )


def test_sql_query_against_sqlite(factory: sessionmaker[Session], tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    url = f"sqlite:///{tmp_path / 'agency.db'}"
    with create_engine(url).begin() as conn:
        _fill(conn, "DATE")
    report = ingest(factory, _sql_mapping(tmp_path), url)  # type: ignore[arg-type]
    assert (report.rows_read, report.stored, report.quarantined) == (3, 3, 0)
    assert report.input == url
    again = ingest(factory, _sql_mapping(tmp_path), url)  # type: ignore[arg-type]
    assert (again.new_versions, again.unchanged) == (0, 3)


@pytest.mark.postgres
def test_sql_query_against_postgresql(factory: sessionmaker[Session], tmp_path: Path) -> None:
    import uuid

    from sqlalchemy import text

    from nexo.store.engine import make_engine

    schema = f"agency_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            conn.execute(text(f'SET search_path TO "{schema}"'))
            _fill(conn, "DATE")
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        report = ingest(factory, _sql_mapping(tmp_path), url)  # type: ignore[arg-type]
        assert (report.rows_read, report.stored) == (3, 3)
        assert column(factory, PersonRecordRow.birth_date)[:2] == [
            dt.date(1985, 12, 31),
            dt.date(1990, 1, 2),
        ]
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_sql_query_against_mariadb(factory: sessionmaker[Session], tmp_path: Path) -> None:
    import uuid

    pymysql = pytest.importorskip("pymysql")
    from sqlalchemy import create_engine, text

    try:
        server = pymysql.connect(host="127.0.0.1", port=3306, user="root")
    except pymysql.err.OperationalError as e:
        pytest.skip(f"MariaDB is not reachable on 127.0.0.1:3306: {e}")
    name = f"nexo_{uuid.uuid4().hex[:8]}"
    with server.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    url = f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
    try:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("SET SESSION sql_mode = 'ANSI_QUOTES'"))
            _fill(conn, "DATE")
        engine.dispose()
        query = "SELECT ID, GIVEN, FAMILY, BIRTH, NAT FROM persons ORDER BY ID"
        mapping = person_mapping(tmp_path, {"type": "sql", "query": query, "batch_rows": 2})
        report = ingest(factory, mapping, url)
        assert (report.rows_read, report.stored) == (3, 3)
        assert "Núñez" in column(factory, PersonRecordRow.family_name)
    finally:
        with server.cursor() as cur:
            cur.execute(f"DROP DATABASE {name}")
        server.close()


def test_a_bad_query_is_a_terminal_error(factory: sessionmaker[Session], tmp_path: Path) -> None:
    from nexo.errors import TerminalError

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(TerminalError, match="no such table"):
        ingest(factory, _sql_mapping(tmp_path), url)  # type: ignore[arg-type]
