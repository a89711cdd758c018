"""Use cases of the quality part: run rules on the store, report, gate, correct records.

Every function takes the caller's session (the caller commits) and keyword-only arguments.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.orm import Session, sessionmaker

from nexo.errors import ConfigurationError, NotFound
from nexo.logging import get_logger
from nexo.model.codes import EntityType
from nexo.quality.domain import Rule, RuleSet, rule_meta
from nexo.quality.evaluate import RuleResult, evaluate
from nexo.quality.expressions import regex_problems
from nexo.quality.frames import Frames, fields_by_entity, prepare
from nexo.quality.repository import QualityRepository, entity_columns
from nexo.quality.rules import load_rules, load_thresholds
from nexo.quality.scoring import GateResult, Score, Thresholds, gate, pool, worst
from nexo.quality.tables import QualityRunRow
from nexo.store.engine import transaction

log = get_logger(__name__)


def today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    reference_date: date
    started_at: datetime
    record_count: int
    rule_count: int
    failure_count: int
    scores: list[Score]
    results: list[RuleResult] = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)


def rules_digest(rules: RuleSet) -> str:
    text = json.dumps([r.model_dump(mode="json") for r in rules.rules], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _entities(rules: list[Rule]) -> set[EntityType]:
    needed = {r.entity for r in rules}
    for r in rules:
        for attr in ("entity", "other_entity"):
            value = getattr(r.check, attr, None)
            if isinstance(value, EntityType):
                needed.add(value)
    return needed


def checked_rules(rules: RuleSet | None) -> RuleSet:
    """The given rules (or the shipped ones), checked against the fields the store has."""
    rules = rules or load_rules()
    problems = rules.problems(fields_by_entity(entity_columns())) + regex_problems(rules.rules)
    if problems:
        raise ConfigurationError(
            "the quality rules have problems:\n  " + "\n  ".join(problems),
            hint="fix the field names (docs/quality.md lists the fields of each entity)",
        )
    return rules


def load_frames(session: Session, *, rules: RuleSet, reference_date: date) -> Frames:
    raw = QualityRepository(session).raw_frames(sorted(_entities(rules.rules)))
    return prepare(raw, reference_date)


def scores_of(results: list[RuleResult]) -> list[Score]:
    out = []
    for res in results:
        r = res.rule
        for agency, source, checked, failed in res.counts.iter_rows():
            out.append(
                Score(
                    agency,
                    source,
                    r.entity.value,
                    r.id,
                    r.dimension.value,
                    r.severity.value,
                    int(checked),
                    int(failed),
                )
            )
    return out


def failures_of(results: list[RuleResult], run_id: str) -> pl.DataFrame:
    frames = [
        res.failures.select(
            pl.lit(run_id).alias("run_id"),
            pl.lit(res.rule.id).alias("rule_id"),
            "agency",
            "source",
            "record_id",
            pl.col("detail").str.slice(0, 300),
        )
        for res in results
        if res.failures.height
    ]
    if not frames:
        return pl.DataFrame(
            schema={
                c: pl.String
                for c in ("run_id", "rule_id", "agency", "source", "record_id", "detail")
            }
        )
    return pl.concat(frames)


def run_quality(
    session: Session,
    *,
    rules: RuleSet | None = None,
    reference_date: date | None = None,
    now: datetime | None = None,
) -> RunSummary:
    """Evaluate the rules on every current record and store scores and failing records."""
    rules = checked_rules(rules)
    reference_date = reference_date or today()
    started = now or datetime.now(UTC)
    run_id = str(uuid.uuid4())
    t0 = time.perf_counter()
    frames = load_frames(session, rules=rules, reference_date=reference_date)
    t1 = time.perf_counter()
    results = evaluate(rules.rules, frames)
    t2 = time.perf_counter()
    scores = scores_of(results)
    failures = failures_of(results, run_id)
    run = QualityRunRow(
        id=run_id,
        started_at=started,
        finished_at=datetime.now(UTC) if now is None else now,
        reference_date=reference_date,
        rules_digest=rules_digest(rules),
        rules=[rule_meta(r) for r in rules.rules],
        record_count=frames.record_count(),
        failure_count=failures.height,
    )
    QualityRepository(session).add_run(run, scores, failures)
    t3 = time.perf_counter()
    timings = {"load": t1 - t0, "evaluate": t2 - t1, "store": t3 - t2}
    log.info("quality run", extra={"fields": {"run_id": run_id, **timings}})
    return RunSummary(
        run_id,
        reference_date,
        started,
        run.record_count,
        len(rules.rules),
        failures.height,
        scores,
        results,
        timings,
    )


def resolve_run(session: Session, run_id: str | None) -> QualityRunRow:
    repo = QualityRepository(session)
    if run_id:
        run = repo.run(run_id)
        if run is None:
            raise NotFound(f"no quality run {run_id}", hint="list runs: nexo quality runs")
        return run
    runs = repo.runs(limit=1)
    if not runs:
        raise NotFound("no quality run yet", hint="run the rules first: nexo quality run")
    return runs[0]


def check_readiness(
    session: Session,
    *,
    agency: str,
    thresholds: Thresholds | None = None,
    run_id: str | None = None,
) -> GateResult:
    """Compare an agency's scores in a run (the latest by default) with its thresholds."""
    run = resolve_run(session, run_id)
    scores = QualityRepository(session).scores(run.id)
    agencies = sorted({s.agency for s in scores})
    if agency not in agencies:
        raise NotFound(
            f"run {run.id} has no scores for agency {agency!r}",
            hint=f"agencies in that run: {', '.join(agencies) or 'none'}",
        )
    return gate(agency, run.id, scores, thresholds or load_thresholds())


# ------------------------------------------------------------------ what the demo calls


@dataclass(frozen=True)
class QualityOverview:
    run_id: str
    reference_date: date
    records: int
    #: agency → dimension → share of checked records that pass (None: nothing checked)
    scores: dict[str, dict[str, float | None]]
    #: (rule id, agency, source, score, failing records), worst first
    worst_rules: list[tuple[str, str, str, float, int]]
    #: agency → whether it passes the shipped readiness thresholds
    ready: dict[str, bool]
    report_path: Path
    timings: dict[str, float]


def run_default_quality(
    factory: sessionmaker[Session],
    *,
    report_dir: Path,
    reference_date: date | None = None,
    on_run: Callable[[RunSummary], Any] | None = None,
) -> QualityOverview:
    """Run the shipped rules on the store, write the HTML report, and summarise the result.

    Commits the run. For a synthetic country pass its reference date (``SynthConfig.as_of``),
    or timeliness is measured against today.
    """
    from nexo.quality.report import build_report
    from nexo.quality.report_html import render_html

    with transaction(factory) as s:
        summary = run_quality(s, reference_date=reference_date)
    if on_run:
        on_run(summary)
    with transaction(factory) as s:
        data = build_report(s, run_id=summary.run_id)
        thresholds = load_thresholds()
        agencies = sorted({sc.agency for sc in summary.scores})
        ready = {a: gate(a, summary.run_id, summary.scores, thresholds).passed for a in agencies}
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / f"quality-{summary.run_id[:8]}.html"
    path.write_text(render_html(data), encoding="utf-8")
    by_dim: dict[str, dict[str, float | None]] = {}
    for (agency, dim), pooled in pool(summary.scores, by=("agency", "dimension")).items():
        by_dim.setdefault(agency, {})[dim] = pooled.score
    worst_rules = [
        (w.rule_id, w.agency, w.source, w.score or 0.0, w.failed) for w in worst(summary.scores)
    ]
    return QualityOverview(
        summary.run_id,
        summary.reference_date,
        summary.record_count,
        by_dim,
        worst_rules,
        ready,
        path,
        summary.timings,
    )
