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

from nexo.adapters.service import BatchReport, ingest_file
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
    inputs: Annotated[list[Path], typer.Argument(help="Input file(s) of the agency export.")],
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
    reports = []
    if as_json:
        reports = [ingest_file(factory, spec, path) for path in inputs]
        payload = [r.as_dict() for r in reports]
        console.print_json(json.dumps(payload[0] if len(payload) == 1 else payload))
        return
    with progress_bar() as bar:
        for path in inputs:
            task = bar.add_task(path.name, total=None)
            reports.append(
                ingest_file(
                    factory,
                    spec,
                    path,
                    progress=partial(_advance, bar, task),
                )
            )
    console.print(batch_table(reports))
    for r in reports:
        if r.quarantined_by_reason:
            reasons = ", ".join(f"{k} {v:,}" for k, v in r.quarantined_by_reason.items())
            console.print(f"[yellow]quarantined[/] {Path(r.input).name}: {reasons}")
