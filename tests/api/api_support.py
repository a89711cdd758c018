"""Test support of the API tests: an app over the tiny test country, with three clients and a
clock tests can move (imported by name; the fixture is in ``conftest``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from exchange_world import World, build_world
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from nexo.api.app import create_app
from nexo.auth import service as auth
from nexo.auth.keys import KeyStore, keystore
from nexo.config import Settings
from nexo.store.base import utc_now
from nexo.store.engine import transaction

ALL_SCOPES = frozenset({"persons:read", "consent:write", "audit:read"})
#: inside every example agreement's window (they start 2026-01-01, Chile time)
IN_FORCE = datetime(2026, 6, 30, 15, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = IN_FORCE

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Api:
    client: TestClient
    factory: sessionmaker[Session]
    keys: KeyStore
    world: World
    clock: Clock
    settings: Settings
    secrets: dict[str, str] = field(default_factory=dict)

    def token(
        self,
        client_id: str,
        scope: str | None = None,
        ttl: timedelta = timedelta(minutes=5),
        long_lived: bool = False,
    ) -> str:
        with transaction(self.factory) as s:
            client = auth.get_client(s, client_id)
        assert client is not None
        issued = auth.issue_token(
            self.keys,
            client=client,
            scope=scope,
            issuer="nexo",
            audience="nexo-api",
            now=utc_now(),
            ttl=ttl,
            long_lived=long_lived,
        )
        return issued.token

    def headers(self, client_id: str, scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(client_id, scope)}"}


def add_clients(factory: sessionmaker[Session]) -> dict[str, str]:
    out = {}
    with transaction(factory) as s:
        for cid, agency in (("soc", "social"), ("pes", "employment"), ("tax", "tax")):
            _, secret = auth.add_client(
                s,
                client_id=f"{cid}-client",
                agency=agency,
                scopes=ALL_SCOPES,
                rate_per_second=1000,
                burst=1000,
                now=utc_now(),
            )
            assert secret
            out[f"{cid}-client"] = secret
    return out


def make_api(factory: sessionmaker[Session], home: Path, **settings: object) -> Api:
    world = build_world(factory)
    secrets = add_clients(factory)
    clock = Clock()
    cfg = Settings(home=home, **settings)  # type: ignore[arg-type]
    app = create_app(settings=cfg, factory=factory, clock=clock)
    return Api(TestClient(app), factory, keystore(home), world, clock, cfg, secrets)
