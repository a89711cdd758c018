"""``nexo quality``: run the rules, report scores, gate a roll-out, correct records."""

from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nexo.cli.app import app
from nexo.cli.common import open_store
from nexo.cli.render import console
from nexo.config import get_settings
from nexo.errors import UsageError
from nexo.model.codes import EntityType
from nexo.quality.correction import ROLES, CorrectionStatus
from nexo.quality.rules import load_rules, load_thresholds
from nexo.quality.scoring import pool, worst
from nexo.store.engine import transaction

# The evaluation modules (Polars) are imported inside the commands that need them, so that
# every other ``nexo`` command starts without loading Polars.

quality_app = typer.Typer(
    help="Data quality: rules, scores over time, readiness gate, corrections.",
    no_args_is_help=True,
)
app.add_typer(quality_app, name="quality")
correction_app = typer.Typer(help="Report, list and review corrections.", no_args_is_help=True)
quality_app.add_typer(correction_app, name="correction")

RulesOpt = Annotated[
    list[Path] | None,
    typer.Option("--rules", help="Rule file or folder (repeatable); default: the shipped rules."),
]
RunOpt = Annotated[str | None, typer.Option("--run", help="Run id; default: the latest run.")]


def _pct(score: float | None) -> str:
    if score is None:
        return "[dim]n/a[/]"
    style = "green" if score >= 0.98 else "yellow" if score >= 0.9 else "red"
    return f"[{style}]{score:.2%}[/]"


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--as-of {value!r} is not a date", hint="write YYYY-MM-DD") from None


@quality_app.command("run")
def run(
    rules: RulesOpt = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Reference date for timeliness (YYYY-MM-DD); default today."),
    ] = None,
) -> None:
    """Evaluate the rules on every current record; store scores and failing records."""
    from nexo.quality.service import run_quality

    ruleset = load_rules(rules) if rules else None
    _, factory = open_store()
    with transaction(factory) as s:
        summary = run_quality(s, rules=ruleset, reference_date=_date(as_of))
    console.print(f"quality run {summary.run_id} (reference date {summary.reference_date})")
    if summary.record_count == 0:
        console.print(
            "[yellow]the store holds no records[/]: load agency exports first (nexo ingest)"
        )
        return
    table = Table(title="scores per agency and dimension")
    dims = sorted({sc.dimension for sc in summary.scores})
    table.add_column("agency")
    for d in dims:
        table.add_column(d, justify="right")
    pooled = pool(summary.scores, by=("agency", "dimension"))
    for agency in sorted({sc.agency for sc in summary.scores}):
        table.add_row(
            agency, *[_pct(p.score) if (p := pooled.get((agency, d))) else "—" for d in dims]
        )
    console.print(table)
    bad = worst(summary.scores, 5)
    if bad:
        console.print(
            "worst rules: "
            + "; ".join(
                f"{w.rule_id} {w.agency}/{w.source} {w.score:.1%} ({w.failed:,} records)"
                for w in bad
            )
        )
    t = summary.timings
    console.print(
        f"{summary.record_count:,} records × {summary.rule_count} rules: "
        f"{summary.failure_count:,} failing checks; load {t['load']:.1f} s, "
        f"evaluate {t['evaluate']:.1f} s, store {t['store']:.1f} s. "
        "Report: nexo quality report"
    )


@quality_app.command("report")
def report(
    fmt: Annotated[str, typer.Option("--format", help="html, json or csv.")] = "html",
    out: Annotated[
        Path | None,
        typer.Option(
            help="File to write; default: html under NEXO_HOME/reports, json/csv to stdout."
        ),
    ] = None,
    run_id: RunOpt = None,
    history: Annotated[int, typer.Option(help="Runs shown over time.")] = 30,
    max_failures: Annotated[int, typer.Option(help="Failing records listed per score.")] = 200,
) -> None:
    """Write the quality report of a run: scoreboard, scores over time, worst rules, failures."""
    from nexo.quality.report import build_report, render_csv, render_json
    from nexo.quality.report_html import render_html

    renderers = {"html": render_html, "json": render_json, "csv": render_csv}
    if fmt not in renderers:
        raise UsageError(f"--format {fmt!r} is not known", hint="use html, json or csv")
    _, factory = open_store()
    with transaction(factory) as s:
        data = build_report(s, run_id=run_id, history_runs=history, failure_limit=max_failures)
    text = renderers[fmt](data)
    if out is None and fmt != "html":
        sys.stdout.write(text)
        return
    path = out or get_settings().home / "reports" / f"quality-{data.run.id[:8]}.html"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}", hint="choose another --out") from e
    console.print(f"quality report ({fmt}) of run {data.run.id}: {path}")


@quality_app.command("runs")
def runs(limit: Annotated[int, typer.Option(help="How many.")] = 20) -> None:
    """List quality runs, newest first."""
    from nexo.quality.repository import QualityRepository

    _, factory = open_store()
    table = Table(title="quality runs")
    for col in ("run", "started (UTC)", "reference date", "records", "failing checks"):
        table.add_column(col)
    with transaction(factory) as s:
        for r in QualityRepository(s).runs(limit):
            table.add_row(
                r.id,
                f"{r.started_at:%Y-%m-%d %H:%M:%S}",
                str(r.reference_date),
                f"{r.record_count:,}",
                f"{r.failure_count:,}",
            )
    console.print(table)


@quality_app.command("failures")
def failures(
    run_id: RunOpt = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule id.")] = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    record: Annotated[
        str | None, typer.Option(help="Every rule one record fails (needs --agency and --source).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout.")] = False,
) -> None:
    """List failing records of a run (all of them unless --limit)."""
    from nexo.quality.repository import QualityRepository
    from nexo.quality.service import resolve_run

    _, factory = open_store()
    with transaction(factory) as s:
        the_run = resolve_run(s, run_id)
        repo = QualityRepository(s)
        if record:
            if not (agency and source):
                raise UsageError(
                    "--record needs --agency and --source", hint="e.g. --agency social"
                )
            rows = repo.failures_of_record(the_run.id, agency, source, record)
        else:
            rows = repo.failures(
                the_run.id, rule_id=rule, agency=agency, source=source, limit=limit
            )
        described = {r["id"]: r.get("description", "") for r in the_run.rules}
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["run_id", "rule_id", "agency", "source", "record_id", "detail"])
        for f in rows:
            writer.writerow([f.run_id, f.rule_id, f.agency, f.source, f.record_id, f.detail or ""])
        return
    table = Table(title=f"failing records of run {the_run.id} ({len(rows):,})")
    for col in ("rule", "agency/source", "record", "detail"):
        table.add_column(col)
    for f in rows:
        table.add_row(f.rule_id, f"{f.agency}/{f.source}", f.record_id, f.detail or "")
    console.print(table)
    if record:
        for rid in sorted({f.rule_id for f in rows}):
            console.print(f"[bold]{rid}[/]: {described.get(rid, '')}")


@quality_app.command("gate")
def gate_cmd(
    agency: Annotated[str, typer.Option(help="The agency (or site) that wants to join.")],
    thresholds: Annotated[
        Path | None, typer.Option(help="Thresholds YAML; default: the shipped thresholds.")
    ] = None,
    run_id: RunOpt = None,
) -> None:
    """Readiness gate: exit 0 when the agency meets every threshold, 1 listing those it misses."""
    from nexo.quality.service import check_readiness

    _, factory = open_store()
    with transaction(factory) as s:
        result = check_readiness(
            s, agency=agency, thresholds=load_thresholds(thresholds), run_id=run_id
        )
    for c in result.checks:
        mark = "[green]pass[/]" if c.passed else "[red]FAIL[/]"
        console.print(f"{mark} {c.describe()}", highlight=False)
    if not result.passed:
        console.print(
            f"[red]{agency} is not ready[/]: {len(result.failing)} threshold(s) missed "
            f"(run {result.run_id})"
        )
        raise typer.Exit(1)
    console.print(f"[green]{agency} is ready[/] (run {result.run_id})")


@quality_app.command("rules")
def rules_cmd(rules: RulesOpt = None) -> None:
    """List the rules (checks their files and fields)."""
    from nexo.quality.service import checked_rules

    ruleset = checked_rules(load_rules(rules) if rules else None)
    table = Table(title=f"{len(ruleset.rules)} quality rules")
    for col in ("id", "entity", "dimension", "severity", "owner", "check"):
        table.add_column(col)
    for r in ruleset.rules:
        table.add_row(
            r.id, r.entity.value, r.dimension.value, r.severity.value, r.owner, r.check.kind
        )
    console.print(table)


@quality_app.command("link-synthetic-truth")
def link_truth(
    persons_csv: Annotated[Path, typer.Argument(help="truth/persons.csv of a synthetic country.")],
) -> None:
    """Fill the master person index from a SYNTHETIC country's ground truth (never real data).

    Lets cross-agency rules run before linkage; in production linkage fills the index.
    """
    from nexo.quality.synthetic_links import link_from_ground_truth

    _, factory = open_store()
    with transaction(factory) as s:
        n = link_from_ground_truth(s, persons_csv)
    console.print(f"linked {n:,} person records from {persons_csv}")


# ------------------------------------------------------------------ corrections


@correction_app.command("report")
def correction_report(
    agency: Annotated[str, typer.Option(help="Agency of the record.")],
    source: Annotated[str, typer.Option(help="Source of the record.")],
    entity: Annotated[str, typer.Option(help="Entity type (person, benefit_enrolment, ...).")],
    record: Annotated[str, typer.Option(help="Record id in that source.")],
    field: Annotated[str, typer.Option(help="Dotted path: birth_date, address.locality, ...")],
    reason: Annotated[str, typer.Option(help="Why, and where the right value comes from.")],
    reporter: Annotated[str, typer.Option(help="Your name or user id.")],
    role: Annotated[str, typer.Option(help=f"Your role: {', '.join(ROLES)}.")],
    value: Annotated[str | None, typer.Option(help="The right value (canonical form).")] = None,
    clear: Annotated[bool, typer.Option(help="Propose to empty the field instead.")] = False,
    rule: Annotated[str | None, typer.Option(help="Rule id that revealed the error.")] = None,
) -> None:
    """Report a wrong value; a steward reviews it (nexo quality correction review)."""
    from nexo.quality.stewardship import report_correction

    if (value is None) == (not clear):
        raise UsageError("give --value or --clear", hint="--value 1990-05-17")
    try:
        entity_type = EntityType(entity)
    except ValueError:
        raise UsageError(
            f"unknown entity {entity!r}", hint=f"one of: {', '.join(e.value for e in EntityType)}"
        ) from None
    _, factory = open_store()
    with transaction(factory) as s:
        row = report_correction(
            s,
            agency=agency,
            source=source,
            entity_type=entity_type,
            record_id=record,
            field=field,
            value=None if clear else value,
            reason=reason,
            reporter=reporter,
            role=role,
            rule_id=rule,
        )
        cid = row.id
    review = f"nexo quality correction review {cid} --accept|--reject --steward NAME"
    console.print(f"correction {cid} reported; a steward reviews it: {review}")


@correction_app.command("list")
def correction_list(
    status: Annotated[str | None, typer.Option(help="open, accepted or rejected.")] = "open",
    limit: Annotated[int, typer.Option(help="At most this many.")] = 200,
) -> None:
    """List corrections (open ones by default)."""
    from nexo.quality.stewardship import list_corrections

    try:
        wanted = CorrectionStatus(status) if status else None
    except ValueError:
        raise UsageError(f"unknown status {status!r}", hint="open, accepted or rejected") from None
    _, factory = open_store()
    table = Table(title=f"corrections ({status or 'all'})")
    for col in ("id", "record", "field", "now → proposed", "reason", "reported by", "status"):
        table.add_column(col)
    with transaction(factory) as s:
        for c in list_corrections(s, status=wanted, limit=limit):
            table.add_row(
                str(c.id),
                f"{c.agency}/{c.source}/{c.record_id} ({c.entity_type})",
                c.field,
                f"{c.current_value.get('value')!r} → {c.proposed_value.get('value')!r}",
                c.reason,
                f"{c.reporter} ({c.reporter_role})",
                c.status + (f" by {c.reviewer}" if c.reviewer else ""),
            )
    console.print(table)


@correction_app.command("review")
def correction_review(
    correction_id: Annotated[int, typer.Argument(help="Correction id.")],
    steward: Annotated[str, typer.Option(help="Your name (not the reporter's).")],
    accept: Annotated[
        bool | None, typer.Option("--accept/--reject", help="Apply it, or turn it down.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Review note (required to reject).")] = None,
) -> None:
    """Accept (writes a new version of the record) or reject a correction."""
    from nexo.auth.keys import keystore
    from nexo.quality.stewardship import audit_trail, review_correction

    if accept is None:
        raise UsageError(
            "say --accept or --reject", hint="nexo quality correction review 3 --accept"
        )
    _, factory = open_store()
    with transaction(factory) as s:
        row = review_correction(
            s,
            correction_id=correction_id,
            reviewer=steward,
            accept=accept,
            note=note,
            audit=audit_trail(keystore(get_settings().home)),
        )
        status, batch, version = row.status, row.batch_id, row.new_version
    if status == CorrectionStatus.ACCEPTED.value:
        console.print(
            f"correction {correction_id} accepted: version {version} of the record written "
            f"(batch {batch}); the previous version stays in the history"
        )
    else:
        console.print(f"correction {correction_id} rejected")
