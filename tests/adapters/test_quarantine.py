"""Working the quarantine: export, correct, retry after the mapping or the data is fixed."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cli_process import nexo
from nexo.adapters import quarantine as q
from nexo.adapters.service import ingest_file
from nexo.adapters.spec import Mapping, load_mapping
from nexo.adapters.tables import IngestBatchRow, QuarantineRow
from nexo.errors import UsageError
from nexo.store.engine import transaction
from nexo.store.tables import PersonRecordRow, SourceRecordRow

DATA = (
    "ID,GIVEN,FAMILY,BIRTH,SEX\n"
    "1,Ana,Rojas,1990-01-02,F\n"
    "2,Luis,Soto,1990-02-30,M\n"  # no such date
    "3,Eva,Vera,1970-01-01,X\n"  # a sex code the first mapping does not know
    "4,Ema,Lagos,1970-01-01\n"  # a field missing
)


def _mapping(tmp_path: Path, sexes: dict[str, str]) -> Mapping:
    spec = {
        "name": "people", "version": "1", "agency": "social", "source": "people",
        "format": {"type": "csv"}, "record_id": "ID",
        "code_lists": {"sex": sexes},
        "entities": [{"type": "person", "fields": {
            "given_names": "GIVEN", "family_name": "FAMILY",
            "birth_date": {"from": "BIRTH", "steps": [{"date": "%Y-%m-%d"}]},
            "sex": {"from": "SEX", "steps": [{"code_list": "sex"}]}}}],
    }  # fmt: skip
    path = tmp_path / f"people-{len(sexes)}.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return load_mapping(path)


def _open(factory: sessionmaker[Session]) -> dict[str, str]:
    """record id → first reason of the open rows."""
    with transaction(factory) as s:
        rows = q.page(s, q.Filter(), None, 100)
        return {r.record_id or "?": r.reason_code for r in rows}


def test_fix_the_mapping_then_the_data_then_retry(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(DATA, encoding="utf-8")
    first = _mapping(tmp_path, {"F": "female", "M": "male"})
    report = ingest_file(factory, first, path)
    assert report.stored == 1
    assert _open(factory) == {"2": "invalid_date", "3": "unknown_code", "4": "field_count"}

    # the export carries the raw text and every reason
    out = io.StringIO()
    assert q.export_rows(factory, out, q.Filter(), "csv") == 3
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert exported[0]["raw"] == "2,Luis,Soto,1990-02-30,M\n"
    assert "'1990-02-30' is not a date" in exported[0]["reasons"]
    out = io.StringIO()
    q.export_rows(factory, out, q.Filter(reason="field_count"), "json")
    assert [r["raw"] for r in json.loads(out.getvalue())] == ["4,Ema,Lagos,1970-01-01\n"]

    # the mapping learns the code X: that row now passes, the others stay open
    fixed = _mapping(tmp_path, {"F": "female", "M": "male", "X": "other"})
    retried = q.retry(factory, fixed, q.Filter())
    assert (retried.retried, retried.resolved, retried.still_open) == (3, 1, 2)
    assert retried.still_open_by_reason == {"invalid_date": 1, "field_count": 1}
    assert _open(factory) == {"2": "invalid_date", "4": "field_count"}

    # a steward corrects the data; the text as it came in is kept
    with transaction(factory) as s:
        ids = {r.record_id: r.id for r in q.page(s, q.Filter(), None, 10)}
        q.edit_row(s, ids["2"], values={"BIRTH": "1990-02-28"}, mapping=fixed)
        q.edit_row(s, ids["4"], raw="4,Ema,Lagos,1970-01-01,F\n")
        with pytest.raises(UsageError, match="no column SHOE"):
            q.edit_row(s, ids["2"], values={"SHOE": "42"}, mapping=fixed)
    again = q.retry(factory, fixed, q.Filter())
    assert (again.resolved, again.still_open) == (2, 0)
    assert _open(factory) == {}

    with transaction(factory) as s:
        row = s.scalars(select(QuarantineRow).where(QuarantineRow.record_id == "2")).one()
        assert (row.status, row.raw_original) == ("resolved", "2,Luis,Soto,1990-02-30,M\n")
        assert row.raw == "2,Luis,Soto,1990-02-28,M\n"
        persons = s.scalars(select(PersonRecordRow).order_by(PersonRecordRow.record_id)).all()
        assert [(p.record_id, p.sex) for p in persons] == [
            ("1", "female"), ("2", "male"), ("3", "other"), ("4", "female")
        ]  # fmt: skip
        # the retried records say where they came from: a retry batch of the fixed mapping
        batch = s.scalar(
            select(SourceRecordRow.batch_id).where(SourceRecordRow.source_record_id == "3")
        )
        retry_batch = s.get(IngestBatchRow, batch)
        assert retry_batch is not None
        assert (retry_batch.input_name, retry_batch.mapping_version) == (
            "quarantine retry",
            fixed.version,
        )


def test_retry_only_touches_the_mappings_source(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(DATA, encoding="utf-8")
    ingest_file(factory, _mapping(tmp_path, {"F": "female"}), path)
    other = yaml.safe_load((tmp_path / "people-1.yaml").read_text())
    other["source"] = "others"
    (tmp_path / "others.yaml").write_text(yaml.safe_dump(other), encoding="utf-8")
    report = q.retry(factory, load_mapping(tmp_path / "others.yaml"), q.Filter())
    assert report.retried == 0
    with transaction(factory) as s, pytest.raises(UsageError, match="comes from social/people"):
        row_id = q.page(s, q.Filter(), None, 1)[0].id
        q.edit_row(s, row_id, values={"SEX": "F"}, mapping=load_mapping(tmp_path / "others.yaml"))


def test_quarantine_commands(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(DATA, encoding="utf-8")
    _mapping(tmp_path, {"F": "female", "M": "male"})
    mapping = str(tmp_path / "people-2.yaml")
    assert nexo("ingest", "-m", mapping, str(path), home=tmp_path).returncode == 0

    listed = nexo("quarantine", "list", home=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "invalid_date" in listed.stdout and "3 shown of 3 open rows" in listed.stdout
    shown = json.loads(nexo("quarantine", "show", "1", "--json", home=tmp_path).stdout)
    assert shown["raw"] == "2,Luis,Soto,1990-02-30,M\n"

    exported = tmp_path / "q.json"
    result = nexo("quarantine", "export", "--format", "json", "-o", str(exported), home=tmp_path)
    assert result.returncode == 0 and len(json.loads(exported.read_text())) == 3

    edit = nexo(
        "quarantine", "edit", "1", "--set", "BIRTH=1990-02-28", "-m", mapping, home=tmp_path
    )
    assert edit.returncode == 0, edit.stderr
    retry = nexo("quarantine", "retry", "-m", mapping, "--id", "1", "--json", home=tmp_path)
    assert json.loads(retry.stdout)["resolved"] == 1

    missing = nexo("quarantine", "show", "99", home=tmp_path)
    assert missing.returncode == 1 and "no quarantined row 99" in missing.stderr
    bad = nexo("quarantine", "list", "--status", "gone", home=tmp_path)
    assert bad.returncode == 2 and "--status 'gone'" in bad.stderr
