"""Rule files: the shipped ones are complete and valid; broken ones report every problem."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from nexo.errors import ConfigurationError, UsageError
from nexo.model import EntityType
from nexo.quality.domain import Dimension, RuleSet, resolve_bound
from nexo.quality.rules import load_rules, load_thresholds
from nexo.quality.service import checked_rules


def test_shipped_rules_cover_every_dimension_and_check_against_the_store(
    shipped: RuleSet,
) -> None:
    assert {r.dimension for r in shipped.rules} == set(Dimension)
    per_entity = Counter(r.entity for r in shipped.rules)
    assert set(per_entity) == set(EntityType)
    assert all(r.owner and len(r.description) >= 30 for r in shipped.rules)
    checked_rules(shipped)  # every field they name exists; every regex compiles
    kinds = {r.check.kind for r in shipped.rules}
    assert {"linked_agree", "linked_period_conflict", "unique", "reference", "compare"} <= kinds


def test_a_broken_rule_file_reports_every_problem_with_file_and_rule(tmp_path: Path) -> None:
    (tmp_path / "person.yaml").write_text(
        """nexo_rules: 1
entity: person
rules:
  - id: person.a
    dimension: completness
    owner: shared
    description: The first rule has a misspelt dimension.
    check: {kind: required, field: birth_date}
  - id: person.b
    dimension: validity
    owner: shared
    description: The second rule has an unknown check kind.
    check: {kind: looks_fine, field: birth_date}
  - id: person.c
    dimension: validity
    owner: shared
    description: The third rule names a code list that does not exist.
    check: {kind: allowed, field: sex, code_list: genders}
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as err:
        load_rules([tmp_path])
    text = err.value.message
    assert "person.yaml: rule person.a: dimension" in text
    assert "person.yaml: rule person.b: check" in text
    assert "unknown code list 'genders'" in text


def test_fields_and_regexes_are_checked_before_a_run(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        """nexo_rules: 1
entity: employment_episode
rules:
  - id: episode.salary
    dimension: validity
    owner: employment
    description: Names a field employment episodes do not have.
    check: {kind: range, field: salary, min: 0}
  - id: episode.code
    dimension: validity
    owner: employment
    description: Has a regular expression that does not compile.
    check: {kind: pattern, field: occupation, regex: "[0-9"}
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as err:
        checked_rules(load_rules([tmp_path / "r.yaml"]))
    assert "rule episode.salary: employment_episode has no field 'salary'" in err.value.message
    assert "rule episode.code: regex '[0-9' does not compile" in err.value.message


def test_duplicate_ids_and_missing_paths_are_refused(tmp_path: Path, shipped: RuleSet) -> None:
    with pytest.raises(UsageError, match="no rule file or folder"):
        load_rules([tmp_path / "nope.yaml"])
    rule = shipped.rules[0].model_dump(mode="json")
    with pytest.raises(ValueError, match="used twice"):
        RuleSet.model_validate({"rules": [rule, rule]})


def test_relative_bounds() -> None:
    ref = date(2026, 6, 30)
    assert resolve_bound("reference_date", ref) == ref
    assert resolve_bound("reference_date - 120y", ref) == date(1906, 6, 30)
    assert resolve_bound("reference_date + 30d", ref) == date(2026, 7, 30)
    assert resolve_bound("2020-02-29", ref) == date(2020, 2, 29)
    assert resolve_bound(5, ref) == 5


def test_shipped_thresholds_load() -> None:
    t = load_thresholds()
    social = t.for_agency("social")
    assert social.dimensions[Dimension.VALIDITY] == 0.98
    assert social.rules["person.national_id.required"] == 0.90
