"""The shipped rules on small frames: one passing and one failing fixture per dimension."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from quality_factories import REF, make_frames, person_row, run

from nexo.model import EntityType
from nexo.quality.domain import RuleSet
from nexo.quality.evaluate import RuleResult, evaluate
from nexo.quality.frames import Frames

P = EntityType.PERSON


def _run(rules: RuleSet, ids: list[str], frames: Frames) -> dict[str, RuleResult]:
    return {r.rule.id: r for r in evaluate([rules.by_id(i) for i in ids], frames)}


def _failing(result: RuleResult) -> list[str]:
    return sorted(result.failures["record_id"].to_list())


def _details(result: RuleResult) -> dict[str, Any]:
    return dict(zip(result.failures["record_id"], result.failures["detail"], strict=True))


# ------------------------------------------------------------------ completeness


def test_completeness_passes_when_every_person_has_an_identifier(shipped: RuleSet) -> None:
    rows = [person_row(f"B{i}") for i in range(4)]
    frames = make_frames({P: rows}, ids={r["id"]: run(f"1234567{i}") for i, r in enumerate(rows)})
    res = _run(shipped, ["person.national_id.required", "person.birth_date.required"], frames)
    assert [(r.checked, r.failed) for r in res.values()] == [(4, 0), (4, 0)]


def test_completeness_reports_every_record_missing_a_value(shipped: RuleSet) -> None:
    rows = [person_row(f"B{i}") for i in range(6)]
    rows[4]["birth_date"] = None
    ids = {r["id"]: run(f"1234567{i}") for i, r in enumerate(rows) if i not in (1, 3, 5)}
    res = _run(
        shipped,
        ["person.national_id.required", "person.birth_date.required"],
        make_frames({P: rows}, ids=ids),
    )
    assert _failing(res["person.national_id.required"]) == ["B1", "B3", "B5"]  # all, not the first
    assert _failing(res["person.birth_date.required"]) == ["B4"]
    counts = res["person.national_id.required"].counts.to_dicts()
    assert counts == [{"agency": "social", "source": "beneficiaries", "checked": 6, "failed": 3}]


# ------------------------------------------------------------------ validity

VALIDITY = [
    "person.national_id.check_digit",
    "person.birth_date.plausible",
    "person.sex.code",
    "person.given_names.letters",
    "person.family_name.letters",
    "person.email.format",
]


def test_validity_passes_on_well_formed_records(shipped: RuleSet) -> None:
    rows = [
        person_row("B1", given_names="José Ñandú", family_name="O'Higgins-Riquelme"),
        person_row("B2", email="ana.rojas@correo.example", birth_date=REF),
    ]
    frames = make_frames({P: rows}, ids={rows[0]["id"]: run("12345678"), rows[1]["id"]: None})
    res = _run(shipped, VALIDITY, frames)
    assert {i: r.failed for i, r in res.items()} == dict.fromkeys(VALIDITY, 0)
    assert res["person.national_id.check_digit"].checked == 1  # no identifier: not checked here


def test_validity_flags_each_kind_of_invalid_value(shipped: RuleSet) -> None:
    good = run("12345678")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    rows = [
        person_row("B1"),
        person_row("B2"),
        person_row("B3", birth_date=REF + timedelta(days=1)),
        person_row("B4", birth_date=date(1890, 1, 1), sex="femenino"),
        person_row("B5", given_names="J0sé", family_name="5oto"),
        person_row("B6", email="ana.rojas(at)correo"),
    ]
    ids = {rows[0]["id"]: good, rows[1]["id"]: bad}
    res = _run(shipped, VALIDITY, make_frames({P: rows}, ids=ids))
    assert _failing(res["person.national_id.check_digit"]) == ["B2"]
    assert _failing(res["person.birth_date.plausible"]) == ["B3", "B4"]
    assert _failing(res["person.sex.code"]) == ["B4"]
    assert _failing(res["person.given_names.letters"]) == ["B5"]
    assert _failing(res["person.family_name.letters"]) == ["B5"]
    assert _failing(res["person.email.format"]) == ["B6"]


# ------------------------------------------------------------------ consistency

EP, REG, BEN = (
    EntityType.EMPLOYMENT_EPISODE,
    EntityType.JOB_SEEKER_REGISTRATION,
    EntityType.BENEFIT_ENROLMENT,
)


def _episode(rid: str, person: str, start: date, end: date | None) -> dict[str, Any]:
    return {
        "agency": "employment",
        "source": "episodes",
        "record_id": rid,
        "person_source": "jobseekers",
        "person_record_id": person,
        "start_date": start,
        "end_date": end,
    }


def _benefit(
    rid: str, person: str, start: date, end: date | None, code: str = "IEF"
) -> dict[str, Any]:
    return {
        "agency": "social",
        "source": "benefit-events",
        "record_id": rid,
        "person_source": "beneficiaries",
        "person_record_id": person,
        "programme_code": code,
        "means_tested": True,
        "status": "active" if end is None else "ended",
        "start_date": start,
        "end_date": end,
    }


def _consistency_frames(*, conflicting: bool) -> Frames:
    job_start = date(2025, 3, 1)
    persons = [
        person_row("B1"),
        person_row("B2", birth_date=date(1985, 2, 3)),
        person_row("E1", agency="employment", source="jobseekers"),
        person_row(
            "E2",
            agency="employment",
            source="jobseekers",
            birth_date=date(1985, 3, 2) if conflicting else date(1985, 2, 3),
        ),
    ]
    benefit_end = None if conflicting else job_start + timedelta(days=20)
    tables = {
        P: persons,
        EP: [
            _episode("EP1", "E1", job_start, None),
            _episode("EP2", "E2", date(2024, 5, 1), date(2024, 1, 1) if conflicting else None),
        ],
        REG: [
            {
                "agency": "employment",
                "source": "jobseekers",
                "record_id": "R1",
                "person_record_id": "E9" if conflicting else "E1",
                "status": "active",
                "start_date": date(2024, 1, 1),
            }
        ],
        BEN: [_benefit("EN1", "B1", date(2024, 6, 1), benefit_end)],
    }
    links = [
        ("social", "beneficiaries", "B1", "P1"),
        ("employment", "jobseekers", "E1", "P1"),
        ("social", "beneficiaries", "B2", "P2"),
        ("employment", "jobseekers", "E2", "P2"),
    ]
    return make_frames(tables, links=links)


CONSISTENCY = [
    "episode.end_after_start",  # cross-field
    "registration.person_exists",  # cross-record
    "benefit.income_support_while_employed",  # cross-agency over linked persons
    "person.birth_date.agrees_across_agencies",  # cross-agency over linked persons
]


def test_consistency_passes_when_records_agree(shipped: RuleSet) -> None:
    res = _run(shipped, CONSISTENCY, _consistency_frames(conflicting=False))
    assert {i: r.failed for i, r in res.items()} == dict.fromkeys(CONSISTENCY, 0)
    assert res["benefit.income_support_while_employed"].checked == 1
    assert res["person.birth_date.agrees_across_agencies"].checked == 4


def test_consistency_flags_cross_field_record_and_agency_conflicts(shipped: RuleSet) -> None:
    res = _run(shipped, CONSISTENCY, _consistency_frames(conflicting=True))
    assert _failing(res["episode.end_after_start"]) == ["EP2"]
    assert _details(res["registration.person_exists"]) == {
        "R1": "no person record E9 in employment/jobseekers"
    }
    # still paid about 16 months after the job recorded by the other agency started
    assert _details(res["benefit.income_support_while_employed"]) == {
        "EN1": f"active {(REF - date(2025, 3, 1)).days} days after employment/episodes/EP1 started"
    }
    assert _details(res["person.birth_date.agrees_across_agencies"]) == {
        "B2": "birth_date differs from employment/jobseekers/E2",
        "E2": "birth_date differs from social/beneficiaries/B2",
    }


def test_unlinked_records_are_not_counted_by_cross_agency_rules(shipped: RuleSet) -> None:
    frames = make_frames(
        {P: [person_row("B1")], BEN: [_benefit("EN1", "B1", date(2020, 1, 1), None)]}
    )
    result = _run(shipped, ["benefit.income_support_while_employed"], frames)
    only = result["benefit.income_support_while_employed"]
    assert (only.checked, only.failed) == (0, 0)


# ------------------------------------------------------------------ timeliness


def test_timeliness_depends_on_the_reference_date(shipped: RuleSet) -> None:
    rows = [
        person_row("B1", source_updated_on=date(2025, 1, 1)),
        person_row("B2", source_updated_on=date(2023, 1, 1)),
        person_row("B3", source_updated_on=None),
    ]
    rule = ["person.updated_within_2_years"]
    fresh = _run(shipped, rule, make_frames({P: rows}, reference_date=date(2024, 12, 30)))
    assert (fresh[rule[0]].checked, fresh[rule[0]].failed) == (2, 0)
    stale = _run(shipped, rule, make_frames({P: rows}, reference_date=REF))
    assert _failing(stale[rule[0]]) == ["B2"]


# ------------------------------------------------------------------ uniqueness


def test_uniqueness_passes_on_distinct_identifiers(shipped: RuleSet) -> None:
    rows = [person_row("B1"), person_row("B2", given_names="Pedro")]
    ids = {rows[0]["id"]: run("12345678"), rows[1]["id"]: run("7654321")}
    res = _run(shipped, ["person.national_id.unique"], make_frames({P: rows}, ids=ids))
    assert res["person.national_id.unique"].failed == 0


def test_uniqueness_flags_the_later_records_and_names_the_original(shipped: RuleSet) -> None:
    rows = [
        person_row("B3", given_names="Pedro"),
        person_row("B1"),
        person_row("B2", given_names="Ana Marí"),
        person_row("E1", agency="employment", source="jobseekers"),  # other agency: fine
    ]
    ids = {r["id"]: run("12345678") for r in rows}
    res = _run(
        shipped,
        ["person.national_id.unique", "person.name_and_birth_date.unique"],
        make_frames({P: rows}, ids=ids),
    )
    assert _details(res["person.national_id.unique"]) == {
        "B2": "same national_id_scheme, national_id as social/beneficiaries/B1",
        "B3": "same national_id_scheme, national_id as social/beneficiaries/B1",
    }
    assert res["person.name_and_birth_date.unique"].failed == 0  # the names differ
