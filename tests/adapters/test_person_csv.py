from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nexo.adapters.person_csv import PERSON_CSV_COLUMNS, read_person_csv, write_person_csv
from nexo.adapters.service import ingest_file
from nexo.adapters.spec import load_mapping, resolve_mapping
from nexo.errors import MappingError, UsageError
from nexo.store.engine import transaction
from nexo.store.tables import PersonIdentifierRow, PersonRecordRow


def test_round_trip_ignores_unknown_columns(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "\ufeffrecord_id,given_name,family_name,birth_date,shoe_size\n1,Ana,Rojas,1990-01-02,38\n",
        encoding="utf-8",
    )
    rows = list(read_person_csv(path))
    assert rows == [
        {c: None for c in PERSON_CSV_COLUMNS}
        | {
            "record_id": "1",
            "given_name": "Ana",
            "family_name": "Rojas",
            "birth_date": "1990-01-02",
        }
    ]
    out = tmp_path / "out.csv"
    assert write_person_csv(out, rows) == 1
    assert list(read_person_csv(out)) == rows


def test_record_id_is_required(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("id,given_name\n1,Ana\n", encoding="utf-8")
    with pytest.raises(UsageError, match="no record_id column"):
        list(read_person_csv(path))


def test_builtin_mapping_ingests(factory: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    write_person_csv(
        path,
        [
            {
                "record_id": "1",
                "given_name": "Ana",
                "family_name": "Rojas",
                "sex": "f",
                "birth_date": "1990-01-02",
                "national_id": "12.345.678-5",
            },
            {"record_id": "2", "given_name": "Luis", "birth_date": "1990-02-30"},
        ],
    )
    mapping = load_mapping(
        resolve_mapping("person-csv"), {"agency": "municipality", "id_scheme": "cl-run"}
    )
    report = ingest_file(factory, mapping, path)
    assert (report.stored, report.quarantined) == (1, 1)
    assert report.quarantined_by_reason == {"invalid_date": 1}
    with transaction(factory) as s:
        person = s.scalars(select(PersonRecordRow)).one()
        assert (person.agency, person.source, person.sex) == (
            "municipality",
            "person-csv",
            "female",
        )
        assert s.scalars(select(PersonIdentifierRow.value)).all() == ["123456785"]


def test_builtin_mapping_takes_files_with_only_some_columns(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Every column but record_id is optional, in the file as in the format's description."""
    mapping = load_mapping(resolve_mapping("person-csv"), {"agency": "municipality"})
    some = tmp_path / "some.csv"
    some.write_text("record_id,family_name,birth_date\n7,Rojas,1990-01-02\n", encoding="utf-8")
    only = tmp_path / "only.csv"
    only.write_text("record_id\n8\n", encoding="utf-8")
    assert ingest_file(factory, mapping, some).stored == 1
    assert ingest_file(factory, mapping, only).stored == 1
    with transaction(factory) as s:
        rows = {r.record_id: r for r in s.scalars(select(PersonRecordRow))}
    assert (rows["7"].family_name, rows["7"].given_names) == ("Rojas", None)
    assert rows["8"].birth_date is None
    none = tmp_path / "none.csv"
    none.write_text("given_name\nAna\n", encoding="utf-8")
    with pytest.raises(MappingError, match="record_id"):
        ingest_file(factory, mapping, none)
