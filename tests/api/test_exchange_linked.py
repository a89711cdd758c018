"""The API over a store that linkage has really filled: demographic search needs no injection."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from client_tokens import client_token
from nexo.adapters.service import ingest_file
from nexo.adapters.spec import load_mapping
from nexo.api.app import create_app
from nexo.config import Settings
from nexo.demo.service import DEMO_INPUTS, example_mapping
from nexo.linkage.service import run_linkage
from nexo.linkage.tables import MpiLinkRow
from nexo.store.engine import transaction
from nexo.store.tables import PersonRecordRow
from nexo.synth.locale import mapping_params

IN_FORCE = datetime(2026, 6, 30, 15, 0, tzinfo=UTC)  # inside the example agreements' windows


def test_demographic_search_uses_the_linked_index(
    factory: sessionmaker[Session], country: Path, tmp_path: Path
) -> None:
    params = mapping_params("cl")
    for name in ("employment-jobseekers", "social-beneficiaries"):
        ingest_file(factory, load_mapping(example_mapping(name), params[name]),
                    country / DEMO_INPUTS[name])  # fmt: skip
    home = tmp_path / "home"
    settings = Settings(home=home)
    token = client_token(factory, home, "pes-client", "employment")
    app = create_app(settings=settings, factory=factory, clock=lambda: IN_FORCE)
    client = TestClient(app)
    headers = {"Authorization": f"Bearer {token}"}
    # before linkage: demographic search is honestly unavailable
    body = {
        "purpose": "identity-verification",
        "given_names": "Ana",
        "family_name": "Rojas",
        "birth_date": "1990-05-17",
    }
    r = client.post("/v1/persons/match", json=body, headers=headers)
    assert r.status_code == 501 and r.json()["type"] == "/problems/matcher-unavailable"

    run_linkage(factory, truth=country / "truth" / "persons.csv")
    # a person both agencies know: the employment service's own record, as typed there
    with (country / "truth" / "persons.csv").open(encoding="utf-8") as f:
        truth = list(csv.DictReader(f))
    agencies: dict[str, set[str]] = {}
    for row in truth:
        agencies.setdefault(row["person_id"], set()).add(row["agency"])
    with transaction(factory) as s:
        linked = dict(s.execute(select(MpiLinkRow.record_id, MpiLinkRow.person_id)).all())
        target = next(
            p
            for p in s.scalars(
                select(PersonRecordRow)
                .where(PersonRecordRow.agency == "employment")
                .order_by(PersonRecordRow.record_id)
            )  # noqa: E501
            if p.given_names
            and p.birth_date
            and agencies[next(r["person_id"] for r in truth if r["record_id"] == p.record_id)]
            == {"employment", "social"}
        )
        body = {
            "purpose": "identity-verification", "given_names": target.given_names,
            "family_name": target.family_name, "birth_date": target.birth_date.isoformat(),
        }  # fmt: skip
    r = client.post("/v1/persons/match", json=body, headers=headers)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["person_id"] for x in results][:1] == [linked[target.record_id]]
    assert results[0]["probability"] >= 0.95
