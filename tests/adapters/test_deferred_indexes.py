"""A bulk load into SQLite builds the reader-only indexes once at the end, leaves the same store
as a load that keeps them, and builds them again even when it fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from test_vector import _mapping, _store, _write_csv, person_rows

from nexo.adapters.service import ingest
from nexo.config import get_settings
from nexo.store import bulk
from nexo.store.engine import make_engine, session_factory, transaction
from nexo.store.migrate import upgrade
from nexo.store.repository import RecordRepository

LOOKUP = "ix_person_identifier_lookup"


def _has_lookup(engine: Engine) -> bool:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            q = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = :n"
        else:
            q = "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() "
            q += "AND indexname = :n"
        return bool(conn.execute(text(q), {"n": LOOKUP}).scalar_one())


def _setting(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("NEXO_INGEST__DEFER_INDEXES", value)
    get_settings.cache_clear()


def _load(
    factory: sessionmaker[Session], engine: Engine, data: Path, agency: str = "t"
) -> list[bool]:
    """Ingest ``data`` in chunks of 500 rows; whether the lookup index existed after each."""
    seen: list[bool] = []
    ingest(
        factory,
        _mapping(agency),
        data,
        chunk_rows=500,
        workers=0,
        progress=lambda done, total: seen.append(_has_lookup(engine)),
    )
    return seen


def test_a_deferred_load_leaves_the_same_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "p.csv"
    _write_csv(data, person_rows(3000, seed=9))
    stores = {}
    for setting in ("always", "never"):
        _setting(monkeypatch, setting)
        engine = make_engine(f"sqlite:///{tmp_path / setting}.db")
        upgrade(engine)
        seen = _load(session_factory(engine), engine, data)
        assert len(seen) >= 6 and set(seen) == {setting == "never"}  # built at the end only
        assert _has_lookup(engine)
        stores[setting] = _store(engine, "t")
        with transaction(session_factory(engine)) as s:
            scheme, value = stores[setting]["identifiers"][0][1:3]
            assert RecordRepository(s).persons_by_identifier(scheme, value)
        engine.dispose()
    assert stores["always"] == stores["never"]
    assert len(stores["always"]["versions"]) > 2700 and stores["always"]["quarantine"]


def test_a_failed_load_builds_the_indexes_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setting(monkeypatch, "always")
    data = tmp_path / "p.csv"
    _write_csv(data, person_rows(2000, seed=4))
    engine = make_engine(f"sqlite:///{tmp_path / 'nexo.db'}")
    upgrade(engine)

    def stop(done: int, total: int | None) -> None:
        assert not _has_lookup(engine)
        raise KeyboardInterrupt  # the operator stops the ingest

    with pytest.raises(KeyboardInterrupt):
        ingest(session_factory(engine), _mapping(), data, chunk_rows=500, workers=0, progress=stop)
    assert _has_lookup(engine)
    engine.dispose()


def test_auto_defers_loads_big_for_the_store(
    engine: Engine, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By default on SQLite: an input of at least MIN_ROWS rows and as many as the store holds;
    never on PostgreSQL."""
    data = tmp_path / "p.csv"
    _write_csv(data, person_rows(1500, seed=2))
    assert set(_load(factory, engine, data, "small")) == {True}  # fewer rows than MIN_ROWS
    monkeypatch.setattr(bulk, "MIN_ROWS", 1000)
    sqlite = engine.dialect.name == "sqlite"
    assert set(_load(factory, engine, data, "first")) == {not sqlite}  # 1,500 rows >= the store
    assert set(_load(factory, engine, data, "third")) == {True}  # the store now holds more
    assert _has_lookup(engine)
