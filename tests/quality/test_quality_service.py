"""Quality runs on the store (SQLite and PostgreSQL): scores over time, every failure, reports."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from quality_factories import REF, person, run, store_records
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from nexo.adapters.service import ingest_file
from nexo.adapters.spec import load_mapping
from nexo.demo.service import DEMO_INPUTS, example_mapping
from nexo.errors import NotFound
from nexo.model import EntityType
from nexo.quality.report import build_report, render_csv, render_json
from nexo.quality.report_html import render_html
from nexo.quality.rules import load_thresholds
from nexo.quality.service import check_readiness, run_default_quality, run_quality
from nexo.quality.synthetic_links import link_from_ground_truth
from nexo.quality.tables import QualityFailureRow, QualityScoreRow
from nexo.store.engine import transaction
from nexo.store.tables import PersonIdentifierRow, PersonRecordRow
from nexo.synth.locale import mapping_params

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def _load_country(factory: sessionmaker[Session], country: Path) -> None:
    params = mapping_params("cl")
    for name, rel in DEMO_INPUTS.items():
        ingest_file(factory, load_mapping(example_mapping(name), params[name]), country / rel)
    with transaction(factory) as s:
        assert link_from_ground_truth(s, country / "truth/persons.csv") > 0


def test_runs_keep_every_failure_and_build_reports(
    factory: sessionmaker[Session], country: Path, tmp_path: Path
) -> None:
    _load_country(factory, country)
    with transaction(factory) as s:
        first = run_quality(s, reference_date=REF, now=T0)
    with transaction(factory) as s:
        second = run_quality(s, reference_date=REF, now=T0 + timedelta(days=1))
    assert first.failure_count == second.failure_count > 0
    with transaction(factory) as s:
        stored = s.scalar(select(func.count()).where(QualityFailureRow.run_id == second.run_id))
        assert stored == second.failure_count == sum(r.failed for r in second.results)
        # every person without a national identifier is listed, not just the first
        no_id = set(
            s.scalars(
                select(PersonRecordRow.record_id).where(
                    ~PersonRecordRow.id.in_(select(PersonIdentifierRow.person_pk))
                )
            )
        )
        listed = set(
            s.scalars(
                select(QualityFailureRow.record_id).where(
                    QualityFailureRow.run_id == second.run_id,
                    QualityFailureRow.rule_id == "person.national_id.required",
                )
            )
        )
        assert len(no_id) > 5 and listed == no_id
        score_rows = s.scalar(select(func.count()).where(QualityScoreRow.run_id == first.run_id))
        assert score_rows == len(first.scores)
        found = {(r.rule.id, r.failed) for r in second.results if r.failed}
        # the cross-agency rule sees the linked persons
        assert any(rule == "benefit.income_support_while_employed" for rule, _ in found)
        data = build_report(s, failure_limit=5)
    assert data.run.id == second.run_id
    assert {h.run_id for h in data.history} == {first.run_id, second.run_id}
    _check_html(render_html(data))
    doc = json.loads(render_json(data))
    assert {a["agency"] for a in doc["agencies"]} == {"employment", "social"}
    flagged = next(x for x in doc["scores"] if x["rule_id"] == "person.national_id.required")
    assert len(flagged["failures"]) == 5 and flagged["failures_truncated"]
    rows = list(csv.DictReader(io.StringIO(render_csv(data))))
    assert len(rows) == len(second.scores)
    assert {r["dimension"] for r in rows} == {
        "completeness",
        "validity",
        "consistency",
        "timeliness",
        "uniqueness",
    }


def _check_html(html: str) -> None:
    # self-contained: nothing is fetched, so the report works offline
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert "http://" not in html and "https://" not in html and "url(" not in html
    assert html.count("<svg") >= 3  # scoreboard, over time (one per agency), worst rules
    anchors = set(re.findall(r'id=[\'"]([^\'"]+)[\'"]', html))
    links = set(re.findall(r'href="#([^"]+)"', html))
    assert links and links <= anchors  # every score leads somewhere in the page
    assert any(link.startswith("fail-person.national_id.required") for link in links)
    assert "nexo quality failures --run" in html  # how to get the rows not listed


NAMES = [
    "Ana",
    "Berta",
    "Carla",
    "Diana",
    "Elena",
    "Fabiola",
    "Gloria",
    "Hilda",
    "Inés",
    "Julia",
    "Karen",
    "Laura",
    "Marta",
    "Nora",
    "Olga",
    "Paula",
    "Rosa",
    "Sara",
    "Tania",
    "Úrsula",
]


def _persons_without_ids(factory: sessionmaker[Session], n_missing: int) -> None:
    records = [
        (
            EntityType.PERSON,
            f"B{i}",
            person(given=name, national_id=None if i < n_missing else run(str(10_000_000 + i))),
            date(2026, 1, 1),
        )
        for i, name in enumerate(NAMES)
    ]
    store_records(factory, "social", "beneficiaries", records)


def test_a_score_under_its_threshold_fails_the_readiness_gate(
    factory: sessionmaker[Session],
) -> None:
    _persons_without_ids(factory, n_missing=3)  # 85% have an identifier; the bar is 90%
    with transaction(factory) as s:
        run_quality(s, reference_date=REF)
        result = check_readiness(s, agency="social", thresholds=load_thresholds())
        with pytest.raises(NotFound, match="no scores for agency 'employment'"):
            check_readiness(s, agency="employment")
    assert not result.passed
    assert [c.name for c in result.failing] == ["person.national_id.required"]
    assert result.failing[0].score == pytest.approx(0.85)


def test_the_gate_needs_a_run(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s, pytest.raises(NotFound, match="no quality run yet"):
        check_readiness(s, agency="social")


def test_the_demo_summary(factory: sessionmaker[Session], tmp_path: Path) -> None:
    _persons_without_ids(factory, n_missing=1)
    overview = run_default_quality(factory, report_dir=tmp_path / "reports", reference_date=REF)
    assert overview.records == 20
    assert overview.scores["social"]["completeness"] == pytest.approx(1 - 1 / 140)
    assert overview.worst_rules[0][:3] == ("person.national_id.required", "social", "beneficiaries")
    assert overview.ready == {"social": True}
    assert overview.report_path.is_file()
    assert "Data-quality scoreboard" in overview.report_path.read_text(encoding="utf-8")


def test_store_frames_keep_every_value_exactly(factory: sessionmaker[Session]) -> None:
    from decimal import Decimal

    from nexo.model import BenefitEnrolment, BenefitStatus, Person
    from nexo.quality.repository import QualityRepository

    tricky = Person(given_names='Ana "Anita", María', family_name="", second_family_name=None,
                    birth_date=date(1990, 2, 28))  # fmt: skip
    benefit = BenefitEnrolment(
        person_record_id="B1", start_date=date(2024, 1, 1), programme_code="IEF",
        means_tested=True, status=BenefitStatus.ACTIVE, monthly_amount=Decimal("52000.50"),
    )  # fmt: skip
    store_records(factory, "social", "beneficiaries", [(EntityType.PERSON, "B1", tricky, None)])
    store_records(
        factory, "social", "benefit-events", [(EntityType.BENEFIT_ENROLMENT, "EN1", benefit, None)]
    )
    with transaction(factory) as s:
        raw = QualityRepository(s).raw_frames([EntityType.PERSON, EntityType.BENEFIT_ENROLMENT])
    p = raw.tables[EntityType.PERSON].to_dicts()[0]
    assert (p["given_names"], p["family_name"], p["second_family_name"]) == (
        'Ana "Anita", María', "", None
    )  # fmt: skip
    assert p["birth_date"] == date(1990, 2, 28) and p["source_updated_on"] is None
    b = raw.tables[EntityType.BENEFIT_ENROLMENT].to_dicts()[0]
    assert b["means_tested"] is True and b["monthly_amount"] == 52000.5
    assert b["end_date"] is None and b["start_date"] == date(2024, 1, 1)
    assert raw.identifiers.height == 0 and raw.links.height == 0
