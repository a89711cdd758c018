"""``nexo quality`` as a user meets it: real processes, exit codes, files."""

from __future__ import annotations

import json
from pathlib import Path

from quality_factories import run

from cli_process import nexo

NAMES = ["Ana", "Berta", "Carla", "Diana", "Elena", "Fabiola", "Gloria", "Hilda", "Inés", "Julia"]


def _persons_csv(path: Path) -> None:
    lines = [
        "record_id,given_name,family_name,second_family_name,birth_date,sex,national_id,"
        "address,postcode,locality,region"
    ]
    for i, name in enumerate(NAMES):
        nid = "" if i < 2 else run(str(20_000_000 + i))  # 2 of 10 without identifier: 80%
        lines.append(f"S{i},{name},Rojas,,1980-01-{i + 1:02d},female,{nid},Calle {i},,Lota,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_run_report_gate_and_correct(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _persons_csv(tmp_path / "p.csv")
    ingest = nexo(
        "ingest",
        "--mapping",
        "person-csv",
        "--param",
        "agency=social",
        "--param",
        "id_scheme=cl-run",
        str(tmp_path / "p.csv"),
        home=home,
    )
    assert ingest.returncode == 0, ingest.stderr

    result = nexo("quality", "run", "--as-of", "2026-06-30", home=home)
    assert result.returncode == 0, result.stderr
    assert "person.national_id.required social/person-csv 80.0% (2 records)" in result.stdout

    gate = nexo("quality", "gate", "--agency", "social", home=home)
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "FAIL rule person.national_id.required: 80.00% < 90.00%" in gate.stdout
    assert "social is not ready" in gate.stdout

    report = nexo("quality", "report", "--format", "json", home=home)
    doc = json.loads(report.stdout)
    failing = next(s for s in doc["scores"] if s["rule_id"] == "person.national_id.required")
    assert [f["record_id"] for f in failing["failures"]] == ["S0", "S1"]
    html = nexo("quality", "report", "--out", str(tmp_path / "q.html"), home=home)
    assert html.returncode == 0 and (tmp_path / "q.html").read_text().startswith("<!DOCTYPE html>")
    bad_format = nexo("quality", "report", "--format", "pdf", home=home)
    assert bad_format.returncode == 2 and "use html, json or csv" in bad_format.stderr

    reported = nexo(
        "quality",
        "correction",
        "report",
        "--agency",
        "social",
        "--source",
        "person-csv",
        "--entity",
        "person",
        "--record",
        "S0",
        "--field",
        "birth_date",
        "--value",
        "1980-02-01",
        "--reason",
        "civil registry says so",
        "--reporter",
        "ana",
        "--role",
        "caseworker",
        home=home,
    )
    assert reported.returncode == 0, reported.stderr
    review = nexo(
        "quality", "correction", "review", "1", "--accept", "--steward", "luis", home=home
    )
    assert review.returncode == 0, review.stderr
    assert "version 2 of the record written (batch correction-1)" in review.stdout
    again = nexo(
        "quality",
        "correction",
        "review",
        "1",
        "--reject",
        "--steward",
        "eva",
        "--note",
        "no",
        home=home,
    )
    assert again.returncode == 1 and "already accepted" in again.stderr


def test_gate_without_a_run_says_what_to_do(tmp_path: Path) -> None:
    result = nexo("quality", "gate", "--agency", "social", home=tmp_path)
    assert result.returncode == 1
    assert "no quality run yet" in result.stderr and "nexo quality run" in result.stderr
