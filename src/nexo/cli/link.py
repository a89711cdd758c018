"""``nexo link``: the master person index — run linkage, review pairs, export, evaluate."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nexo.cli.app import app
from nexo.cli.common import open_store
from nexo.cli.render import console
from nexo.errors import UsageError
from nexo.store.engine import transaction

link_app = typer.Typer(
    help="Master person index: which records are one person, under stable person ids.",
    no_args_is_help=True,
)
app.add_typer(link_app, name="link")


def _model_file(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as e:
        raise UsageError(
            f"cannot read the model {path}: {e}", hint="give a model saved by --save-model"
        ) from e


def _table(title: str, rows: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    for k, v in rows.items():
        table.add_row(k, f"{v:,}" if isinstance(v, int) else str(v))
    return table


@link_app.command("run")
def run(
    backend: Annotated[
        str | None, typer.Option(help="duckdb (default) or spark (needs nexo[spark]).")
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="Use this saved model instead of training one.")
    ] = None,
    save_model: Annotated[
        Path | None, typer.Option(help="Also write the run's model (JSON) to this file.")
    ] = None,
    truth: Annotated[
        Path | None, typer.Option(help="Measure accuracy against a truth file as well.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Link every current person record into persons; ids of existing persons never change."""
    from nexo.linkage.service import run_linkage

    _, factory = open_store()
    given = _model_file(model)
    if as_json:
        summary = run_linkage(factory, backend=backend, model=given, truth=truth)
    else:
        with console.status("linking") as spinner:
            summary = run_linkage(
                factory,
                backend=backend,
                model=given,
                truth=truth,
                progress=lambda stage: spinner.update(stage),
            )
    if save_model:
        from nexo.linkage.service import saved_model

        with transaction(factory) as s:
            save_model.write_text(json.dumps(saved_model(s, summary.run_id), indent=1) + "\n")
    if as_json:
        console.print_json(json.dumps(summary.as_dict()))
        return
    rows: dict[str, Any] = {
        "records": summary.records,
        "persons": summary.persons,
        **{f"links: {k}": v for k, v in summary.links_by_method.items()},
        "review queue": summary.review_queue,
        "new persons": summary.created,
        "merged": summary.merged,
        "split": summary.split,
        **{f"refused: {k}": v for k, v in summary.refused_by_rule.items()},
        "model": f"v{summary.model_version} ({summary.model_source}, {summary.backend})",
        "seconds": summary.timings.get("total", 0.0),
    }
    if summary.accuracy:
        a = summary.accuracy
        rows |= {
            "precision": f"{a['precision']:.6f}",
            "recall": f"{a['recall']:.6f}",
            "F1": f"{a['f1']:.6f}",
        }
    console.print(_table(f"linkage run {summary.run_id}", rows))


@link_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Persons, links by method, review queue and the latest runs."""
    from nexo.linkage.service import status as link_status

    _, factory = open_store()
    with transaction(factory) as s:
        info = link_status(s)
    if as_json:
        console.print_json(json.dumps(info, default=str))
        return
    if not info["latest_run"]:
        console.print("no linkage run yet — run: [bold]nexo link run[/]")
        return
    rows: dict[str, Any] = {}
    for group in ("persons", "links", "review", "events"):
        rows |= {f"{group}: {k}": v for k, v in sorted(info[group].items())}
    latest = info["latest_run"]
    rows["latest model"] = f"v{latest['model_version']} ({latest['model_source']})"
    console.print(_table("master person index", rows))


@link_app.command("review")
def review(
    accept: Annotated[
        int | None, typer.Option(help="Accept item ID: the two records are one person.")
    ] = None,
    reject: Annotated[
        int | None, typer.Option(help="Reject item ID: the two records are two persons.")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Your name (recorded with the decision).")] = None,
    note: Annotated[str | None, typer.Option(help="Why (recorded with the decision).")] = None,
    status: Annotated[str, typer.Option(help="List items: open, accepted or rejected.")] = "open",
    limit: Annotated[int, typer.Option(help="How many items to list.")] = 20,
) -> None:
    """List the review queue, or accept/reject one item (applied to the persons at once)."""
    from nexo.linkage.review import decide
    from nexo.linkage.service import review_items

    if accept is not None and reject is not None:
        raise UsageError("--accept and --reject together", hint="decide one item at a time")
    _, factory = open_store()
    if accept is not None or reject is not None:
        if not by:
            raise UsageError("a decision needs your name", hint="add --by NAME")
        item = accept if accept is not None else reject
        assert item is not None
        with transaction(factory) as s:
            d = decide(s, item, accept=accept is not None, by=by, note=note)
        console.print(
            f"[green]{d.status.value}[/] item {d.review_id}: now person(s) "
            f"{', '.join(d.person_ids) or '—'}"
            + (f"; {len(d.events)} event(s) recorded" if d.events else "")
        )
        return
    with transaction(factory) as s:
        items = review_items(s, status=status, limit=limit)
    if not items:
        console.print(f"no {status} review items")
        return
    table = Table(title=f"review queue ({status})")
    for col in ("id", "record a", "record b", "probability", "reason", "evidence (match weights)"):
        table.add_column(col)
    for it in items:
        ev = ", ".join(f"{k} {v:+.1f}" for k, v in it["evidence"].items() if v)
        table.add_row(
            str(it["id"]), it["a"], it["b"], f"{it['match_probability']:.6f}", it["reason"], ev
        )
    console.print(table)


@link_app.command("export")
def export(
    out: Annotated[
        Path | None, typer.Option(help="Write to this file (default: standard output).")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="Output format: csv.")] = "csv",
) -> None:
    """Every linked record with its person id: agency, source, source_record_id, ..."""
    from nexo.linkage.service import export_links

    if format != "csv":
        raise UsageError(f"unknown format {format!r}", hint="use --format csv")
    _, factory = open_store()
    with transaction(factory) as s:
        if out is None:
            export_links(s, sys.stdout)
            return
        with out.open("w", encoding="utf-8", newline="") as f:
            n = export_links(s, f)
    console.print(f"[green]wrote[/] {n:,} links to {out}", highlight=False)


@link_app.command("evaluate")
def evaluate(
    truth: Annotated[Path, typer.Option(help="Truth file: agency, source, record_id, person_id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Pairwise precision, recall and F1, cluster metrics, and agreement with stewards."""
    from nexo.linkage.service import evaluate as evaluate_links

    _, factory = open_store()
    with transaction(factory) as s:
        result = evaluate_links(s, truth)
    payload = result.accuracy.as_dict() | {"labels": result.labels}
    if as_json:
        console.print_json(json.dumps(payload))
        return
    a = result.accuracy
    rows: dict[str, Any] = {
        "records": a.records,
        "precision": f"{a.precision:.6f}",
        "recall": f"{a.recall:.6f}",
        "F1": f"{a.f1:.6f}",
        "true persons": a.true_persons,
        "predicted persons": a.predicted_persons,
        "persons exactly right": a.exact_persons,
        "persons merged with another": a.merged_clusters,
        "persons split": a.split_persons,
        "steward labels": result.labels["accepted"] + result.labels["rejected"],
        "model agreed with stewards": result.labels["model_agreed"],
    }
    console.print(_table("linkage accuracy", rows))


@link_app.command("file")
def file(
    inputs: Annotated[list[Path], typer.Argument(help="One person CSV to dedupe, or two to link.")],
    out: Annotated[Path, typer.Option(help="Where to write the clusters (CSV).")],
    id_scheme: Annotated[
        str | None, typer.Option(help="Scheme of national_id, e.g. cl-run (checks digits).")
    ] = None,
    model: Annotated[Path | None, typer.Option(help="Use this saved model.")] = None,
) -> None:
    """Dedupe or link person CSV files without a store: record_id, source, person_id, ..."""
    from nexo.linkage.filelink import link_files

    summary = link_files(inputs, out, id_scheme=id_scheme, model=_model_file(model))
    for p in summary.problems[:20]:
        console.print(f"[yellow]warning[/] {p}", highlight=False)
    console.print(
        f"[green]wrote[/] {out}: {summary.records:,} records, {summary.persons:,} persons "
        f"({summary.linked_records:,} records linked to another; model {summary.model_source})",
        highlight=False,
    )
