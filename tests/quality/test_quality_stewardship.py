"""Corrections: reported by anyone with a role, reviewed by another steward, kept as history."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from quality_factories import NOW, REF, person, run, store_records
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nexo.audit.tables import AuditEntryRow
from nexo.auth.keys import keystore
from nexo.errors import NotFound, UsageError
from nexo.model import EntityType, Person
from nexo.quality.correction import (
    CorrectionConflict,
    CorrectionReviewed,
    CorrectionStatus,
    InvalidCorrection,
)
from nexo.quality.service import run_quality
from nexo.quality.stewardship import (
    AuditHook,
    audit_trail,
    list_corrections,
    report_correction,
    review_correction,
)
from nexo.store.engine import transaction
from nexo.store.repository import RecordRepository
from nexo.store.tables import PersonRecordRow

P = EntityType.PERSON


@pytest.fixture
def trail(tmp_path: Path) -> AuditHook:
    """The real audit trail (Nexo's keys in a temporary home)."""
    return audit_trail(keystore(tmp_path / "home"))


def _entries(factory: sessionmaker[Session]) -> list[dict[str, object]]:
    with transaction(factory) as s:
        rows = s.scalars(select(AuditEntryRow).order_by(AuditEntryRow.idx)).all()
        return [json.loads(r.body) for r in rows]


def _store(factory: sessionmaker[Session]) -> None:
    records = [
        (P, "B1", person(birth=date(2031, 5, 17), national_id=run("12345678")), date(2026, 1, 1)),
        (P, "B2", person(given="Pedro", national_id=run("7654321")), date(2026, 1, 1)),
    ]
    store_records(factory, "social", "beneficiaries", records)


def _report(s: Session, **changes: object) -> int:
    args: dict[str, object] = dict(
        agency="social",
        source="beneficiaries",
        entity_type=P,
        record_id="B1",
        field="birth_date",
        value="2001-05-17",
        reporter="caseworker.ana",
        role="caseworker",
        reason="Birth certificate shown at the office: born 2001, not 2031.",
        rule_id="person.birth_date.plausible",
        now=NOW,
    )
    return report_correction(s, **(args | changes)).id  # type: ignore[arg-type]


def test_an_accepted_correction_is_a_new_version_with_its_reason(
    factory: sessionmaker[Session],
) -> None:
    _store(factory)
    with transaction(factory) as s:
        before = run_quality(s, reference_date=REF)
        cid = _report(s)
    assert (
        "B1"
        in next(r for r in before.results if r.rule.id == "person.birth_date.plausible").failures[
            "record_id"
        ]
    )
    events: list[CorrectionReviewed] = []
    with transaction(factory) as s:
        row = review_correction(
            s,
            correction_id=cid,
            reviewer="steward.luis",
            accept=True,
            note="checked the certificate",
            audit=lambda _s, e: events.append(e),
        )
        assert (row.status, row.batch_id, row.new_version) == ("accepted", f"correction-{cid}", 2)
    with transaction(factory) as s:
        history = RecordRepository(s).history("social", "beneficiaries", P, "B1")
        assert [h.version for h in history] == [1, 2]
        assert history[0].data["birth_date"] == "2031-05-17"  # the old value stays
        assert history[1].batch_id == f"correction-{cid}"
        assert history[1].source_updated_on == date(2026, 1, 1)
        current = RecordRepository(s).current_entity("social", "beneficiaries", P, "B1")
        assert isinstance(current, Person) and current.birth_date == date(2001, 5, 17)
        assert len(current.identifiers) == 1  # the rest of the record is unchanged
        projected = s.scalar(select(PersonRecordRow).where(PersonRecordRow.record_id == "B1"))
        assert projected is not None and projected.birth_date == date(2001, 5, 17)
        after = run_quality(s, reference_date=REF)
        kept = list_corrections(s, status=CorrectionStatus.ACCEPTED)
    rule = next(r for r in after.results if r.rule.id == "person.birth_date.plausible")
    assert rule.failed == 0
    assert [c.reason for c in kept] == [
        "Birth certificate shown at the office: born 2001, not 2031."
    ]
    assert [(e.correction_id, e.status, e.reviewer, e.batch_id) for e in events] == [
        (cid, CorrectionStatus.ACCEPTED, "steward.luis", f"correction-{cid}")
    ]


def test_review_rules(factory: sessionmaker[Session], trail: AuditHook) -> None:
    _store(factory)
    with transaction(factory) as s:
        cid = _report(s)
        with pytest.raises(UsageError, match="cannot also review it"):
            review_correction(
                s, correction_id=cid, reviewer="caseworker.ana", accept=True, audit=trail
            )
        with pytest.raises(UsageError, match="a rejection needs a note"):
            review_correction(
                s, correction_id=cid, reviewer="steward.luis", accept=False, audit=trail
            )
        row = review_correction(
            s,
            correction_id=cid,
            reviewer="steward.luis",
            accept=False,
            note="2031 is right",
            audit=trail,
        )
        assert row.status == "rejected" and row.batch_id is None
        with pytest.raises(CorrectionConflict, match="already rejected"):
            review_correction(
                s, correction_id=cid, reviewer="steward.eva", accept=True, audit=trail
            )
        with pytest.raises(NotFound, match="no correction 999"):
            review_correction(
                s, correction_id=999, reviewer="steward.eva", accept=True, audit=trail
            )
        versions = RecordRepository(s).history("social", "beneficiaries", P, "B1")
        assert len(versions) == 1  # a rejection writes nothing


@pytest.mark.parametrize(
    ("changes", "error", "says"),
    [
        ({"value": "17/05/2001"}, InvalidCorrection, "does not make a valid person"),
        ({"field": "shoe_size"}, InvalidCorrection, "person has no field 'shoe_size'"),
        ({"role": "intern"}, UsageError, "unknown role 'intern'"),
        ({"reason": "  "}, UsageError, "needs a reason"),
        ({"record_id": "B404"}, NotFound, "no current person record"),
        ({"field": "birth_date", "value": "2031-05-17"}, UsageError, "already holds that value"),
    ],
)
def test_bad_reports_are_refused_with_what_to_fix(
    factory: sessionmaker[Session], changes: dict[str, object], error: type[Exception], says: str
) -> None:
    _store(factory)
    with transaction(factory) as s, pytest.raises(error, match=says):
        _report(s, **changes)


def test_a_record_changed_since_the_report_is_not_overwritten(
    factory: sessionmaker[Session], trail: AuditHook
) -> None:
    _store(factory)
    with transaction(factory) as s:
        cid = _report(s)
    # the agency sends a new version in the meantime
    updated = person(birth=date(2002, 5, 17), national_id=run("12345678"))
    store_records(factory, "social", "beneficiaries", [(P, "B1", updated, date(2026, 3, 1))], "b2")
    with transaction(factory) as s, pytest.raises(CorrectionConflict, match="changed since"):
        review_correction(s, correction_id=cid, reviewer="steward.luis", accept=True, audit=trail)


def test_nested_fields_can_be_corrected(factory: sessionmaker[Session], trail: AuditHook) -> None:
    _store(factory)
    with transaction(factory) as s:
        cid = _report(s, field="address.locality", value="Viña del Mar", reason="Moved in 2025.")
        review_correction(s, correction_id=cid, reviewer="steward.luis", accept=True, audit=trail)
        current = RecordRepository(s).current_entity("social", "beneficiaries", P, "B1")
    assert isinstance(current, Person) and current.address is not None
    assert current.address.locality == "Viña del Mar"
    assert current.address.line == "Calle Esmeralda 12"


def test_a_review_is_in_the_audit_trail_without_the_values(
    factory: sessionmaker[Session], trail: AuditHook
) -> None:
    _store(factory)
    with transaction(factory) as s:
        accepted = _report(s)
        rejected = _report(s, field="given_names", value="Anita María", reason="Typo at intake.")
    with transaction(factory) as s:
        review_correction(s, correction_id=accepted, reviewer="steward.luis", accept=True,
                          audit=trail)  # fmt: skip
        review_correction(s, correction_id=rejected, reviewer="steward.eva", accept=False,
                          note="the intake was right", audit=trail)  # fmt: skip
    first, second = _entries(factory)
    assert first["action"] == "steward.correction.accepted" and first["actor"] == "steward.luis"
    assert first["kind"] == "event" and first["agency"] == "social"
    assert first["detail"]["correction_id"] == accepted  # type: ignore[index]
    assert first["detail"]["field"] == "birth_date"  # type: ignore[index]
    assert second["action"] == "steward.correction.rejected"
    text = json.dumps([first, second])
    assert "2001-05-17" not in text and "2031-05-17" not in text and "Anita" not in text
