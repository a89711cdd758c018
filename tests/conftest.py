"""Shared fixtures: stores on SQLite and PostgreSQL, a small synthetic country."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from nexo.store.engine import make_engine, session_factory
from nexo.store.migrate import upgrade
from nexo.synth.domain import SynthConfig
from nexo.synth.service import generate

PG_URL = os.environ.get("NEXO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_engine() -> Iterator[Engine]:
    """A fresh schema in the test database, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as e:  # noqa: BLE001
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_URL} ({e.__class__.__name__}); start it with "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty, migrated store on each supported backend."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'nexo.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
    else:
        for eng in _postgres_engine():
            upgrade(eng)
            yield eng


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture(scope="session")
def country(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic Chilean country, shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("country") / "cl"
    generate(SynthConfig(persons=1500, seed=11, locale="cl"), out)
    return out


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes to the developer's ./.nexo or reads their NEXO_ settings."""
    from nexo.config import get_settings

    for key in list(os.environ):
        if key.startswith("NEXO_") and not key.startswith("NEXO_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("NEXO_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
