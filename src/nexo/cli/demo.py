"""``nexo demo``: the whole hub on a synthetic country, with no server to set up."""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from nexo.adapters.service import Progress
from nexo.auth.keys import keystore
from nexo.cli.app import app
from nexo.cli.common import open_store
from nexo.cli.ingest import _advance, batch_table
from nexo.cli.render import console, progress_bar
from nexo.cli.serve import serve_api
from nexo.cli.synth import build_config
from nexo.config import get_settings
from nexo.demo.service import DemoSummary, run_demo
from nexo.exchange.demo import ExchangeDemo, prepare_exchange_demo
from nexo.store.base import utc_now


def _summary(s: DemoSummary) -> None:
    console.print(batch_table(s.batches, title="ingest of both agencies"))
    table = Table(title="canonical store: current records")
    for col in ("agency", "source", "entity", "records"):
        table.add_column(col, justify="right" if col == "records" else "left")
    for (agency, source, entity), n in sorted(s.records.items()):
        table.add_row(agency, source, entity, f"{n:,}")
    console.print(table)
    if s.linkage is not None:
        _linkage(s)
    if s.quality is not None:
        _quality(s)
    persons = {a: n for (a, _, e), n in s.records.items() if e == "person"}
    reasons = s.quarantined_by_reason
    lines = [
        f"population: [bold]{s.synth_counts.get('persons', 0):,}[/] persons in "
        f"{s.synth_counts.get('households', 0):,} households "
        f"({'reused' if s.reused_data else 'made'} in {s.data_dir})",
        "person records: " + ", ".join(f"{a} [bold]{n:,}[/]" for a, n in sorted(persons.items())),
        "quarantined rows by reason: "
        + (", ".join(f"{k} [bold]{v:,}[/]" for k, v in reasons.items()) if reasons else "none"),
        "time: " + ", ".join(f"{k} {v:.1f} s" for k, v in s.timings.items()),
        f"store: {s.database_url}",
    ]
    console.print(Panel("\n".join(lines), title="Nexo demo", expand=False))


def _linkage(s: DemoSummary) -> None:
    link = s.linkage
    assert link is not None
    methods = ", ".join(f"{m} {n:,}" for m, n in sorted(link.links_by_method.items()))
    line = (
        f"master person index: [bold]{link.persons:,}[/] persons from {link.records:,} records "
        f"({methods}); review queue {link.review_queue:,}; model {link.model_source}"
    )
    if link.accuracy:
        acc = link.accuracy
        line += (
            f"\nagainst the ground truth: precision {acc['precision']:.4f}, "
            f"recall {acc['recall']:.4f}, F1 [bold]{acc['f1']:.4f}[/]"
        )
    console.print(line)


def _quality(s: DemoSummary) -> None:
    q = s.quality
    assert q is not None
    dimensions = sorted({d for per in q.scores.values() for d in per})
    table = Table(title=f"data quality (reference date {q.reference_date})")
    table.add_column("agency")
    for d in dimensions:
        table.add_column(d, justify="right")
    table.add_column("ready", justify="center")
    for agency, per in sorted(q.scores.items()):
        cells = [f"{per[d]:.1%}" if per.get(d) is not None else "—" for d in dimensions]
        table.add_row(agency, *cells, "[green]yes[/]" if q.ready.get(agency) else "[red]no[/]")
    console.print(table)
    worst = ", ".join(
        f"{rule} ({agency}) {score:.1%}" for rule, agency, _, score, _ in q.worst_rules[:3]
    )
    console.print(f"worst rules: {worst}")
    console.print(f"quality report: [link=file://{q.report_path.resolve()}]{q.report_path}[/link]")


def _exchange(x: ExchangeDemo, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    table = Table(title="exchange API clients (one per agency)")
    for col in ("client", "agency", "may ask (purpose ← provider)"):
        table.add_column(col)
    for c in x.clients:
        table.add_row(c.client_id, c.agency, "\n".join(c.agreements) or "-")
    console.print(table)
    seeded = x.seeded
    if seeded and seeded.records:
        console.print(
            f"person index: {seeded.persons:,} persons for {seeded.records:,} records "
            "[dim](stand-in: one person per verified identifier, until linkage runs)[/]"
        )
    for c in x.clients:
        var = f"NEXO_TOKEN_{c.agency.upper().replace('-', '_')}"
        console.print(
            f"[bold]{c.client_id}[/] ({c.agency}): client secret {c.secret}", soft_wrap=True
        )
        console.print(
            f"  export {var}={c.token}  [dim]# valid until {c.token_expires:%Y-%m-%d %H:%M} UTC[/]",
            soft_wrap=True,
            highlight=False,
        )
    console.print(
        f"fresh token: curl -s -u <client>:<secret> -d grant_type=client_credentials "
        f"{base}/oauth/token",
        soft_wrap=True,
    )
    if x.example and x.clients:
        scheme, value = x.example
        c = next((c for c in x.clients if c.agency == "social"), x.clients[0])
        var = f"NEXO_TOKEN_{c.agency.upper().replace('-', '_')}"
        purpose = "benefit-eligibility" if c.agency == "social" else "case-management"
        body = json.dumps({"purpose": purpose, "identifier": {"scheme": scheme, "value": value}})
        console.print(
            f'try: curl -s -H "Authorization: Bearer ${var}" -H "Content-Type: application/json" '
            f"-d '{body}' {base}/v1/persons/search",
            soft_wrap=True,
            highlight=False,
        )
    console.print(f"API docs: {base}/docs · policy version {x.policy_version}", soft_wrap=True)


def _dci(factory: sessionmaker[Session], x: ExchangeDemo) -> None:
    """A signed DCI search by the social agency's MIS through the real binding: same policy,
    consent and audit as the exchange API."""
    from nexo.api.app import create_app
    from nexo.dci.demo import demo_search
    from nexo.dci.ports import Client

    social = next((c for c in x.clients if c.agency == "social"), None)
    if social is None or x.example is None:
        return
    runtime = create_app(factory=factory).state.dci
    found = demo_search(
        runtime,
        client=Client(social.client_id),
        identifier=x.example[1],
        purpose="case-management",
    )
    records = found.records
    console.print(
        f"DCI registry: signed search by UIN from sender {found.sender_id} (client "
        f"{social.client_id}, purpose case-management) → [bold]{len(records)}[/] Member "
        f"record(s); Nexo's reply signature "
        + ("[green]verified[/]" if found.signature_ok else "[red]does not verify[/]")
        + " against /dci/.well-known/jwks.json (see docs/dci.md)",
        soft_wrap=True,
    )


@app.command("demo")
def demo(
    persons: Annotated[int, typer.Option(help="Persons in the synthetic country.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    locale: Annotated[str, typer.Option(help="cl, de or kr.")] = "cl",
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="End by serving the API on 127.0.0.1:8000.")
    ] = True,
    host: Annotated[str, typer.Option(help="Interface the API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the API listens on.")] = 8000,
) -> None:
    """Run Nexo end to end on a synthetic country: generate, ingest, share, serve the API.

    Generates the country, ingests both agencies, summarises, registers one API client per
    agency (printing its secret and a ready token), then serves the exchange API until Ctrl+C
    (--no-serve stops after the summary). Needs no server and no configuration: the store is
    an SQLite file in NEXO_HOME (./.nexo).
    """
    config = build_config(persons, seed, locale)
    url, factory = open_store(restore_indexes=True)
    home = get_settings().home
    with progress_bar() as bar:
        synth_task = bar.add_task("synthetic country", total=100)

        def ingest_progress(name: str) -> Progress:
            return partial(_advance, bar, bar.add_task(f"ingest {name}", total=None))

        summary = run_demo(
            factory,
            config=config,
            home=home,
            database_url=url,
            synth_progress=lambda stage, done: bar.update(synth_task, completed=done * 100),
            ingest_progress=ingest_progress,
        )
        bar.update(synth_task, completed=100)
    _summary(summary)
    exchange = prepare_exchange_demo(
        factory, settings=get_settings(), keys=keystore(home), now=utc_now()
    )
    _exchange(exchange, host, port)
    _dci(factory, exchange)
    if serve:
        serve_api(host, port)
