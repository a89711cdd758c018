"""Shared by the store's tests: person batches written through ``write_persons``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from nexo.store.engine import transaction
from nexo.store.repository import NewRecord, PersonBatch, RecordRepository, WriteResult
from nexo.store.staging import StagedPersons, stage


def person_batch(records: Iterable[NewRecord]) -> PersonBatch:
    batch = PersonBatch()
    for r in records:
        batch.append(r)
    return batch


def write_persons(
    factory: sessionmaker[Session],
    at: datetime,
    records: Iterable[NewRecord],
    *,
    staged: bool = False,
) -> WriteResult:
    """The records as one batch of agency ``a``, source ``s`` (staged first, if asked)."""
    batch = person_batch(records)
    given = stage(batch) if staged else batch
    try:
        with transaction(factory) as s:
            return RecordRepository(s).write_persons(
                agency="a",
                source="s",
                batch_id="b",
                mapping_version="1",
                received_at=at,
                batch=given,
            )
    finally:
        if isinstance(given, StagedPersons):
            given.discard()
