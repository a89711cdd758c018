"""Test support shared by the API and DCI tests: a registered client and a token for it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from nexo.auth import service as auth
from nexo.auth.keys import keystore
from nexo.store.base import utc_now
from nexo.store.engine import transaction


def client_token(
    factory: sessionmaker[Session], home: Path, client_id: str, agency: str, **kw: Any
) -> str:
    """Register a client (scope ``persons:read``; ``kw`` for more) and return a fresh access
    token for it, signed with the keys in ``home``."""
    options: dict[str, Any] = {"rate_per_second": 1000, "burst": 1000} | kw
    with transaction(factory) as s:
        auth.add_client(
            s, client_id=client_id, agency=agency, scopes=frozenset({"persons:read"}),
            now=utc_now(), **options,
        )  # fmt: skip
    with transaction(factory) as s:
        client = auth.get_client(s, client_id)
    assert client is not None
    return auth.issue_token(
        keystore(home), client=client, scope=None, issuer="nexo", audience="nexo-api",
        now=utc_now(), ttl=timedelta(minutes=5),
    ).token  # fmt: skip
