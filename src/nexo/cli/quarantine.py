"""``nexo quarantine``: list, show, export, correct and retry quarantined rows."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nexo.adapters import quarantine as q
from nexo.adapters.spec import load_mapping, resolve_mapping
from nexo.cli.app import app
from nexo.cli.common import open_store, parse_pairs
from nexo.cli.render import console
from nexo.errors import UsageError
from nexo.store.engine import transaction

quarantine_app = typer.Typer(
    help="Work the quarantine: rows that could not be stored, with their reasons.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")

Agency = Annotated[str | None, typer.Option(help="Only rows of this agency.")]
Source = Annotated[str | None, typer.Option(help="Only rows of this source.")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Only rows with this reason.")]
BatchOpt = Annotated[str | None, typer.Option("--batch", help="Only rows of this ingest batch.")]
Status = Annotated[str, typer.Option(help="open, resolved, or all.", show_default=True)]
MappingOpt = Annotated[
    str, typer.Option("--mapping", "-m", help="Mapping YAML file or built-in mapping name.")
]
ParamOpt = Annotated[list[str] | None, typer.Option(help="Set a mapping parameter: NAME=VALUE.")]


def _status(value: str) -> str | None:
    if value not in ("open", "resolved", "all"):
        raise UsageError(f"--status {value!r} is not open, resolved or all")
    return None if value == "all" else value


def _short(text: str, width: int = 60) -> str:
    text = text.replace("\r", "").replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"


@quarantine_app.command("list")
def list_(
    agency: Agency = None,
    source: Source = None,
    reason: ReasonOpt = None,
    batch: BatchOpt = None,
    status: Status = "open",
    limit: Annotated[int, typer.Option(min=1, help="Rows to show.")] = 50,
) -> None:
    """List quarantined rows (newest last) with their first reason."""
    _, factory = open_store()
    flt = q.Filter(_status(status), agency, source, reason, batch)
    with transaction(factory) as s:
        rows = q.page(s, flt, None, limit)
        total = q.count_rows(s, flt)
    table = Table(title=f"quarantine ({status})")
    for col in ("id", "agency/source", "row", "record id", "reason", "message"):
        table.add_column(col, justify="right" if col in ("id", "row") else "left")
    for r in rows:
        table.add_row(
            str(r.id),
            f"{r.agency}/{r.source}",
            str(r.row_number),
            r.record_id or "",
            r.reason_code,
            _short(r.reasons[0]["message"] if r.reasons else ""),
        )
    console.print(table)
    console.print(f"{len(rows):,} shown of {total:,} {status} rows")


@quarantine_app.command("show")
def show(
    row_id: Annotated[int, typer.Argument(help="Id of the quarantined row.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show one row: where it came from, every reason, its raw text."""
    _, factory = open_store()
    with transaction(factory) as s:
        record = q.as_record(q.get_row(s, row_id))
    if as_json:
        typer.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    console.print(
        f"[bold]row {record['id']}[/] {record['agency']}/{record['source']} — "
        f"{record['input_name']} row {record['row_number']} — {record['status']}"
    )
    if record["record_id"]:
        console.print(f"record id: {record['record_id']}")
    for r in record["reasons"]:
        console.print(f"[red]{r['code']}[/] {r['field'] or ''}: {r['message']}", highlight=False)
    console.print("[dim]raw:[/]")
    console.out(record["raw"].rstrip("\r\n"), highlight=False)
    if record["raw_original"] is not None:
        console.print("[dim]as it came in:[/]")
        console.out(record["raw_original"].rstrip("\r\n"), highlight=False)


@quarantine_app.command("export")
def export(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write; default stdout.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, json or ndjson.")] = "csv",
    agency: Agency = None,
    source: Source = None,
    reason: ReasonOpt = None,
    batch: BatchOpt = None,
    status: Status = "open",
) -> None:
    """Export rows with their raw text and reasons (CSV, JSON or NDJSON)."""
    _, factory = open_store()
    flt = q.Filter(_status(status), agency, source, reason, batch)
    if out is None:
        q.export_rows(factory, sys.stdout, flt, fmt)
        return
    try:
        with out.open("w", encoding="utf-8", newline="") as fh:
            n = q.export_rows(factory, fh, flt, fmt)
    except OSError as e:
        raise UsageError(f"cannot write {out}: {e.strerror}") from e
    console.print(f"[green]exported[/] {n:,} rows to {out}")


@quarantine_app.command("edit")
def edit(
    row_id: Annotated[int, typer.Argument(help="Id of the quarantined row.")],
    raw: Annotated[str | None, typer.Option(help="The corrected raw text, whole.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Set one column of the row: COLUMN=VALUE (repeatable)."),
    ] = None,
    mapping: Annotated[
        str | None, typer.Option("--mapping", "-m", help="The row's mapping (needed for --set).")
    ] = None,
    param: ParamOpt = None,
) -> None:
    """Correct a quarantined row before retrying it (the original text is kept)."""
    values = parse_pairs(set_, "--set")
    spec = (
        load_mapping(resolve_mapping(mapping), parse_pairs(param, "--param")) if mapping else None
    )
    _, factory = open_store()
    with transaction(factory) as s:
        row = q.edit_row(s, row_id, raw=raw, values=values or None, mapping=spec)
        text = row.raw
    console.print(f"[green]corrected[/] row {row_id}; retry it with: nexo quarantine retry")
    console.out(text.rstrip("\r\n"), highlight=False)


@quarantine_app.command("retry")
def retry(
    mapping: MappingOpt,
    ids: Annotated[
        list[int] | None, typer.Option("--id", help="Only these rows (repeatable).")
    ] = None,
    reason: ReasonOpt = None,
    batch: BatchOpt = None,
    param: ParamOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Run open rows of the mapping's source through the (fixed) mapping again.

    Rows that now pass are stored and marked resolved; the others stay open with their new
    reasons.
    """
    spec = load_mapping(resolve_mapping(mapping), parse_pairs(param, "--param"))
    _, factory = open_store()
    flt = q.Filter("open", None, None, reason, batch, tuple(ids) if ids else None)
    report = q.retry(factory, spec, flt)
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
        return
    console.print(
        f"retried {report.retried:,} rows of {report.agency}/{report.source}: "
        f"[green]{report.resolved:,} stored[/], "
        f"{'[yellow]' if report.still_open else ''}{report.still_open:,} still open"
        f"{'[/]' if report.still_open else ''}"
    )
    for code, n in sorted(report.still_open_by_reason.items(), key=lambda kv: -kv[1]):
        console.print(f"  {code}: {n:,}")
