"""Scores pool per agency and dimension; a score under its threshold fails the gate."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from nexo.quality.scoring import Score, Thresholds, gate, pool, worst


def _score(rule: str, dim: str, checked: int, failed: int, agency: str = "social") -> Score:
    return Score(agency, "beneficiaries", "person", rule, dim, "flag", checked, failed)


SCORES = [
    _score("person.national_id.required", "completeness", 1000, 120),  # 88%
    _score("person.birth_date.required", "completeness", 1000, 0),
    _score("person.national_id.check_digit", "validity", 880, 9),  # 98.98%
    _score("person.sex.code", "validity", 1000, 0),
    _score("person.national_id.required", "completeness", 500, 5, agency="employment"),
]


def test_pooling_weighs_every_record_rule_check_the_same() -> None:
    dims = pool(SCORES, by=("agency", "dimension"))
    assert dims[("social", "completeness")].score == pytest.approx(1880 / 2000)
    assert dims[("social", "validity")].score == pytest.approx(1871 / 1880)
    assert worst(SCORES, 1)[0].rule_id == "person.national_id.required"


def test_a_score_under_its_threshold_fails_the_gate() -> None:
    doc = {
        "default": {
            "dimensions": {"validity": "98%", "completeness": 0.9},
            "rules": {"person.national_id.required": 0.9},
        }
    }
    thresholds = Thresholds.model_validate(doc)
    result = gate("social", "run-1", SCORES, thresholds)
    assert not result.passed
    failing = [(c.kind, c.name) for c in result.failing]
    assert failing == [("rule", "person.national_id.required")]
    assert "88.00% < 90.00% (120 of 1,000 records fail)" in result.failing[0].describe()
    # the same scores pass when the agency's own threshold is lower
    own = {"social": {"rules": {"person.national_id.required": 0.85}}}
    relaxed = Thresholds.model_validate({**doc, "agencies": own})
    assert gate("social", "run-1", SCORES, relaxed).passed
    employment = gate("employment", "run-1", SCORES, thresholds)
    assert [c.name for c in employment.failing] == ["validity"]  # no validity rule ran there


def test_unmeasured_thresholds_follow_the_policy() -> None:
    wanted = {"default": {"dimensions": {"timeliness": 0.5}}}
    strict = gate("social", "r", SCORES, Thresholds.model_validate(wanted))
    assert not strict.passed and "nothing checked" in strict.failing[0].describe()
    lenient = Thresholds.model_validate({**wanted, "unmeasured": "pass"})
    assert gate("social", "r", SCORES, lenient).passed


@pytest.mark.parametrize("bad", [1.5, "98", "-3%", {"x": 1}])
def test_thresholds_must_be_shares(bad: object) -> None:
    with pytest.raises(ValidationError):
        Thresholds.model_validate({"default": {"dimensions": {"validity": bad}}})
