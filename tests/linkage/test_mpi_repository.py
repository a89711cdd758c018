from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from nexo.linkage.repository import MpiRepository, RecordKey
from nexo.linkage.tables import MpiLinkRow, MpiPersonRow
from nexo.store.engine import transaction

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_records_follow_merges(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        for pid, status, into in (("NX1", "merged", "NX2"), ("NX2", "active", None)):
            s.add(
                MpiPersonRow(
                    person_id=pid, status=status, merged_into=into, created_at=NOW, updated_at=NOW
                )
            )
        s.flush()
        s.add(
            MpiLinkRow(
                person_id="NX2",
                agency="social",
                source="beneficiaries",
                record_id="B1",
                match_probability=1.0,
                method="deterministic",
                linked_at=NOW,
            )
        )
        s.add(
            MpiLinkRow(
                person_id="NX2",
                agency="employment",
                source="jobseekers",
                record_id="E9",
                match_probability=0.998,
                method="probabilistic",
                linked_at=NOW,
            )
        )
    with transaction(factory) as s:
        repo = MpiRepository(s)
        assert repo.resolve("NX1") == "NX2"
        assert repo.person_of(RecordKey("social", "beneficiaries", "B1")) == "NX2"
        assert repo.person_of(RecordKey("social", "beneficiaries", "B404")) is None
        assert repo.records_of("NX1") == [
            RecordKey("employment", "jobseekers", "E9"),
            RecordKey("social", "beneficiaries", "B1"),
        ]
