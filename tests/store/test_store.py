"""The store on SQLite and PostgreSQL: migrations, versions, projections, history."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker
from store_helpers import write_persons

from nexo.model import EntityType, Identifier, IdentifierScheme, Person, Sex
from nexo.store.engine import transaction
from nexo.store.migrate import current_revision, downgrade, head_revision, upgrade
from nexo.store.repository import NewRecord, RecordRepository
from nexo.store.tables import PersonIdentifierRow, PersonRecordRow, SourceRecordRow

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
PERSON = EntityType.PERSON


def _person(family: str = "Rojas", run: str = "123456785") -> Person:
    return Person(
        given_names="Ana",
        family_name=family,
        birth_date=date(1990, 5, 17),
        sex=Sex.FEMALE,
        identifiers=(Identifier(scheme=IdentifierScheme.CL_RUN, value=run, verified=True),),
    )


def _write(factory: sessionmaker[Session], at: datetime, *records: NewRecord) -> tuple[int, int]:
    with transaction(factory) as s:
        r = RecordRepository(s).write(
            agency="social",
            source="beneficiaries",
            batch_id="batch-1",
            mapping_version="1",
            received_at=at,
            records=list(records),
        )
    return r.written, r.unchanged


def test_migrations_reach_head_and_go_back(engine: Engine) -> None:
    assert current_revision(engine) == head_revision(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"source_record", "person_record", "quarantine_row", "ingest_batch"} <= tables
    downgrade(engine, "base")
    assert "source_record" not in set(inspect(engine).get_table_names())
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)


def test_write_is_idempotent_and_versions_changes(factory: sessionmaker[Session]) -> None:
    first = NewRecord.of(EntityType.PERSON, "B1", _person())
    assert _write(factory, T0, first) == (1, 0)
    assert _write(factory, T0, first) == (0, 1)  # the same record again adds nothing
    changed = NewRecord.of(EntityType.PERSON, "B1", _person(family="Rojas Soto"))
    assert _write(factory, T1, changed) == (1, 0)
    with transaction(factory) as s:
        repo = RecordRepository(s)
        history = repo.history("social", "beneficiaries", EntityType.PERSON, "B1")
        assert [h.version for h in history] == [1, 2]
        assert [h.is_current for h in history] == [False, True]
        assert history[0].superseded_at == T1
        assert history[0].data["family_name"] == "Rojas"  # history is kept
        current = repo.current_entity("social", "beneficiaries", EntityType.PERSON, "B1")
        assert isinstance(current, Person) and current.family_name == "Rojas Soto"
        # the projection holds exactly the current version
        rows = s.scalars(select(PersonRecordRow)).all()
        assert [r.family_name for r in rows] == ["Rojas Soto"]
        assert rows[0].birth_date == date(1990, 5, 17)


def test_an_old_version_replayed_does_not_roll_back(factory: sessionmaker[Session]) -> None:
    old = NewRecord.of(EntityType.PERSON, "B1", _person())
    new = NewRecord.of(EntityType.PERSON, "B1", _person(family="Soto"))
    _write(factory, T0, old)
    _write(factory, T1, new)
    assert _write(factory, T1, old) == (0, 1)
    with transaction(factory) as s:
        current = RecordRepository(s).current_entity(
            "social", "beneficiaries", EntityType.PERSON, "B1"
        )
        assert isinstance(current, Person) and current.family_name == "Soto"


def test_two_versions_in_one_chunk(factory: sessionmaker[Session]) -> None:
    a = NewRecord.of(EntityType.PERSON, "B7", _person())
    b = NewRecord.of(EntityType.PERSON, "B7", _person(family="Vera"))
    assert _write(factory, T0, a, b) == (2, 0)
    with transaction(factory) as s:
        versions = RecordRepository(s).history("social", "beneficiaries", EntityType.PERSON, "B7")
        assert [(v.version, v.is_current) for v in versions] == [(1, False), (2, True)]
        assert s.scalar(select(func.count()).select_from(PersonRecordRow)) == 1


def test_identifiers_are_projected_and_searchable(factory: sessionmaker[Session]) -> None:
    _write(
        factory,
        T0,
        NewRecord.of(EntityType.PERSON, "B1", _person(run="123456785")),
        NewRecord.of(EntityType.PERSON, "B2", _person(run="123456784")),
    )
    with transaction(factory) as s:
        found = RecordRepository(s).persons_by_identifier("cl-run", "123456785")
        assert [p.record_id for p in found] == ["B1"]
        flags = dict(
            s.execute(select(PersonIdentifierRow.value, PersonIdentifierRow.check_digit_ok)).all()
        )
        assert flags == {"123456785": True, "123456784": False}
    # a new version replaces the identifiers of the old one
    _write(factory, T1, NewRecord.of(EntityType.PERSON, "B1", _person(run="111111111")))
    with transaction(factory) as s:
        assert RecordRepository(s).persons_by_identifier("cl-run", "123456785") == []
        assert s.scalar(select(func.count()).select_from(PersonIdentifierRow)) == 2


def test_time_stamps_come_back_in_utc(factory: sessionmaker[Session]) -> None:
    _write(factory, T0, NewRecord.of(EntityType.PERSON, "B1", _person()))
    with transaction(factory) as s:
        received = s.scalar(select(SourceRecordRow.received_at))
        assert received == T0 and received.tzinfo is not None


def _write_batch(
    factory: sessionmaker[Session], at: datetime, *records: NewRecord, staged: bool = False
) -> int:
    return write_persons(factory, at, records, staged=staged).written


@pytest.mark.parametrize("staged", [False, True], ids=["batch", "staged"])
def test_a_person_batch_with_one_known_record_is_written_as_versions(
    factory: sessionmaker[Session], staged: bool
) -> None:
    """A batch of new persons is inserted straight; when a record of it is known (here the
    last, after new ones were inserted), nothing of that attempt stays and the batch is
    written record by record: new versions, no duplicate. The same for a staged batch."""
    first = (NewRecord.of(PERSON, f"B{i}", _person()) for i in (1, 2))
    assert _write_batch(factory, T0, *first, staged=staged) == 2
    later = [NewRecord.of(PERSON, f"B{i}", _person(family="Soto")) for i in (3, 4, 5, 2)]
    assert _write_batch(factory, T1, *later, staged=staged) == 4
    assert _write_batch(factory, T1, *later, staged=staged) == 0  # the same again: nothing new
    with transaction(factory) as s:
        versions = s.execute(
            select(SourceRecordRow.source_record_id, SourceRecordRow.version).order_by(
                SourceRecordRow.id
            )
        ).all()
        current = s.scalar(select(func.count()).select_from(PersonRecordRow))
        identifiers = s.scalar(select(func.count()).select_from(PersonIdentifierRow))
    assert [tuple(v) for v in versions] == [
        ("B1", 1), ("B2", 1), ("B3", 1), ("B4", 1), ("B5", 1), ("B2", 2)
    ]  # fmt: skip
    assert current == 5 and identifiers == 5
