"""Fixtures of the linkage tests."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session, sessionmaker
from town import AT, Put

from nexo.model import EntityType, Person
from nexo.store.engine import transaction
from nexo.store.repository import NewRecord, RecordRepository


@pytest.fixture
def put(factory: sessionmaker[Session]) -> Put:
    """Store person records: put(agency, source, record_id, Person[, updated_on])."""

    def _put(
        agency: str, source: str, record_id: str, p: Person, updated: date | None = None
    ) -> None:
        with transaction(factory) as s:
            RecordRepository(s).write(
                agency=agency,
                source=source,
                batch_id="test",
                mapping_version=None,
                received_at=AT,
                records=[NewRecord.of(EntityType.PERSON, record_id, p, updated)],
            )

    return _put
