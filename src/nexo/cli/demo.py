"""``nexo demo``: the whole hub on a synthetic country, with no server to set up."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from nexo.adapters.service import Progress
from nexo.cli.app import app
from nexo.cli.common import open_store
from nexo.cli.ingest import _advance, batch_table
from nexo.cli.render import console, progress_bar
from nexo.cli.synth import build_config
from nexo.config import get_settings
from nexo.demo.service import DemoSummary, run_demo


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


@app.command("demo")
def demo(
    persons: Annotated[int, typer.Option(help="Persons in the synthetic country.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    locale: Annotated[str, typer.Option(help="cl, de or kr.")] = "cl",
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="End by serving the API (when available).")
    ] = True,
) -> None:
    """Run Nexo end to end on a synthetic country: generate, ingest both agencies, summarise.

    Needs no server and no configuration: the store is an SQLite file in NEXO_HOME (./.nexo).
    """
    config = build_config(persons, seed, locale)
    url, factory = open_store()
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
