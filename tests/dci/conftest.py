"""A DCI registry on each store: population, registered senders, the router in a FastAPI app,
a worker for asynchronous messages and a real callback receiver."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from nexo.config import DciSettings
from nexo.dci.keys import load_keyring
from nexo.dci.registration import register_sender
from nexo.dci.router import dci_router
from nexo.dci.sender import SignaturePolicy
from nexo.dci.service import DciRuntime
from nexo.dci.worker import DciWorker
from nexo.store.base import utc_now
from nexo.store.engine import transaction
from dci_support import (
    FOREIGN_SENDER,
    LAX_SENDER,
    OTHER_CLIENT,
    SENDER,
    SOCIAL_CLIENT,
    DciClient,
    Receiver,
    SenderKey,
    StoreDisclosure,
    TokenAuthenticator,
    populate,
)


@dataclass
class Registry:
    runtime: DciRuntime
    disclosure: StoreDisclosure
    client: DciClient
    receiver: Receiver
    keys: dict[str, SenderKey]
    worker: DciWorker
    started: list[bool] = field(default_factory=list)

    def start_worker(self) -> None:
        self.runtime.on_accept = self.worker.wake
        self.worker.start()
        self.started.append(True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sender_keys() -> dict[str, SenderKey]:
    return {s: SenderKey(s) for s in (SENDER, LAX_SENDER, FOREIGN_SENDER)}


@pytest.fixture
def registry(
    factory: sessionmaker[Session],
    tmp_path: Path,
    receiver: Receiver,
    sender_keys: dict[str, SenderKey],
) -> Iterator[Registry]:
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
                jwks=sender_keys[sender_id].jwks,
                signature=policy,
                now=utc_now(),
            )
    disclosure = StoreDisclosure(factory)
    runtime = DciRuntime(
        factory=factory,
        authenticator=TokenAuthenticator(),
        disclosure=disclosure,
        keys=load_keyring(tmp_path / "dci-keys"),
        settings=DciSettings(delivery_backoff_seconds=0.05, delivery_backoff_max_seconds=0.2),
    )
    app = FastAPI()
    app.include_router(dci_router(runtime))
    worker = DciWorker(runtime, poll=0.05)
    with TestClient(app) as http:
        reg = Registry(runtime, disclosure, DciClient(http), receiver, sender_keys, worker)
        yield reg
    worker.stop()
