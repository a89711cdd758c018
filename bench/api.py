"""Benchmark: search by identifier over HTTP with every request audited, and the same load with
auditing off, in the same run (target: p99 ≤ 30 ms at 500 requests/s on 2 cores, 1M persons).

The store is loaded once (persons with verified national identifiers at both agencies, and the
stand-in person index) and kept for the next run. The server runs as its own process (``nexo
serve``); this script is the second process and drives an open-loop load on loopback: request
i is due at start + i/rate, and its latency is measured from when it was due, so a stall is
not hidden by the requests that were not sent during it.

Run: python bench/api.py [--persons 1000000] [--rate 500] [--seconds 30] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from nexo.audit.tables import AuditEntryRow
from nexo.auth import service as auth
from nexo.auth.keys import keystore
from nexo.exchange.mpi_seed import seed_mpi_from_identifiers
from nexo.model import EntityType, Identifier, IdentifierScheme, Person
from nexo.model.codes import Sex
from nexo.model.identifier import run_check_digit
from nexo.store.engine import make_engine, session_factory, transaction
from nexo.store.migrate import upgrade
from nexo.store.repository import NewRecord, RecordRepository

TARGET_P99_MS = 30.0
GIVEN = ["Ana", "José", "María", "Luis", "Carmen", "Pedro", "Rosa", "Juan", "Elena", "Diego"]
FAMILY = ["Rojas", "Soto", "Muñoz", "Díaz", "Pérez", "Silva", "Vega", "Torres", "Mora", "Lagos"]
CHUNK = 20_000


def run_of(i: int) -> str:
    body = str(5_000_000 + i)
    return body + run_check_digit(body)


def _person(i: int) -> Person:
    return Person(
        given_names=GIVEN[i % 10],
        family_name=FAMILY[(i // 10) % 10],
        second_family_name=FAMILY[(i // 100) % 10],
        birth_date=date(1950, 1, 1) + timedelta(days=i % 20_000),
        sex=Sex.FEMALE if i % 2 else Sex.MALE,
        identifiers=(Identifier(scheme=IdentifierScheme.CL_RUN, value=run_of(i), verified=True),),
    )


def load(home: Path, persons: int) -> None:
    """Persons 0..N-1: 70% registered at the employment service, 70% at the social agency
    (everyone at one at least), then the stand-in person index over them."""
    marker = home / f"bench-api-{persons}.done"
    if marker.exists():
        print(f"store: reusing {persons:,} persons in {home}")
        with (home / "nexo.db").open("rb") as f:  # a server's store is warm; so is this one
            while f.read(1 << 24):
                pass
        return
    engine = make_engine(f"sqlite:///{home / 'nexo.db'}")
    upgrade(engine)
    factory = session_factory(engine)
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    for start in range(0, persons, CHUNK):
        ids = range(start, min(start + CHUNK, persons))
        employment = [
            NewRecord.of(EntityType.PERSON, f"E{i}", _person(i)) for i in ids if i % 10 < 7
        ]
        social = [NewRecord.of(EntityType.PERSON, f"S{i}", _person(i)) for i in ids if i % 10 >= 3]
        with transaction(factory) as s:
            repo = RecordRepository(s)
            repo.write(
                agency="employment",
                source="jobseekers",
                batch_id="bench",
                mapping_version="bench",
                received_at=now,
                records=employment,
            )
            repo.write(
                agency="social",
                source="beneficiaries",
                batch_id="bench",
                mapping_version="bench",
                received_at=now,
                records=social,
            )
        done = min(start + CHUNK, persons)
        print(f"\r  loading persons {done:,}/{persons:,}", end="", flush=True)
    print(f"\r  loaded {persons:,} persons in {time.perf_counter() - t0:.0f} s          ")
    t1 = time.perf_counter()
    with transaction(factory) as s:
        report = seed_mpi_from_identifiers(s, now=now)
    print(
        f"  person index (stand-in seed): {report.persons:,} persons for {report.records:,} "
        f"records in {time.perf_counter() - t1:.0f} s"
    )
    engine.dispose()
    marker.write_text("ok")


def bench_token(home: Path) -> str:
    engine = make_engine(f"sqlite:///{home / 'nexo.db'}")
    factory = session_factory(engine)
    now = datetime.now(UTC)
    with transaction(factory) as s:
        client = auth.get_client(s, "bench-social")
        if client is None:
            client, _ = auth.add_client(
                s,
                client_id="bench-social",
                agency="social",
                rate_per_second=1e6,
                burst=10**6,
                now=now,
            )
    issued = auth.issue_token(
        keystore(home),
        client=client,
        scope=None,
        issuer="nexo",
        audience="nexo-api",
        now=now,
        ttl=timedelta(hours=6),
    )
    engine.dispose()
    return issued.token


def audit_size(home: Path) -> int:
    engine = make_engine(f"sqlite:///{home / 'nexo.db'}")
    with transaction(session_factory(engine)) as s:
        n = int(s.scalar(select(func.count()).select_from(AuditEntryRow)) or 0)
    engine.dispose()
    return n


def start_server(home: Path, port: int, workers: int, audit: bool) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXO_")}
    env |= {"NEXO_HOME": str(home), "NEXO_API__AUDIT": "true" if audit else "false"}
    log = (home / f"server-{'audited' if audit else 'plain'}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nexo", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"server did not start; see {log.name}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def call(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


async def drive(
    port: int, token: str, idents: list[str], rate: float, seconds: float, connections: int
) -> tuple[list[float], dict[int, int], float]:
    """Open-loop load: latencies (ms, from the due time), status counts, achieved rate."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(*await asyncio.open_connection("127.0.0.1", port)))

    def request(value: str) -> bytes:
        body = json.dumps(
            {"purpose": "case-management", "identifier": {"scheme": "cl-run", "value": value}}
        ).encode()
        return (
            f"POST /v1/persons/search HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    total = int(rate * seconds)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    loop = asyncio.get_running_loop()

    async def one(due: float, value: str) -> None:
        conn = await pool.get()
        try:
            status = await conn.call(request(value))
        finally:
            pool.put_nowait(conn)
        latencies.append((loop.time() - due) * 1000)
        statuses[status] = statuses.get(status, 0) + 1

    start = loop.time() + 0.05
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, idents[i % len(idents)])))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    while not pool.empty():
        pool.get_nowait().writer.close()
    return latencies, statuses, total / elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process and its direct children (workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def phase(
    home: Path, args: argparse.Namespace, token: str, idents: list[str], audit: bool
) -> dict[str, float]:
    name = "audited" if audit else "audit off"
    server = start_server(home, args.port, args.workers, audit)
    try:
        asyncio.run(
            drive(args.port, token, idents[:2000], args.rate, args.warmup, args.connections)
        )  # warm-up, not measured
        before = audit_size(home)
        cpu0 = cpu_seconds(server.pid)
        lat, statuses, achieved = asyncio.run(
            drive(args.port, token, idents, args.rate, args.seconds, args.connections)
        )
        cpu = cpu_seconds(server.pid) - cpu0
    finally:
        stop_server(server)
    appended = audit_size(home) - before
    load1, load5, _ = os.getloadavg()
    result = {
        "p50": pct(lat, 50),
        "p90": pct(lat, 90),
        "p99": pct(lat, 99),
        "max": max(lat),
        "rate": achieved,
        "n": len(lat),
        "audited": appended,
        "cpu_ms": cpu * 1000 / max(1, len(lat)),
    }
    print(
        f"{name:>10}: {len(lat):,} requests at {achieved:,.0f}/s  p50 {result['p50']:.1f} ms  "
        f"p90 {result['p90']:.1f} ms  p99 {result['p99']:.1f} ms  max {result['max']:.1f} ms  "
        f"statuses {dict(sorted(statuses.items()))}  audit entries added {appended:,}  "
        f"server CPU {result['cpu_ms']:.2f} ms/request  (load average {load1:.2f} {load5:.2f})"
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--home", type=Path, default=Path(".nexo") / "bench-api")
    args = parser.parse_args()
    home = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    print(
        f"bench api: {args.persons:,} persons, {args.rate:.0f} requests/s for {args.seconds:.0f} s,"
        f" {args.workers} worker(s), {os.cpu_count()} cores, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    load(home, args.persons)
    token = bench_token(home)
    rng = random.Random(7)
    # 90% identifiers of persons in the store, 10% unknown ones
    idents = [
        run_of(rng.randrange(args.persons))
        if rng.random() < 0.9
        else run_of(args.persons + rng.randrange(10**6))
        for _ in range(50_000)
    ]
    audited = phase(home, args, token, idents, audit=True)
    plain = phase(home, args, token, idents, audit=False)
    ratio = audited["p99"] / plain["p99"] if plain["p99"] else float("inf")
    every = audited["audited"] >= audited["n"]
    print(f"p99 audited / p99 audit off = {ratio:.2f}; every measured request audited: {every}")
    ok = audited["p99"] <= TARGET_P99_MS and audited["rate"] >= 0.98 * args.rate and every
    print(
        f"  target p99 ≤ {TARGET_P99_MS:.0f} ms at {args.rate:.0f}/s with audit: "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
