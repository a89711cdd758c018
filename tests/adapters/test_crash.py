"""A real crash: ``nexo ingest`` killed with SIGKILL mid-ingest, then run again, leaves the
store exactly as one uninterrupted run does."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from adapter_helpers import PG_URL, valid_run
from sqlalchemy import Engine, inspect, text

from nexo.adapters.person_csv import write_person_csv
from nexo.store.engine import make_engine

ROWS, CHUNK = 12_000, 300


def _persons(path: Path) -> None:
    rng = random.Random(3)
    rows = []
    for i in range(ROWS):
        rows.append(
            {
                "record_id": f"R{i:06d}" if i % 997 else "",  # some rows have no id
                "given_name": rng.choice(["Ana", "Luis", "Eva", "José"]),
                "family_name": rng.choice(["Rojas", "Soto", "Núñez"]),
                "birth_date": f"19{rng.randint(40, 99)}-0{rng.randint(1, 9)}-"
                f"{rng.randint(1, 31):02d}",  # some days do not exist
                "sex": rng.choice(["f", "m", "x"]),  # x is no code of the mapping
                "national_id": valid_run(i) if i % 5 else "1-9",
                "locality": "Temuco",
            }
        )
        if i % 500 == 7:  # the same record again, changed: a second version in the same file
            rows.append({**rows[-1], "locality": "Villarrica"})
    write_person_csv(path, rows)


def _nexo(url: str, data: Path, home: Path, workers: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXO_")}
    env |= {
        "NEXO_HOME": str(home),
        "NEXO_DATABASE_URL": url,
        "NEXO_INGEST__CHUNK_ROWS": str(CHUNK),
        "NEXO_INGEST__WORKERS": str(workers),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "nexo", "ingest", "--mapping", "person-csv", "--agency", "town",
         "--param", "id_scheme=cl-run", str(data), "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _committed(engine: Engine) -> tuple[int, str] | None:
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT resume_row, status FROM ingest_batch")).first()
    except Exception:  # noqa: BLE001 - the tables may not exist yet
        return None
    return (int(row[0]), str(row[1])) if row else None


def _snapshot(engine: Engine) -> dict[str, Any]:
    queries = {
        "versions": "SELECT entity_type, source_record_id, version, is_current, content_hash, "
        "mapping_version, source_updated_on FROM source_record",
        "persons": "SELECT p.record_id, p.given_names, p.family_name, p.birth_date, p.sex, "
        "p.locality, s.version, s.content_hash FROM person_record p "
        "JOIN source_record s ON s.id = p.source_record_pk",
        "identifiers": "SELECT p.record_id, i.scheme, i.value, i.verified, i.check_digit_ok "
        "FROM person_identifier i JOIN person_record p ON p.id = i.person_pk",
        "quarantine": "SELECT row_number, record_id, raw, reason_code, status FROM quarantine_row",
        "batches": "SELECT status, rows_read, stored, unchanged, quarantined, resume_row "
        "FROM ingest_batch",
    }
    with engine.connect() as conn:
        snap: dict[str, Any] = {
            k: sorted(tuple(map(str, r)) for r in conn.execute(text(q))) for k, q in queries.items()
        }
        reasons = conn.execute(text("SELECT row_number, reasons FROM quarantine_row"))
        snap["reasons"] = sorted(
            (n, json.dumps(r if not isinstance(r, str) else json.loads(r))) for n, r in reasons
        )
        # a killed bulk load left its deferred indexes missing: the rerun built them
        insp = inspect(conn)
        snap["indexes"] = sorted(
            (t, str(i["name"])) for t in insp.get_table_names() for i in insp.get_indexes(t)
        )
    return snap


def _left_behind(home: Path) -> list[int]:
    """Processes still running with this test's NEXO_HOME (mapping workers of a dead ingest)."""
    marker = f"NEXO_HOME={home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@pytest.fixture(
    params=[
        ("sqlite", 0),
        ("sqlite", 2),
        pytest.param(("postgresql", 2), marks=pytest.mark.postgres),
    ],
    ids=["sqlite", "sqlite-workers", "postgresql-workers"],
)
def two_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    store, workers = request.param
    if store == "sqlite":
        yield f"sqlite:///{tmp_path / 'killed.db'}", f"sqlite:///{tmp_path / 'clean.db'}", workers
        return
    schemas = [f"k_{uuid.uuid4().hex[:10]}", f"c_{uuid.uuid4().hex[:10]}"]
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        for s in schemas:
            conn.execute(text(f'CREATE SCHEMA "{s}"'))
    try:
        a, b = (f"{PG_URL}?options=-csearch_path%3D{s}" for s in schemas)
        yield a, b, workers
    finally:
        with admin.begin() as conn:
            for s in schemas:
                conn.execute(text(f'DROP SCHEMA "{s}" CASCADE'))
        admin.dispose()


def test_sigkill_then_rerun_equals_an_uninterrupted_run(
    tmp_path: Path, two_stores: tuple[str, str, int]
) -> None:
    """The killed run maps in worker processes or not; the uninterrupted one never does."""
    killed_url, clean_url, workers = two_stores
    data = tmp_path / "persons.csv"
    _persons(data)
    killed = make_engine(killed_url)
    proc = _nexo(killed_url, data, tmp_path, workers)
    at: tuple[int, str] | None = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        at = _committed(killed)
        if at and at[0] >= CHUNK and at[1] == "running":
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "ingest finished before it could be killed"
    assert at is not None and CHUNK <= at[0] < ROWS
    assert _committed(killed) is not None  # what was committed is there
    if killed.dialect.name == "sqlite":  # killed in a bulk load, before it built its indexes
        assert "ix_person_identifier_lookup" not in {
            i["name"] for i in inspect(killed).get_indexes("person_identifier")
        }
    deadline = time.monotonic() + 20
    while _left_behind(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _left_behind(tmp_path) == [], "mapping workers outlived the killed ingest"

    rerun = _nexo(killed_url, data, tmp_path, workers)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    report = json.loads(out)
    assert report["resumed_after_row"] >= at[0]
    assert report["rows_read"] == report["stored"] + report["quarantined"]

    clean = _nexo(clean_url, data, tmp_path, 0)
    out, err = clean.communicate(timeout=300)
    assert clean.returncode == 0, err
    uninterrupted = json.loads(out)
    assert uninterrupted["rows_read"] == report["rows_read"]
    assert uninterrupted["quarantined_by_reason"] == report["quarantined_by_reason"]

    clean_engine = make_engine(clean_url)
    try:
        expected, got = _snapshot(clean_engine), _snapshot(killed)
        assert len(expected["versions"]) > ROWS // 2 and expected["quarantine"]
        assert {k: len(v) for k, v in got.items()} == {k: len(v) for k, v in expected.items()}
        assert got == expected
    finally:
        clean_engine.dispose()
        killed.dispose()
