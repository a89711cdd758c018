"""Ingest of the synthetic registries with the example mappings, on both stores."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from nexo.adapters.repository import QuarantineRepository
from nexo.adapters.service import ingest_file
from nexo.adapters.spec import load_mapping
from nexo.adapters.tables import IngestBatchRow, QuarantineRow
from nexo.demo.service import DEMO_INPUTS, example_mapping
from nexo.model import EntityType
from nexo.store.engine import transaction
from nexo.store.repository import RecordRepository
from nexo.store.tables import EmploymentEpisodeRow, PersonRecordRow, SourceRecordRow
from nexo.synth.locale import mapping_params


def _mapping(name: str):  # type: ignore[no-untyped-def]
    return load_mapping(example_mapping(name), mapping_params("cl")[name])


def _count(factory: sessionmaker[Session], table: type) -> int:
    with transaction(factory) as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_every_row_is_stored_or_quarantined(factory: sessionmaker[Session], country: Path) -> None:
    reports = [ingest_file(factory, _mapping(n), country / rel) for n, rel in DEMO_INPUTS.items()]
    for r in reports:
        assert r.rows_read > 0
        assert r.stored + r.quarantined == r.rows_read
    by_reason = Counter[str]()
    for r in reports:
        by_reason.update(r.quarantined_by_reason)
    # the synthetic errors that cannot be translated are quarantined with their reason
    assert set(by_reason) <= {"invalid_date", "unknown_code"}
    with transaction(factory) as s:
        stored = QuarantineRepository(s).counts_by_reason()
    assert stored == dict(by_reason)


def test_quarantine_keeps_raw_text_and_reasons(
    factory: sessionmaker[Session], country: Path
) -> None:
    report = ingest_file(
        factory, _mapping("employment-episodes"), country / "employment/episodes.csv"
    )
    assert report.quarantined_by_reason.get("unknown_code", 0) >= 1
    with transaction(factory) as s:
        row = QuarantineRepository(s).list(reason="unknown_code")[0]
        assert row.raw.startswith(row.record_id or "?")
        assert row.reasons[0]["field"] == "occupation"
        assert "is not in code list occupations" in row.reasons[0]["message"]


def test_same_file_twice_adds_nothing(factory: sessionmaker[Session], country: Path) -> None:
    mapping = _mapping("employment-jobseekers")
    path = country / "employment/jobseekers.csv"
    first = ingest_file(factory, mapping, path)
    versions = _count(factory, SourceRecordRow)
    quarantined = _count(factory, QuarantineRow)
    second = ingest_file(factory, mapping, path)
    assert second.new_versions == 0 and second.unchanged == first.new_versions
    assert second.quarantined == first.quarantined
    assert _count(factory, SourceRecordRow) == versions
    assert _count(factory, QuarantineRow) == quarantined
    assert _count(factory, IngestBatchRow) == 2


def test_a_changed_row_becomes_a_new_version(
    factory: sessionmaker[Session], country: Path, tmp_path: Path
) -> None:
    mapping = _mapping("employment-jobseekers")
    path = country / "employment/jobseekers.csv"
    ingest_file(factory, mapping, path)
    lines = path.read_bytes().split(b"\r\n")
    cells = lines[1].split(b";")
    record_id = cells[0].decode()
    cells[4] = b"Nuevoapellido"  # a family name no synthetic person has
    lines[1] = b";".join(cells)
    changed = tmp_path / "jobseekers.csv"
    changed.write_bytes(b"\r\n".join(lines))
    report = ingest_file(factory, mapping, changed)
    assert report.new_versions == 1  # the person changed; the registration did not
    with transaction(factory) as s:
        history = RecordRepository(s).history(
            "employment", "jobseekers", EntityType.PERSON, record_id
        )
        assert [h.version for h in history] == [1, 2]
        current = s.scalar(
            select(PersonRecordRow.family_name).where(PersonRecordRow.record_id == record_id)
        )
        assert current == "Nuevoapellido"


def test_events_become_versions_of_enrolments(
    factory: sessionmaker[Session], country: Path
) -> None:
    report = ingest_file(
        factory, _mapping("social-benefit-events"), country / "social/benefit_events.xml"
    )
    with transaction(factory) as s:
        counts = RecordRepository(s).count_current()
    enrolments = counts[("social", "benefit-events", "benefit_enrolment")]
    assert report.new_versions == report.rows_read > enrolments > 0


def test_a_crash_mid_ingest_resumes_to_the_same_store(
    factory: sessionmaker[Session], country: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nexo.adapters.service as service

    mapping = _mapping("employment-episodes")
    path = country / "employment/episodes.csv"
    calls = {"n": 0}
    real = service.RecordRepository.write

    def crash_on_third_chunk(self, **kw):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("simulated crash")
        return real(self, **kw)

    monkeypatch.setattr(service.RecordRepository, "write", crash_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        ingest_file(factory, mapping, path, chunk_rows=500)
    monkeypatch.setattr(service.RecordRepository, "write", real)
    # two chunks of 500 rows were committed before the crash, each row stored or quarantined
    assert _count(factory, EmploymentEpisodeRow) + _count(factory, QuarantineRow) == 1000
    resumed = ingest_file(factory, mapping, path, chunk_rows=500)
    assert resumed.resumed_after_row == 1000
    assert resumed.stored + resumed.quarantined == resumed.rows_read
    total_rows = path.read_bytes().count(b"\n") - 1
    assert resumed.rows_read == total_rows
    assert _count(factory, EmploymentEpisodeRow) == resumed.stored
    assert _count(factory, IngestBatchRow) == 1  # the same batch, finished
