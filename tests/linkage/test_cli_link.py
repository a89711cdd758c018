"""``nexo link`` as a user meets it: real processes, files in and out."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

from cli_process import nexo as run_nexo

PEOPLE = """record_id,source,given_name,family_name,second_family_name,birth_date,sex,national_id,address,postcode,locality,region
1,employment,María José,González,Muñoz,1984-03-09,female,12.345.678-5,Calle Esmeralda 12,2340000,Valparaíso,Valparaíso
2,employment,Maria Jose,Gonzalez,Munoz,1984-09-03,F,,Calle Esmeralda 12,2340000,Valparaíso,Valparaíso
3,employment,Pedro,Soto,Lillo,1950-02-02,male,6.123.456-0,Los Pinos 3,,Chillán,Ñuble
4,employment,Soto,Pedro,Lillo,1950-02-02,male,,Los Pinos 3,,Chillán,Ñuble
5,employment,Ana,Vera,Soto,2010-05-06,female,,Pedro Montt 1831,,Talca,Maule
6,employment,Sofía,Vera,Soto,2010-05-06,female,,Pedro Montt 1831,,Talca,Maule
7,employment,José Luis,Rojas,Pérez,1985-07-09,male,15.998.877-6,Los Olmos 45,,Santiago,RM
"""  # noqa: E501
SOCIAL = (
    (
        "record_id,source,given_name,family_name,second_family_name,birth_date,sex,national_id,"
        "address\n"
    )
    + """B1,social,José Luis,Rojas,Perez,1985-07-09,m,15998877-6,Pasaje Los Olmos 45
B2,social,Ana,Vera,Soto,2010-05-06,f,,Pedro Montt 1831
"""
)


def nexo(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return run_nexo(*args, home=home, env={"NEXO_LINKAGE__U_MAX_PAIRS": "200000"})


def _clusters(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["record_id", "source", "person_id", "match_probability"]
    return {f"{r['source']}/{r['record_id']}": r["person_id"] for r in rows}


def test_link_file_dedupes_one_file_with_known_answers(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE, encoding="utf-8")
    out = tmp_path / "clusters.csv"
    done = nexo("link", "file", str(people), "--out", str(out), "--id-scheme", "cl-run",
                home=tmp_path / "home")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "7 records, 5 persons" in done.stdout
    p = _clusters(out)
    assert p["employment/1"] == p["employment/2"]  # accents, transposed birth date
    assert p["employment/3"] == p["employment/4"]  # given and family names swapped
    assert p["employment/5"] != p["employment/6"]  # twins
    assert len({p["employment/1"], p["employment/3"], p["employment/5"], p["employment/7"]}) == 4
    assert not (tmp_path / "home" / "nexo.db").exists()  # no store involved


def test_link_file_links_two_files(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(PEOPLE, encoding="utf-8")
    (tmp_path / "b.csv").write_text(SOCIAL, encoding="utf-8")
    out = tmp_path / "clusters.csv"
    done = nexo("link", "file", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--out",
                str(out), "--id-scheme", "cl-run", home=tmp_path / "home")  # fmt: skip
    assert done.returncode == 0, done.stderr
    p = _clusters(out)
    assert p["social/B1"] == p["employment/7"]
    assert p["social/B2"] in {p["employment/5"], p["employment/6"]}
    assert p["employment/5"] != p["employment/6"]


def test_link_file_says_what_is_wrong_with_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("record_id,given_name\n1,Ana\n1,Eva\n", encoding="utf-8")
    done = nexo("link", "file", str(bad), "--out", str(tmp_path / "o.csv"), home=tmp_path)
    assert done.returncode == 2 and "appears twice" in done.stderr
    done = nexo("link", "file", str(tmp_path / "none.csv"), "--out", "o.csv", home=tmp_path)
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_run_status_export_evaluate_review_on_a_synthetic_country(
    tmp_path: Path, country: Path
) -> None:
    home = tmp_path / "home"
    for mapping, data in (
        ("employment-jobseekers", "employment/jobseekers.csv"),
        ("social-beneficiaries", "social/beneficiaries.dat"),
    ):
        root = Path(__file__).resolve().parents[2] / "mappings" / "examples"
        done = nexo("ingest", "--mapping", str(root / f"{mapping}.yaml"), str(country / data),
                    home=home)  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert "no linkage run yet" in nexo("link", "status", home=home).stdout
    truth = country / "truth" / "persons.csv"
    done = nexo("link", "run", "--json", "--truth", str(truth), "--save-model",
                str(tmp_path / "model.json"), home=home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["accuracy"]["f1"] >= 0.99 and summary["persons"] > 0
    assert json.loads((tmp_path / "model.json").read_text())["comparisons"]
    status = json.loads(nexo("link", "status", "--json", home=home).stdout)
    assert status["persons"]["active"] == summary["persons"]
    out = tmp_path / "links.csv"
    assert nexo("link", "export", "--format", "csv", "--out", str(out), home=home).returncode == 0
    with out.open(encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header == ["agency", "source", "source_record_id", "person_id", "match_probability"]
    done = nexo("link", "evaluate", "--truth", str(truth), "--json", home=home)
    assert json.loads(done.stdout)["f1"] == summary["accuracy"]["f1"]
    assert nexo("link", "review", home=home).returncode == 0
    bad = nexo("link", "review", "--accept", "999999", "--by", "me", home=home)
    assert bad.returncode == 1 and "no review item 999999" in bad.stderr
