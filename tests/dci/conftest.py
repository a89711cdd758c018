"""A DCI registry on each store: population, registered senders, the router in a FastAPI app,
a worker for asynchronous messages and a real callback receiver.

``registry`` is fresh for each test; ``shared`` is one registry per module and store (reset
between tests) for tests that only read, which keeps the run short on PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dci_http import DciClient, Receiver, Registry
from dci_support import (
    FOREIGN_SENDER,
    LAX_SENDER,
    OTHER_CLIENT,
    SENDER,
    SOCIAL_CLIENT,
    SenderKey,
    StoreDisclosure,
    TokenAuthenticator,
    populate,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from nexo.config import DciSettings
from nexo.dci.keys import load_keyring
from nexo.dci.registration import register_sender
from nexo.dci.router import dci_router
from nexo.dci.sender import SignaturePolicy
from nexo.dci.service import DciRuntime
from nexo.dci.worker import DciWorker
from nexo.store.base import utc_now
from nexo.store.engine import make_engine, session_factory, transaction
from nexo.store.migrate import upgrade

PG_URL = os.environ.get("NEXO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
    assert r.invalid == [], "callbacks broke the DCI schema"


@pytest.fixture
def sender_keys() -> dict[str, SenderKey]:
    return {s: SenderKey(s) for s in (SENDER, LAX_SENDER, FOREIGN_SENDER)}


def build(
    factory: sessionmaker[Session], keys_dir: Path, receiver: Receiver, keys: dict[str, SenderKey]
) -> tuple[Registry, TestClient]:
    populate(factory)
    with transaction(factory) as session:
        for sender_id, client_id, policy in (
            (SENDER, SOCIAL_CLIENT, SignaturePolicy.REQUIRED),
            (LAX_SENDER, SOCIAL_CLIENT, SignaturePolicy.OPTIONAL),
            (FOREIGN_SENDER, OTHER_CLIENT, SignaturePolicy.OPTIONAL),
        ):
            register_sender(
                session,
                sender_id=sender_id,
                client_id=client_id,
                callbacks=[receiver.base],
                jwks=keys[sender_id].jwks,
                signature=policy,
                now=utc_now(),
            )
    disclosure = StoreDisclosure(factory)
    runtime = DciRuntime(
        factory=factory,
        authenticator=TokenAuthenticator(),
        disclosure=disclosure,
        keys=load_keyring(keys_dir),
        settings=DciSettings(delivery_backoff_seconds=0.05, delivery_backoff_max_seconds=0.2),
    )
    app = FastAPI()
    app.include_router(dci_router(runtime))
    http = TestClient(app)
    worker = DciWorker(runtime, poll=0.05)
    return Registry(runtime, disclosure, DciClient(http), receiver, keys, worker), http


@pytest.fixture
def registry(
    factory: sessionmaker[Session],
    tmp_path: Path,
    receiver: Receiver,
    sender_keys: dict[str, SenderKey],
) -> Iterator[Registry]:
    reg, http = build(factory, tmp_path / "dci-keys", receiver, sender_keys)
    with http:
        yield reg
    reg.worker.stop()


def _module_engine(kind: str, folder: Path) -> Iterator[Engine]:
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{folder / 'nexo.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def _shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    folder = tmp_path_factory.mktemp("dci-shared")
    receiver = Receiver()
    keys = {s: SenderKey(s) for s in (SENDER, LAX_SENDER, FOREIGN_SENDER)}
    for engine in _module_engine(request.param, folder):
        reg, http = build(session_factory(engine), folder / "dci-keys", receiver, keys)
        with http:
            yield reg
        reg.worker.stop()
    receiver.close()


@pytest.fixture
def shared(_shared: Registry) -> Registry:
    """The module's registry, with the port's record of calls and the receiver emptied."""
    _shared.disclosure.calls.clear()
    _shared.disclosure.fail = False
    _shared.receiver.received.clear()
    _shared.receiver.statuses.clear()
    return _shared
