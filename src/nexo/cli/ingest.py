"""``nexo ingest``: load agency exports into the canonical store through a mapping."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress as RichProgress
from rich.progress import TaskID
from rich.table import Table

from nexo.adapters.service import BatchReport
from nexo.adapters.service import ingest as run_ingest
from nexo.adapters.spec import load_mapping, resolve_mapping
from nexo.cli.app import app
from nexo.cli.common import open_store, parse_pairs
from nexo.cli.render import console, progress_bar


def batch_table(reports: list[BatchReport], title: str = "ingest") -> Table:
    table = Table(title=title)
    for col in (
        "agency/source",
        "input",
        "rows read",
        "stored",
        "new versions",
        "unchanged",
        "quarantined",
        "rows/s",
    ):
        table.add_column(col, justify="left" if col in ("agency/source", "input") else "right")
    for r in reports:
        table.add_row(
            f"{r.agency}/{r.source}",
            Path(r.input).name,
            f"{r.rows_read:,}",
            f"{r.stored:,}",
            f"{r.new_versions:,}",
            f"{r.unchanged:,}",
            f"[red]{r.quarantined:,}[/]" if r.quarantined else "0",
            f"{r.rows_per_s:,.0f}",
        )
    return table


def _advance(bar: RichProgress, task: TaskID, done: int, total: int | None) -> None:
    bar.update(task, completed=done, total=total)


@app.command("ingest")
def ingest(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Input file(s) of the agency export; for a sql mapping, database URL(s) "
            "(or env:VAR to read the URL from an environment variable)."
        ),
    ],
    mapping: Annotated[
        str,
        typer.Option(
            "--mapping",
            "-m",
            help="Mapping YAML file, or the name of a built-in mapping (person-csv).",
        ),
    ],
    agency: Annotated[
        str | None, typer.Option(help="Agency name (sets the mapping parameter 'agency').")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="Set a mapping parameter: NAME=VALUE.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the batch report as JSON.")
    ] = False,
    chunk_rows: Annotated[
        int | None,
        typer.Option(min=1, help="Rows committed together (default NEXO_INGEST__CHUNK_ROWS)."),
    ] = None,
) -> None:
    """Read agency export(s) with a mapping into the canonical store.

    Idempotent (the same file twice adds nothing) and resumable (a rerun after a crash continues
    where it stopped). Every row is either stored or quarantined with its reasons.
    """
    params = parse_pairs(param, "--param")
    if agency:
        params["agency"] = agency
    spec = load_mapping(resolve_mapping(mapping), params)
    _, factory = open_store()
    sources: list[Path | str] = [s if spec.spec.format.type == "sql" else Path(s) for s in inputs]
    reports = []
    if as_json:
        reports = [run_ingest(factory, spec, s, chunk_rows=chunk_rows) for s in sources]
        payload = [r.as_dict() for r in reports]
        console.print_json(json.dumps(payload[0] if len(payload) == 1 else payload))
        return
    with progress_bar() as bar:
        for source in sources:
            name = source.name if isinstance(source, Path) else "query"
            task = bar.add_task(name, total=None)
            reports.append(
                run_ingest(
                    factory,
                    spec,
                    source,
                    chunk_rows=chunk_rows,
                    progress=partial(_advance, bar, task),
                )
            )
    console.print(batch_table(reports))
    for r in reports:
        if r.quarantined_by_reason:
            reasons = ", ".join(f"{k} {v:,}" for k, v in r.quarantined_by_reason.items())
            console.print(f"[yellow]quarantined[/] {Path(r.input).name}: {reasons}")
        if r.findings_by_reason:
            found = ", ".join(f"{k} {v:,}" for k, v in r.findings_by_reason.items())
            console.print(f"[cyan]findings[/] {Path(r.input).name}: {found} (stored, flagged)")
    if any(r.quarantined for r in reports):
        console.print("[dim]work the quarantine with: nexo quarantine list[/]")
