"""Use cases of stewardship: report a wrong value, review it, apply it as a new record version.

Anyone with a role reports; a steward (not the reporter) accepts or rejects. An accepted
correction is written through the store like any ingest, as a new version of the record whose
batch id names the correction (``correction-<id>``), so the history keeps the old value and the
correction keeps the reason. Quarantined rows (rejected at ingest) are corrected and re-ingested
by the adapters (``nexo quarantine``), not here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nexo.audit.service import record_event
from nexo.auth.keys import KeyStore
from nexo.errors import NotFound, UsageError
from nexo.linkage.tables import MpiLinkRow
from nexo.logging import get_logger
from nexo.model.codes import EntityType
from nexo.quality.correction import (
    CorrectionConflict,
    CorrectionNotFound,
    CorrectionReviewed,
    CorrectionStatus,
    batch_id_of,
    check_role,
    corrected_entity,
    get_value,
)
from nexo.quality.repository import QualityRepository
from nexo.quality.tables import CorrectionRow
from nexo.store.repository import NewRecord, RecordRepository

log = get_logger(__name__)

AuditHook = Callable[[Session, CorrectionReviewed], None]


def audit_trail(keys: KeyStore) -> AuditHook:
    """The hook that appends a review to the audit trail, in the correction's transaction (if
    the append fails, the review is not made). The person is named by keyed hash when the
    record is in the person index; values never enter the trail."""

    def record(session: Session, event: CorrectionReviewed) -> None:
        person = session.scalar(
            select(MpiLinkRow.person_id).where(
                MpiLinkRow.agency == event.agency,
                MpiLinkRow.source == event.source,
                MpiLinkRow.record_id == event.record_id,
            )
        )
        record_event(
            session,
            keys=keys,
            action=f"steward.correction.{event.status.value}",
            actor=event.reviewer,
            persons=(person,) if person else (),
            agency=event.agency,
            detail={
                "correction_id": event.correction_id,
                "source": event.source,
                "entity_type": event.entity_type,
                "field": event.field,
                "reporter": event.reporter,
                "reporter_role": event.reporter_role,
                "batch_id": event.batch_id,
                "new_version": event.new_version,
            },
            at=event.reviewed_at,
        )

    return record


def report_correction(
    session: Session,
    *,
    agency: str,
    source: str,
    entity_type: EntityType,
    record_id: str,
    field: str,
    value: Any,
    reason: str,
    reporter: str,
    role: str,
    rule_id: str | None = None,
    now: datetime | None = None,
) -> CorrectionRow:
    """Open a correction request; the proposed value is validated now, not at review."""
    check_role(role)
    if not reason.strip():
        raise UsageError("a correction needs a reason", hint="say where the right value comes from")
    if not reporter.strip():
        raise UsageError("a correction needs the reporter's name", hint="--reporter NAME")
    repo = QualityRepository(session)
    current = repo.current_version(agency, source, entity_type, record_id)
    if current is None:
        raise NotFound(
            f"no current {entity_type.value} record {agency}/{source}/{record_id}",
            hint="check the agency, source, entity type and record id",
        )
    _, _, data = current
    entity = corrected_entity(entity_type, data, field, value)
    if entity.model_dump(mode="json") == data:
        raise UsageError(f"{field} already holds that value", hint="nothing to correct")
    row = CorrectionRow(
        agency=agency,
        source=source,
        entity_type=entity_type.value,
        record_id=record_id,
        field=field,
        current_value={"value": get_value(data, field)},
        proposed_value={"value": value},
        reason=reason.strip(),
        rule_id=rule_id,
        reporter=reporter.strip(),
        reporter_role=role,
        reported_at=now or datetime.now(UTC),
        status=CorrectionStatus.OPEN.value,
    )
    return repo.add_correction(row)


def list_corrections(
    session: Session, *, status: CorrectionStatus | None = None, limit: int = 200
) -> list[CorrectionRow]:
    return QualityRepository(session).corrections(status.value if status else None, limit)


def review_correction(
    session: Session,
    *,
    correction_id: int,
    reviewer: str,
    accept: bool,
    note: str | None = None,
    now: datetime | None = None,
    audit: AuditHook,
) -> CorrectionRow:
    """Accept (write the corrected record as a new version) or reject an open correction;
    ``audit`` records the review in the same transaction (:func:`audit_trail`)."""
    repo = QualityRepository(session)
    row = repo.correction(correction_id, for_update=True)
    if row is None:
        raise CorrectionNotFound(
            f"no correction {correction_id}", hint="list them: nexo quality correction list"
        )
    if row.status != CorrectionStatus.OPEN.value:
        raise CorrectionConflict(
            f"correction {correction_id} is already {row.status}",
            hint="report a new correction if the value is still wrong",
        )
    if reviewer.strip() == row.reporter:
        raise UsageError(
            f"{reviewer} reported correction {correction_id} and cannot also review it",
            hint="another steward reviews it (four-eyes principle)",
        )
    if not accept and not (note or "").strip():
        raise UsageError("a rejection needs a note", hint="--note 'why the value stays'")
    now = now or datetime.now(UTC)
    if accept:
        _apply(session, row, now)
    row.status = (CorrectionStatus.ACCEPTED if accept else CorrectionStatus.REJECTED).value
    row.reviewer, row.reviewed_at, row.review_note = reviewer.strip(), now, note
    session.flush()
    audit(
        session,
        CorrectionReviewed(
            row.id,
            row.agency,
            row.source,
            row.entity_type,
            row.record_id,
            row.field,
            CorrectionStatus(row.status),
            row.reporter,
            row.reporter_role,
            row.reviewer,
            now,
            row.batch_id,
            row.new_version,
        ),
    )
    return row


def _apply(session: Session, row: CorrectionRow, now: datetime) -> None:
    entity_type = EntityType(row.entity_type)
    current = QualityRepository(session).current_version(
        row.agency, row.source, entity_type, row.record_id
    )
    if current is None:
        raise CorrectionConflict(
            f"record {row.agency}/{row.source}/{row.record_id} is no longer in the store",
            hint="reject the correction",
        )
    version, updated_on, data = current
    if get_value(data, row.field) != row.current_value.get("value"):
        raise CorrectionConflict(
            f"{row.field} of {row.record_id} changed since the correction was reported "
            f"(now version {version})",
            hint="reject this correction and report again against the current value",
        )
    entity = corrected_entity(entity_type, data, row.field, row.proposed_value.get("value"))
    batch_id = batch_id_of(row.id)
    result = RecordRepository(session).write(
        agency=row.agency,
        source=row.source,
        batch_id=batch_id,
        mapping_version="correction",
        received_at=now,
        records=[NewRecord.of(entity_type, row.record_id, entity, updated_on)],
    )
    if result.written != 1:
        raise CorrectionConflict(
            f"the corrected {row.record_id} equals a version the store already holds",
            hint="the store never re-applies an old version (decision 0002); reject this one",
        )
    row.batch_id, row.new_version = batch_id, version + 1
