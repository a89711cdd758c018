"""Small mappings and data for the adapter tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from nexo.adapters.spec import Mapping, load_mapping
from nexo.model.identifier import run_check_digit
from nexo.store.engine import transaction

PG_URL = os.environ.get("NEXO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

_KEYS = ("ID", "GIVEN", "FAMILY", "BIRTH", "NAT")
PEOPLE = [
    dict(zip(_KEYS, ("P1", "Ana María", "Rojas", "1990-01-02", "12345678-5"), strict=True)),
    dict(zip(_KEYS, ("P2", "Luis", "Núñez", "1985-12-31", "7654321-6"), strict=True)),
    dict(zip(_KEYS, ("P3", "Sofía", "Pérez", "2001-02-30", ""), strict=True)),
]
"""Two good persons and one with an impossible birth date (quarantined: invalid_date)."""


def valid_run(n: int) -> str:
    body = str(5_000_000 + n)
    return f"{body}-{run_check_digit(body)}"


def person_mapping(
    tmp_path: Path,
    fmt: dict[str, Any],
    cols: dict[str, str] | None = None,
    *,
    name: str = "person",
    extra: dict[str, Any] | None = None,
) -> Mapping:
    """A person mapping over columns (or paths) ID, GIVEN, FAMILY, BIRTH and NAT."""
    c = {k: k for k in ("ID", "GIVEN", "FAMILY", "BIRTH", "NAT")} | (cols or {})
    spec: dict[str, Any] = {
        "nexo_mapping": 1,
        "name": name,
        "version": "1",
        "agency": "test",
        "source": name,
        "format": fmt,
        "record_id": {"from": c["ID"], "steps": ["trim"]},
        "entities": [
            {
                "type": "person",
                "fields": {
                    "given_names": {"from": c["GIVEN"], "steps": ["collapse_spaces"]},
                    "family_name": {"from": c["FAMILY"], "steps": ["collapse_spaces"]},
                    "birth_date": {
                        "from": c["BIRTH"],
                        "steps": ["trim", "empty_to_null", {"date": "%Y-%m-%d"}],
                    },
                },
                "identifiers": [{"scheme": "cl-run", "value": c["NAT"]}],
            }
        ],
    }
    spec.update(extra or {})
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_mapping(path)


def count(factory: sessionmaker[Session], table: Any, **where: Any) -> int:
    with transaction(factory) as s:
        q = select(func.count()).select_from(table)
        for k, v in where.items():
            q = q.where(getattr(table, k) == v)
        return int(s.scalar(q) or 0)


def column(factory: sessionmaker[Session], attr: Any) -> list[Any]:
    with transaction(factory) as s:
        return sorted(s.scalars(select(attr)).all(), key=str)
