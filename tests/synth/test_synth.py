"""The synthetic country: deterministic, truthful about its errors, in each agency's format."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from nexo.errors import UsageError
from nexo.model.identifier import IdentifierScheme, is_valid_identifier
from nexo.synth.domain import ErrorClass, SynthConfig
from nexo.synth.locale import LOCALES, locale_data
from nexo.synth.service import generate
from nexo.synth.writers import BENEFICIARY_LAYOUT, XML_NAMESPACE


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _read_truth(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / "truth" / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    config = SynthConfig(persons=800, seed=5, locale="cl")
    generate(config, tmp_path / "a")
    generate(config, tmp_path / "b")
    generate(SynthConfig(persons=800, seed=6, locale="cl"), tmp_path / "c")
    a, b, c = (_digests(tmp_path / x) for x in "abc")
    assert a == b
    assert a["employment/jobseekers.csv"] != c["employment/jobseekers.csv"]


@pytest.mark.parametrize("locale", LOCALES)
def test_each_locale_writes_legacy_formats(tmp_path: Path, locale: str) -> None:
    out = tmp_path / locale
    result = generate(SynthConfig(persons=600, seed=2, locale=locale), out)
    loc = locale_data(locale)
    raw = (out / "employment" / "jobseekers.csv").read_bytes()
    text = raw.decode(loc.encoding)  # the agency's legacy encoding, not UTF-8
    header, first = text.split("\r\n")[:2]
    assert header.startswith("ID_CLIENT;NAT_ID;")
    cells = first.split(";")
    day, month, year = cells[6].split("/")  # DD/MM/YYYY
    assert len(year) == 4 and 1 <= int(month) <= 12
    width = sum(w for _, w in BENEFICIARY_LAYOUT)
    lines = (out / "social" / "beneficiaries.dat").read_bytes().decode(loc.encoding).splitlines()
    assert lines and all(len(line) == width for line in lines)
    assert {line[137] for line in lines} <= {"1", "2", "9"}  # numeric sex codes
    tree = etree.parse(str(out / "social" / "benefit_events.xml"))
    events = tree.findall(f"{{{XML_NAMESPACE}}}event")
    assert len(events) == result.counts["benefit_events"] > 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["locale"] == locale


def test_chile_has_two_family_names_and_valid_runs(country: Path) -> None:
    population = _read_truth(country, "population.csv")
    assert all(p["second_family_name"] for p in population)
    assert all(is_valid_identifier(IdentifierScheme.CL_RUN, p["national_id"]) for p in population)
    assert len({p["national_id"] for p in population}) == len(population)


def test_ground_truth_names_every_injected_error(country: Path) -> None:
    errors = _read_truth(country, "errors.csv")
    links = {
        (r["agency"], r["source"], r["record_id"]) for r in _read_truth(country, "persons.csv")
    }
    kinds = Counter(e["error"] for e in errors)
    for error in ErrorClass:
        if error not in (ErrorClass.SURNAME_CHANGE, ErrorClass.NICKNAME):  # locale-dependent
            assert kinds[error.value] > 0, f"no {error.value} injected"
    person_errors = [e for e in errors if e["source"] in ("jobseekers", "beneficiaries")]
    assert all((e["agency"], e["source"], e["record_id"]) in links for e in person_errors)
    # every person-level error really is in the file: check a wrong check digit and a missing id
    jobseekers = _jobseekers(country)
    for e in errors:
        if e["source"] != "jobseekers":
            continue
        row = jobseekers[e["record_id"]]
        if e["error"] == "missing_identifier":
            assert row["NAT_ID"] == ""
        if e["error"] == "wrong_check_digit" and row["NAT_ID"]:
            assert not is_valid_identifier(IdentifierScheme.CL_RUN, row["NAT_ID"])


def _jobseekers(folder: Path) -> dict[str, dict[str, str]]:
    with (folder / "employment" / "jobseekers.csv").open(encoding="latin-1", newline="") as f:
        return {r["ID_CLIENT"]: r for r in csv.DictReader(f, delimiter=";")}


def test_the_truth_is_not_inside_the_data(country: Path) -> None:
    true_id = re.compile(rb"(?<![A-Z0-9])P\d{8}(?![0-9])")
    for path in [*(country / "employment").iterdir(), *(country / "social").iterdir()]:
        assert not true_id.search(path.read_bytes()), path  # true ids never leak into the data


def test_most_working_age_income_support_recipients_are_job_seekers(country: Path) -> None:
    links = _read_truth(country, "persons.csv")
    person_of = {(r["agency"], r["record_id"]): r["person_id"] for r in links}
    job_seekers = {r["person_id"] for r in links if r["agency"] == "employment"}
    tree = etree.parse(str(country / "social" / "benefit_events.xml"))
    ns = {"sp": XML_NAMESPACE}
    recipients = {
        person_of[("social", e.get("beneficiary"))]
        for e in tree.iterfind(".//sp:enrolment", ns)
        if e.find("sp:programme", ns).get("code") == "IEF"  # type: ignore[union-attr]
    }
    share = len(recipients & job_seekers) / len(recipients)
    assert share > 0.6, share


def test_households_have_twins_and_shared_names(tmp_path: Path) -> None:
    out = tmp_path / "c"
    generate(SynthConfig(persons=6000, seed=3, locale="cl"), out)
    population = _read_truth(out, "population.csv")
    births = Counter(
        (p["household_id"], p["birth_date"]) for p in population if p["relationship"] == "child"
    )
    assert any(n >= 2 for n in births.values()), "no twins"
    by_household: dict[str, list[dict[str, str]]] = {}
    for p in population:
        by_household.setdefault(p["household_id"], []).append(p)
    siblings_same_names = sum(
        1
        for members in by_household.values()
        for kids in [[m for m in members if m["relationship"] == "child"]]
        if len({(k["family_name"], k["second_family_name"]) for k in kids}) < len(kids)
    )
    assert siblings_same_names > 0


def test_bad_output_folder_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty"):
        generate(SynthConfig(persons=10), tmp_path / "full")
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_a_failure_while_writing_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nexo.synth.service as service

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(service, "write_social", boom)
    with pytest.raises(OSError, match="disk full"):
        generate(SynthConfig(persons=50), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="unknown locale"):
        SynthConfig(locale="fr")
    with pytest.raises(ValueError):
        SynthConfig(persons=-1)
    assert SynthConfig().as_of == date(2026, 6, 30)  # fixed: output never depends on today
