"""Benchmark: a person CSV into the SQLite store, with validation.

Generates Nexo's canonical person CSV (about 1 % of rows with an impossible date or an unknown
sex code, so the quarantine is exercised), then for each size ingests it with the built-in
``person-csv`` mapping (Chile RUN check digits, dates, code lists, canonical-model validation)
into a fresh SQLite store, in a child process whose peak memory is measured. In the same run it
times DuckDB's plain ``read_csv`` of the same file (the reference for how close to the I/O limit
ingest runs) and the bare SQLite write of the same number of rows into the store's tables
(prepared multi-row statements, no mapping: the ceiling of any ingest into this schema from
Python; like ingest, it builds the identifier index after the load).

    .venv/bin/python bench/ingest.py                      # 1,000,000 rows (and 250,000)
    .venv/bin/python bench/ingest.py --sizes 100000 --workers 0
    .venv/bin/python bench/ingest.py --postgres postgresql://postgres@127.0.0.1:5432/test

Target (issue 3): >= 100,000 rows/s for 1,000,000 rows on 2 cores; peak memory bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GIVEN = ["Ana", "Luis", "María José", "Pedro", "Camila", "José", "Sofía", "Matías", "Valentina"]
FAMILY = ["Rojas", "González", "Muñoz", "Díaz", "Pérez", "Soto", "de la Fuente", "Núñez"]
PLACES = ["Santiago", "Valparaíso", "Concepción", "La Serena", "Temuco", "Antofagasta"]
HEADER = "record_id,source,given_name,family_name,second_family_name,birth_date,sex,national_id,"
HEADER += "address,postcode,locality,region\n"


def run_check_digit(body: str) -> str:
    total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(body)))
    rest = 11 - total % 11
    return {11: "0", 10: "K"}.get(rest, str(rest))


def generate(path: Path, rows: int, seed: int = 1) -> None:
    r = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        for i in range(1, rows + 1):
            body = str(r.randint(5_000_000, 25_000_000))
            day = f"{r.randint(1940, 2008):04d}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
            if i % 97 == 0:
                day = day[:5] + "02-30"  # no such date: quarantined
            sex = "q" if i % 131 == 0 else r.choice("fm")  # q: no such code, quarantined
            street = f"Calle {r.choice(FAMILY)} {r.randint(1, 9999)}"
            if i % 7 == 0:
                street = f'"Pasaje {r.choice(FAMILY)} {r.randint(1, 99)}, depto {r.randint(1, 50)}"'
            f.write(
                f"P{i:08d},,{r.choice(GIVEN)},{r.choice(FAMILY)},{r.choice(FAMILY)},{day},{sex},"
                f"{body}-{run_check_digit(body)},{street},{r.randint(1000000, 9999999)},"
                f"{r.choice(PLACES)},RM\n"
            )


def child_ingest(csv_path: str, db: str, workers: str) -> None:
    """Runs in a child process: ingest, then print the report and peak memory as JSON.

    ``db`` is a SQLite file, or a PostgreSQL URL (the load goes into a schema of its own,
    dropped afterwards)."""
    import uuid

    from sqlalchemy import text

    from nexo.adapters.service import ingest, read_ahead_processes
    from nexo.adapters.spec import load_mapping, resolve_mapping
    from nexo.store.engine import make_engine, session_factory
    from nexo.store.migrate import upgrade

    schema = None
    if "://" in db:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with make_engine(db).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(db, connect_args={"options": f"-csearch_path={schema}"})
    else:
        engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    mapping = load_mapping(
        resolve_mapping("person-csv"), {"agency": "bench", "id_scheme": "cl-run"}
    )
    started = time.perf_counter()
    report = ingest(
        session_factory(engine), mapping, Path(csv_path), workers=int(workers) if workers else None
    )
    seconds = time.perf_counter() - started
    # read-ahead processes fork from a server process, which reaps them: it must end for
    # their CPU time and peak memory to count among this process's children
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # (CPython's own, for its tests)
    if stop is None:
        raise SystemExit("this Python's fork server cannot be stopped: CPU and memory unknown")
    stop()
    with engine.connect() as conn:
        from sqlalchemy import text

        persons = conn.execute(text("SELECT count(*) FROM person_record")).scalar_one()
        versions = conn.execute(text("SELECT count(*) FROM source_record")).scalar_one()
    out = {
        "seconds": seconds,
        "rows_read": report.rows_read,
        "stored": report.stored,
        "quarantined": report.quarantined,
        "quarantined_by_reason": report.quarantined_by_reason,
        "persons_in_store": persons,
        "versions_in_store": versions,
        "peak_rss_mb_main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_mb_worker": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        # (none for an input under 16 MB, which is read in one process)
        "readers": read_ahead_processes(int(workers) if workers else None)
        if resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        else 0,
        "cpu_s_main": time.process_time(),
        "cpu_s_other": sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2]),
    }
    if schema:
        engine.dispose()
        with make_engine(db).begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    print(json.dumps(out))


def ingest_in_child(csv_path: Path, db: Path | str, workers: int | None) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        str(csv_path),
        str(db),
        "" if workers is None else str(workers),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"ingest failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def child_duckdb(path: str) -> None:
    """Runs in a child process: DuckDB's plain ``read_csv`` of the file, in seconds."""
    import duckdb

    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}')")
    print(time.perf_counter() - started)


def duckdb_read(path: Path) -> float:
    """In a process of its own: on Linux a child's peak memory starts at its parent's (the
    peak of the forked image counts), so this process must not hold DuckDB's table when it
    starts the next ingest."""
    cmd = [sys.executable, __file__, "--duckdb", str(path)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def sqlite_ceiling(rows: int, tmp: Path) -> float:
    """The bare write of ``rows`` persons into the store's three tables (no mapping), with the
    identifier index built at the end as ingest builds it for such a load (decision 0056)."""
    import hashlib
    import sqlite3

    from nexo.store import bulk
    from nexo.store.engine import make_engine
    from nexo.store.migrate import upgrade
    from nexo.store.sqlite_writer import insert_many

    db = tmp / "ceiling.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    deferred = bulk.reader_only_indexes({"person_record"})
    with engine.begin() as c:
        bulk.drop(c, deferred)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    person = {
        "given_names": "Ana",
        "family_name": "Rojas",
        "birth_date": "1990-01-02",
        "sex": "female",
        "contact": None,
        "address": {"line": "Calle 1"},
        "identifiers": [{"scheme": "cl-run", "value": "123456785", "verified": False}],
    }
    data = json.dumps(person)  # fmt: skip

    def insert(sql: str, rows: list[tuple[Any, ...]]) -> int:
        """In multi-row groups, as ingest inserts (``insert_many``); the first new id."""
        head, row = sql.split(" VALUES ")
        return insert_many(conn, head, row, rows).start

    started = time.perf_counter()
    chunk = 10_000
    for start in range(0, rows, chunk):
        ids = [f"P{i:08d}" for i in range(start, min(rows, start + chunk))]
        conn.execute("BEGIN")
        first = insert(
            "INSERT INTO source_record (agency, source, source_record_id, entity_type, version, "
            "is_current, content_hash, batch_id, received_at, mapping_version, data) VALUES "
            "('bench', 'p', ?, 'person', 1, 1, ?, 'b', '2026-01-01 00:00:00.000000', '1', ?)",
            [(i, hashlib.sha256(i.encode()).hexdigest(), data) for i in ids],
        )
        first = insert(
            "INSERT INTO person_record (agency, source, record_id, source_record_pk, given_names, "
            "family_name, birth_date, sex, address_line, locality, postcode, region) VALUES "
            "('bench', 'p', ?, ?, 'Ana', 'Rojas', '1990-01-02', 'female', 'Calle 1', 'Temuco', "
            "'4780000', 'RM')",
            [(i, first + n) for n, i in enumerate(ids)],
        )
        insert(
            "INSERT INTO person_identifier (person_pk, scheme, value, verified, check_digit_ok) "
            "VALUES (?, 'cl-run', '123456785', 0, 1)",
            [(first + n,) for n in range(len(ids))],
        )
        conn.execute("COMMIT")
    conn.close()
    bulk.restore(engine, deferred)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="250000,1000000", help="row counts, comma separated")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="mapping processes (default auto: for person-csv, read-ahead processes for big "
        "files, one per core, at most 2; 0: all in one process)",
    )
    parser.add_argument("--no-ceiling", action="store_true", help="skip the bare SQLite write")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also ingest the largest file into PostgreSQL (a schema of its own), e.g. "
        "postgresql://postgres@127.0.0.1:5432/test",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"cores: {cores}  load average before: {os.getloadavg()}")
    peaks: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="nexo-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for rows in sizes:
            csv_path = tmp / f"persons-{rows}.csv"
            generate(csv_path, rows)
            size_mb = csv_path.stat().st_size / 1e6
            result = ingest_in_child(csv_path, tmp / f"store-{rows}.db", args.workers)
            duck = duckdb_read(csv_path)
            rate = result["rows_read"] / result["seconds"]
            ok = result["stored"] + result["quarantined"] == result["rows_read"] == rows
            print(
                f"\n{rows:,} rows ({size_mb:,.0f} MB CSV), workers={args.workers or 'auto'}\n"
                f"  ingest with validation: {result['seconds']:.1f} s = {rate:,.0f} rows/s "
                f"(target 100,000) — stored {result['stored']:,}, quarantined "
                f"{result['quarantined']:,} {result['quarantined_by_reason']}, accounted: {ok}\n"
                f"  DuckDB read_csv:        {duck:.2f} s = {rows / duck:,.0f} rows/s; "
                f"ingest/DuckDB time ratio {result['seconds'] / duck:,.1f}\n"
                f"  peak memory: main {result['peak_rss_mb_main']:,.0f} MB, {_others(result)} "
                f"(together at most {_peak(result):,.0f} MB); CPU: main "
                f"{result['cpu_s_main']:.1f} s, "
                f"other processes {result['cpu_s_other']:.1f} s\n"
                f"  load average: {os.getloadavg()}"
            )
            peaks[rows] = _peak(result)
            if args.postgres and rows == max(sizes):
                pg = ingest_in_child(csv_path, args.postgres, args.workers)
                pg_rate = pg["rows_read"] / pg["seconds"]
                print(
                    f"  into PostgreSQL:        {pg['seconds']:.1f} s = {pg_rate:,.0f} rows/s "
                    f"({pg_rate / rate:.2f} x SQLite), stored {pg['stored']:,}, peak memory "
                    f"{pg['peak_rss_mb_main']:,.0f} / {pg['peak_rss_mb_worker']:,.0f} MB"
                )
            if not args.no_ceiling and rows == max(sizes):
                bare = sqlite_ceiling(rows, tmp)
                print(
                    f"  bare SQLite write of {rows:,} persons (3 tables, no mapping): "
                    f"{bare:.1f} s = {rows / bare:,.0f} rows/s"
                )
            csv_path.unlink()
    if len(peaks) > 1:
        (small, a), (big, b) = min(peaks.items()), max(peaks.items())
        print(
            f"\npeak memory, all processes together (at most): {small:,} rows {a:,.0f} MB, "
            f"{big:,} rows {b:,.0f} MB ({(b / a - 1) * 100:+.0f} % for {big / small:,.0f} times "
            f"the rows)"
        )


def _peak(result: dict[str, float]) -> float:
    """The peak memory of all processes together, at most: the ingest process's, and the
    largest child's for each read-ahead process and for the server they fork from (a parent
    learns only its largest descendant's; pages a fork shares with its server count twice)."""
    others = result["readers"] + 1 if result["readers"] else 0
    return result["peak_rss_mb_main"] + others * result["peak_rss_mb_worker"]


def _others(result: dict[str, float]) -> str:
    if not result["readers"]:
        return "no read-ahead processes"
    return (
        f"read-ahead processes and their fork server {result['readers'] + 1:.0f} x at most "
        f"{result['peak_rss_mb_worker']:,.0f} MB"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_ingest(*sys.argv[2:5])
    elif len(sys.argv) > 1 and sys.argv[1] == "--duckdb":
        child_duckdb(sys.argv[2])
    else:
        main()
