"""The read-ahead process (``workers.ReadAhead``): chunks in order, staged for SQLite, and an
early close that stops it without leaving a staged file behind."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nexo.adapters.chunk import ChunkOut, MappedChunk
from nexo.adapters.service import AUTO_READERS, read_ahead_processes
from nexo.adapters.spec import load_mapping, resolve_mapping
from nexo.adapters.workers import ReadAhead, WorkerFailed, follow_on
from nexo.store.repository import PersonBatch
from nexo.store.staging import StagedPersons

HEADER = ["record_id", "given_name", "family_name", "birth_date", "sex", "national_id"]
OUT = ChunkOut("b", "a", "s", "in.csv", "0" * 64, datetime(2026, 1, 1, tzinfo=UTC))


def _input(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write(",".join(HEADER) + "\n")
        for i in range(1, rows + 1):
            day = "1990-02-30" if i % 10 == 0 else "1990-02-03"  # every tenth quarantined
            f.write(f"P{i},Ana,Rojas,{day},f,12345678-5\n")


@pytest.mark.parametrize(
    ("stage", "readers"), [(False, 1), (True, 1), (True, 2), (False, 3)], ids=str
)
def test_chunks_arrive_in_order_and_staged_for_sqlite(
    tmp_path: Path, stage: bool, readers: int
) -> None:
    """With one read-ahead process or several taking turns (four chunks: the second of two
    processes maps two of them, the third of three one)."""
    path = tmp_path / "in.csv"
    _input(path, 45)
    mapping = load_mapping(resolve_mapping("person-csv"), {"agency": "a", "id_scheme": "cl-run"})
    ahead = ReadAhead(mapping, path, 10, stage, readers)
    ahead.start(5, OUT, HEADER)
    try:
        chunks = list(ahead)
        batches = [mapped.batch for _, _, mapped in chunks]
        loaded = [b.load() if isinstance(b, StagedPersons) else b for b in batches]
    finally:
        ahead.close()  # (it removes the staged files)
    assert [(n, last) for n, last, _ in chunks] == [(10, 15), (10, 25), (10, 35), (10, 45)]
    assert all(isinstance(b, StagedPersons if stage else PersonBatch) for b in batches)
    staged = [Path(b.path) for b in batches if isinstance(b, StagedPersons)]
    assert all(p.parent == ahead.folder for p in staged) and not any(p.exists() for p in staged)
    ids = [rid for b in loaded if b is not None for rid in b.record_ids]
    assert ids == [f"P{i}" for i in range(6, 46) if i % 10]
    quarantined = [q["row_number"] for _, _, mapped in chunks for q in mapped.quarantine]
    assert quarantined == [10, 20, 30, 40]
    assert not any(r.proc.is_alive() for r in ahead.readers)


def test_an_early_close_stops_the_process_and_removes_its_staged_files(tmp_path: Path) -> None:
    """The ingest stops after one chunk (as when a commit fails): the read-ahead process,
    blocked on a full pipe or staging the next chunk, ends, and its folder of staged files
    is removed."""
    path = tmp_path / "in.csv"
    _input(path, 20_000)
    mapping = load_mapping(resolve_mapping("person-csv"), {"agency": "a", "id_scheme": "cl-run"})
    ahead = ReadAhead(mapping, path, 1_000, True, readers=2)
    assert ahead.folder is not None and ahead.folder.is_dir()
    ahead.start(1, OUT, HEADER)
    first = next(iter(ahead))
    assert first[0] == 1_000
    time.sleep(0.5)  # (it reads, maps and stages on meanwhile)
    started = time.monotonic()
    ahead.close()
    assert time.monotonic() - started < 5
    assert not any(r.proc.is_alive() or r.receiver.is_alive() for r in ahead.readers)
    assert not ahead.folder.exists()


def test_processes_never_started_end_when_closed(tmp_path: Path) -> None:
    """Read-ahead processes start up before the ingest knows it needs them (its input may
    hold one chunk only): closed without a start, they end and leave nothing behind."""
    path = tmp_path / "in.csv"
    _input(path, 20)
    mapping = load_mapping(resolve_mapping("person-csv"), {"agency": "a", "id_scheme": "cl-run"})
    ahead = ReadAhead(mapping, path, 1_000, True, readers=2)
    with pytest.raises(RuntimeError, match="start"):
        iter(ahead)
    started = time.monotonic()
    ahead.close()
    assert time.monotonic() - started < 5
    assert not any(r.proc.is_alive() or r.receiver.is_alive() for r in ahead.readers)
    assert ahead.folder is not None and not ahead.folder.exists()


def test_read_ahead_processes_are_as_configured_else_one_per_core_at_most_two(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert read_ahead_processes(3) == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0}, raising=False)
    assert read_ahead_processes(None) == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(8)), raising=False)
    assert read_ahead_processes(None) == AUTO_READERS == 2


def test_chunks_that_do_not_follow_on_stop_the_ingest() -> None:
    """Read-ahead processes that cut the input differently (it changed while they read) would
    lose or repeat rows: each chunk must start right after the one before."""
    chunk = MappedChunk()
    good = [(10, 15, chunk), (10, 25, chunk), (3, 28, chunk)]
    assert list(follow_on(5, good)) == good
    with pytest.raises(WorkerFailed, match="rows 25 to 34 came after row 25"):
        list(follow_on(5, [(10, 15, chunk), (10, 25, chunk), (10, 34, chunk)]))
    with pytest.raises(WorkerFailed, match="rows 1 to 10 came after row 5"):
        list(follow_on(5, [(10, 10, chunk)]))
