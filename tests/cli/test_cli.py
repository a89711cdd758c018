"""The CLI as a user meets it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cli_process import nexo


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["synth", "--persons", "-1"], "--persons must be at least 1"),
        (["synth", "--locale", "fr"], "unknown locale 'fr'"),
        (["synth", "--persons", "many"], "Invalid value for '--persons'"),
        (["synth", "--rate", "typo"], "is not NAME=VALUE"),
        (["demo", "--locale", "xx", "--no-serve"], "unknown locale 'xx'"),
        (["ingest", "--mapping", "missing.yaml", "x.csv"], "cannot read mapping"),
        (["frobnicate"], "No such command"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], says: str) -> None:
    result = nexo(*args, home=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert says in lines[0]
    assert lines[0].startswith("error:")


def test_unwritable_out_is_a_usage_error_and_leaves_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")  # a folder cannot be made inside a file, not even by root
    before = sorted(tmp_path.iterdir())
    result = nexo("synth", "--persons", "10", "--out", str(blocker / "out"), home=tmp_path)
    assert result.returncode == 2
    assert "cannot write" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(tmp_path.iterdir()) == before


def test_out_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    result = nexo("synth", "--persons", "10", "--out", str(target), home=tmp_path)
    assert result.returncode == 2 and "is a file" in result.stderr
    assert target.read_text() == "x"


def test_every_command_has_help(tmp_path: Path) -> None:
    for cmd in (
        ["--help"],
        ["synth", "--help"],
        ["ingest", "--help"],
        ["demo", "--help"],
        ["db", "--help"],
        ["db", "upgrade", "--help"],
        ["mapping", "check", "--help"],
    ):
        result = nexo(*cmd, home=tmp_path)
        assert result.returncode == 0, (cmd, result.stderr)
        assert "Usage" in result.stdout


def test_mapping_check_reports_line_numbers(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "nexo_mapping: 1\nname: x\nversion: '1'\nagency: Bad Agency\nsource: s\n"
        "format: {type: csv}\nrecord_id: ID\nentities:\n  - type: persn\n",
        encoding="utf-8",
    )
    result = nexo("mapping", "check", str(bad), home=tmp_path)
    assert result.returncode == 1
    assert "line 4: agency" in result.stderr
    assert "line 9: entities.0.type" in result.stderr


def test_example_mappings_check(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2] / "mappings" / "examples"
    for mapping in sorted(root.glob("*.yaml")):
        result = nexo("mapping", "check", str(mapping), home=tmp_path)
        assert result.returncode == 0, result.stderr


def test_synth_then_ingest_json(tmp_path: Path) -> None:
    out = tmp_path / "country"
    assert (
        nexo(
            "synth", "--persons", "300", "--seed", "4", "--out", str(out), home=tmp_path
        ).returncode
        == 0
    )
    mapping = Path(__file__).resolve().parents[2] / "mappings/examples/employment-episodes.yaml"
    result = nexo(
        "ingest",
        "--mapping",
        str(mapping),
        str(out / "employment/episodes.csv"),
        "--json",
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    import json

    report = json.loads(result.stdout)
    assert report["rows_read"] == report["stored"] + report["quarantined"] > 0
    assert isinstance(report["quarantined_by_reason"], dict)


def test_demo_end_to_end(tmp_path: Path) -> None:
    result = nexo("demo", "--persons", "1500", "--seed", "2", "--no-serve", home=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Nexo demo" in out and "population: 1,500 persons" in out
    assert "person records: employment" in out and "quarantined rows by reason" in out
    assert re.search(r"→ [1-9]\d* Member record\(s\); Nexo's reply signature verified", out)
    assert (tmp_path / "nexo.db").is_file()
    # a second run reuses the synthetic country and adds nothing to the store
    again = nexo("demo", "--persons", "1500", "--seed", "2", "--no-serve", home=tmp_path)
    assert again.returncode == 0 and "reused" in again.stdout


def test_db_upgrade_builds_indexes_a_killed_bulk_load_left_missing(tmp_path: Path) -> None:
    import sqlite3

    assert nexo("db", "upgrade", home=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "nexo.db") as conn:
        conn.execute("DROP INDEX ix_person_identifier_lookup")  # as a killed load leaves it
    done = nexo("db", "upgrade", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ix_person_identifier_lookup" in done.stdout
    with sqlite3.connect(tmp_path / "nexo.db") as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "ix_person_identifier_lookup" in names
