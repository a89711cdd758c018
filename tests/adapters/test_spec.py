"""The mapping language: its shipped JSON Schema, and checks that name every problem's line."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from nexo.adapters.schema import mapping_json_schema, schema_text, shipped_schema_text
from nexo.adapters.spec import builtin_mappings, problems_of, substitute
from nexo.synth.locale import mapping_params

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "src/nexo/mappings/examples").glob("*.yaml"))


def test_the_shipped_schema_is_what_the_spec_generates() -> None:
    assert shipped_schema_text() == schema_text(), (
        "the shipped mapping schema is stale: run "
        "nexo mapping schema --out src/nexo/mappings/mapping.schema.json"
    )


@pytest.mark.parametrize(
    "path", [*EXAMPLES, *builtin_mappings().values()], ids=lambda p: Path(p).stem
)
def test_shipped_mappings_satisfy_the_schema(path: Path) -> None:
    params = mapping_params("kr").get(path.stem, {})
    text, problems = substitute(path.read_text(encoding="utf-8"), params)
    assert problems == []
    data = json.loads(json.dumps(yaml.safe_load(text), default=str))
    validator = jsonschema.Draft202012Validator(mapping_json_schema())
    assert [e.message for e in validator.iter_errors(data)] == []
    assert problems_of(text, None, path.parent)[1] == []


def test_the_schema_rejects_what_the_checker_rejects() -> None:
    validator = jsonschema.Draft202012Validator(mapping_json_schema())
    bad = {
        "name": "x", "version": "1", "agency": "a", "source": "s",
        "format": {"type": "csv", "delimiter": ";;"}, "record_id": "ID",
        "entities": [{"type": "person", "fields": {"given_names": {"from": "A",
                      "steps": ["trim", {"dtae": "%Y"}]}}}],
    }  # fmt: skip
    messages = [e.message for e in validator.iter_errors(bad)]
    assert len(messages) >= 2


BAD = """\
nexo_mapping: 1
name: broken
version: "1"
agency: Employment Service
source: jobseekers
format: {type: csv, delimiter: ";;"}
record_id: ID
code_lists:
  sex: {M: male, F: female}
  status: {01: active}
entities:
  - type: persn
  - type: person
    fields:
      given_names: {from: GIVEN, steps: [trim, {dtae: "%d/%m/%Y"}, bogus]}
      family_name: {from: FAMILY, steps: [{code_list: nosuch}]}
      address:
        lin: STREET
      shoe_size: SIZE
  - type: employment_episode
    fields:
      person_record_id: ID
      start_date: {from: START, steps: [{regex: {pattern: "(\\\\d+)", group: 3}}]}
"""


def test_check_reports_every_problem_with_its_line() -> None:
    spec, problems = problems_of(BAD)
    assert spec is None
    lines = {p.split(":", 1)[0] for p in problems}
    # schema problems ...
    assert any(p.startswith("line 4: agency: String should match") for p in problems)
    assert any(p.startswith("line 6: format.delimiter:") for p in problems)
    assert any(p.startswith("line 12: entities.0.type: Input should be 'person'") for p in problems)
    assert any(
        p.startswith("line 15: entities.1.fields.given_names.steps.1: a step is") for p in problems
    )
    assert any(
        p.startswith("line 15: entities.1.fields.given_names.steps.2: Input should be 'trim'")
        for p in problems
    )
    # ... and, in the same run, what only cross-references show
    assert any(p.startswith("line 10: code_lists.status.1: code 1 is not text") for p in problems)
    assert any(
        p.startswith("line 23: entities.2.fields.start_date.steps.0.regex: pattern")
        and "has no group 3" in p
        for p in problems
    )
    assert {"line 4", "line 6", "line 10", "line 12", "line 15", "line 23"} <= lines
    assert problems == sorted(problems, key=lambda p: int(p.split()[1].rstrip(":")))


def test_check_finds_cross_reference_problems_of_a_valid_schema(tmp_path: Path) -> None:
    (tmp_path / "occ.csv").write_text("national,isco\n1,2512\n", encoding="utf-8")
    text = """\
name: x
version: "1"
agency: a
source: s
format: {type: csv}
record_id: ID
updated_on: LAST_UPDATE
reference:
  occ: {file: occ.csv, key: national_code, value: isco}
  gone: {file: missing.csv, key: a, value: b}
entities:
  - type: employment_episode
    fields:
      person_record_id: ID
      start_date: {from: [D, M, Y]}
      occupation: {from: OCC, steps: [{crosswalk: ocupaciones}]}
      contact: {phone: PHONE}
"""
    spec, problems = problems_of(text, None, tmp_path)
    assert spec is not None
    assert problems == [
        "line 7: updated_on: updated_on needs a date step to read the date",
        "line 9: reference.occ.key: occ.csv has no column 'national_code'; it has: national, isco",
        "line 10: reference.gone.file: cannot read missing.csv: No such file or directory",
        "line 15: entities.0.fields.start_date.from: several 'from' columns need a join step "
        "to make one value",
        "line 16: entities.0.fields.occupation.steps.0.crosswalk: no code list or reference "
        "table named 'ocupaciones'; defined: gone, isco08, isco08_title, isco08_unit, occ",
        "line 17: entities.0.fields.contact: EmploymentEpisode has no field 'contact'; it has: "
        "start_date, end_date, person_record_id, person_source, employer_name, employer_id, "
        "occupation, monthly_wage, currency, contract_type",
    ]


def test_parameters_are_checked() -> None:
    text = "name: x\nparams: {enc: latin-1}\nformat:\n  encoding: ${enc}\n  q: ${nope}\n"
    _, problems = problems_of(text, {"other": "1"})
    assert problems == [
        "parameter 'other' is not declared under params",
        "line 5: ${nope} has no value under params",
    ]
