"""Benchmark: DCI synchronous search, signed both ways, through Nexo's own app.

No target is set for DCI in the issue; this prints what a DCI search costs as ``nexo serve``
answers it: the exchange's bearer token, the built-in agreements (``sp-case-management-own``:
the social agency on its own records), the row filter, minimisation and an audit entry per
search. It prints latency percentiles of whole requests by identifier, the time of a broad
search (a family name a quarter of the population shares: the policy scan up to
``NEXO_DCI__MAX_SCAN``), and the per-message cost of the schema check, the signature check and
the reply signature. Requests run in process (no network).

Run: python bench/dci.py [--persons N] [--requests M] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import insert

from nexo.api.app import create_app
from nexo.auth import service as auth
from nexo.auth.keys import keystore
from nexo.config import Settings
from nexo.dci.envelope import callback_header, signed
from nexo.dci.intake import SYNC_SEARCH
from nexo.dci.registration import register_sender
from nexo.dci.sender import SignaturePolicy
from nexo.dci.service import DciRuntime
from nexo.dci.signature import parse_jwks, public_jwk, sign, verify
from nexo.dci.standard import problems, request_pointer
from nexo.linkage.tables import MpiLinkRow, MpiPersonRow
from nexo.model import EntityType, Identifier, Person, Sex
from nexo.model.identifier import IdentifierScheme, run_check_digit
from nexo.store.engine import make_engine, session_factory, transaction
from nexo.store.migrate import upgrade
from nexo.store.repository import NewRecord, RecordRepository

BROAD = {
    "type": "ns:org:QueryType:NoSql",
    "value": {"expression": {"collection": "Member", "query": {"family_name": {"$eq": "Rojas"}}}},
}
NOW = datetime(2026, 6, 30, tzinfo=UTC)


def load(factory: Any, persons: int) -> list[str]:
    rng = random.Random(7)
    runs: list[str] = []
    chunk = 5000
    for start in range(0, persons, chunk):
        records, mpi, links = [], [], []
        for n in range(start, min(start + chunk, persons)):
            body = str(5_000_000 + n * 7)
            run = body + run_check_digit(body)
            runs.append(run)
            person = Person(
                given_names=rng.choice(["Ana", "Luis", "María", "José", "Camila"]),
                family_name=rng.choice(["Pérez", "Rojas", "Soto", "Muñoz"]),
                birth_date=date(1950 + n % 60, 1 + n % 12, 1 + n % 28),
                sex=rng.choice([Sex.FEMALE, Sex.MALE]),
                identifiers=(Identifier(scheme=IdentifierScheme.CL_RUN, value=run),),
            )
            records.append(NewRecord.of(EntityType.PERSON, f"P{n}", person))
            mpi.append(
                {
                    "person_id": f"NX{n:08d}",
                    "status": "active",
                    "merged_into": None,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
            links.append(
                {
                    "person_id": f"NX{n:08d}",
                    "agency": "social",
                    "source": "bench",
                    "record_id": f"P{n}",
                    "match_probability": 1.0,
                    "method": "singleton",
                    "run_id": None,
                    "linked_at": NOW,
                }
            )
        with transaction(factory) as session:
            RecordRepository(session).write(
                agency="social",
                source="bench",
                batch_id=str(uuid.uuid4()),
                mapping_version=None,
                received_at=NOW,
                records=records,
            )
            session.execute(insert(MpiPersonRow), mpi)
            session.execute(insert(MpiLinkRow), links)
    return runs


def message(run: str | None, key: Ed25519PrivateKey, kid: str) -> dict[str, Any]:
    """A signed search by identifier, or (``run`` None) by family name."""
    now = datetime.now(UTC)
    header = {
        "version": "1.0.0",
        "message_id": str(uuid.uuid4()),
        "message_ts": now.isoformat(),
        "action": "search",
        "sender_id": "bench.example.org",
        "receiver_id": "nexo",
        "total_count": 1,
    }
    body = {
        "transaction_id": str(uuid.uuid4()),
        "search_request": [
            {
                "reference_id": "1",
                "timestamp": now.isoformat(),
                "search_criteria": {
                    **(
                        {"query_type": "idtype-value", "query": {"type": "UIN", "value": run}}
                        if run
                        else {"query_type": "expression", "query": BROAD}
                    ),
                    "authorize": {"purpose": {"code": "case-management"}},
                },
                "locale": "eng",
            }
        ],
    }
    return {
        "signature": sign(
            header, body, key=key, sender_id="bench.example.org", kid=kid, now=now.timestamp()
        ),
        "header": header,
        "message": body,
    }


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nexo-bench-dci-"))
    engine = make_engine(args.database_url or f"sqlite:///{folder / 'nexo.db'}")
    upgrade(engine)
    factory = session_factory(engine)
    t0 = time.perf_counter()
    runs = load(factory, args.persons)
    load_s = time.perf_counter() - t0
    key = Ed25519PrivateKey.generate()
    jwk = public_jwk(key.public_key())
    with transaction(factory) as session:
        register_sender(
            session,
            sender_id="bench.example.org",
            client_id="bench-client",
            callbacks=[],
            jwks={"keys": [jwk]},
            signature=SignaturePolicy.REQUIRED,
            now=NOW,
        )
    home = folder / "home"
    settings = Settings(home=home)
    with transaction(factory) as session:
        client, _ = auth.add_client(
            session, client_id="bench-client", agency="social",
            scopes=frozenset({"persons:read"}), rate_per_second=10_000, burst=10_000,
            default_purpose="case-management", now=datetime.now(UTC),
        )  # fmt: skip
    token = auth.issue_token(
        keystore(home), client=client, scope=None, issuer=settings.api.issuer,
        audience=settings.api.audience, now=datetime.now(UTC), ttl=timedelta(hours=2),
    ).token  # fmt: skip
    app = create_app(settings=settings, factory=factory)
    runtime: DciRuntime = app.state.dci
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    rng = random.Random(11)
    latencies: list[float] = []
    found = 0
    with TestClient(app) as http:
        for i in range(args.requests + 20):
            body = json.dumps(message(rng.choice(runs), key, jwk["kid"])).encode()
            t = time.perf_counter()
            reply = http.post("/dci/registry/sync/search", content=body, headers=headers)
            elapsed = time.perf_counter() - t
            assert reply.status_code == 200, reply.text
            if i >= 20:  # warm-up
                latencies.append(elapsed * 1000)
                found += len(reply.json()["message"]["search_response"][0]["data"]["reg_records"])
        broad: list[float] = []
        for _ in range(3):
            body = json.dumps(message(None, key, jwk["kid"])).encode()
            t = time.perf_counter()
            reply = http.post("/dci/registry/sync/search", content=body, headers=headers)
            broad.append((time.perf_counter() - t) * 1000)
            assert reply.status_code == 200, reply.text
            answer = reply.json()["message"]["search_response"][0]
            counted = answer["pagination"]["total_count"]
    sample = message(runs[0], key, jwk["kid"])
    keys = parse_jwks({"keys": [jwk]})
    costs = {}
    for name, fn in (
        (
            "schema check",
            lambda: problems(SYNC_SEARCH.document, request_pointer(SYNC_SEARCH.path), sample),
        ),
        (
            "signature check",
            lambda: verify(
                sample["signature"],
                sample["header"],
                sample["message"],
                sender_id="bench.example.org",
                keys=keys,
                now=time.time(),
            ),
        ),
        (
            "reply signature",
            lambda: signed(
                callback_header(
                    action="on-search",
                    registry_id="nexo",
                    receiver_id="x",
                    total=1,
                    completed=1,
                    now=NOW,
                ),
                sample["message"],
                runtime.keys,
                "nexo",
                NOW,
            ),
        ),
    ):
        t = time.perf_counter()
        for _ in range(200):
            fn()
        costs[name] = (time.perf_counter() - t) / 200 * 1000
    print(
        f"dci: {args.persons:,} persons loaded in {load_s:.1f} s ({engine.url.get_backend_name()})"
    )
    print(f"  sync search by identifier, {args.requests} requests, sequential, in process:")
    p50, p95, p99 = (pct(latencies, p) for p in (50, 95, 99))
    print(f"    p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   p99 {p99:7.2f} ms")
    mean = statistics.fmean(latencies)
    print(
        f"    mean {mean:6.2f} ms   {1000 / mean:6.0f} requests/s   found {found}/{args.requests}"
    )
    print(
        f"  broad search (family_name = Rojas, a quarter of the persons): "
        f"{statistics.median(broad):,.0f} ms (median of 3), total_count {counted:,} "
        f"(capped at {settings.dci.max_scan:,} matches decided)"
    )
    for name, ms in costs.items():
        print(f"  {name:<16} {ms:6.3f} ms per message")
    print(f"  load average {os.getloadavg()}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
