"""The quality report of a run: scores, history, worst rules, failing records; JSON and CSV.

``build_report`` reads what a run stored; ``render_json``, ``render_csv`` and
``nexo.quality.report_html.render_html`` only format it.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from nexo.quality.domain import Dimension
from nexo.quality.repository import QualityRepository
from nexo.quality.scoring import Pooled, Score, pool, ratio, worst
from nexo.quality.service import resolve_run

DIMENSIONS = [d.value for d in Dimension]


@dataclass(frozen=True)
class RunInfo:
    id: str
    started_at: datetime
    reference_date: date
    record_count: int
    failure_count: int
    rules_digest: str


@dataclass(frozen=True)
class HistoryPoint:
    run_id: str
    started_at: datetime
    agency: str
    dimension: str
    checked: int
    failed: int

    @property
    def score(self) -> float | None:
        return ratio(self.checked, self.failed)


FailureKey = tuple[str, str, str]  # rule id, agency, source


@dataclass(frozen=True)
class ReportData:
    run: RunInfo
    rules: dict[str, dict[str, Any]]
    scores: list[Score]
    history: list[HistoryPoint]
    failures: dict[FailureKey, list[tuple[str, str | None]]]
    failure_limit: int

    @property
    def agencies(self) -> list[str]:
        return sorted({s.agency for s in self.scores})

    def by_agency_dimension(self) -> dict[tuple[str, ...], Pooled]:
        return pool(self.scores, by=("agency", "dimension"))

    def by_agency(self) -> dict[tuple[str, ...], Pooled]:
        return pool(self.scores, by=("agency",))

    def worst(self, n: int = 10) -> list[Score]:
        return worst(self.scores, n)


def build_report(
    session: Session, *, run_id: str | None = None, history_runs: int = 30, failure_limit: int = 200
) -> ReportData:
    """The report of a run (the latest by default) with the runs before it."""
    repo = QualityRepository(session)
    run = resolve_run(session, run_id)
    runs = [r for r in repo.runs() if r.started_at <= run.started_at][:history_runs]
    started = {r.id: r.started_at for r in runs}
    points = [
        HistoryPoint(rid, started[rid], a, d, c, f)
        for rid, a, d, c, f in repo.history(list(started))
    ]
    history = sorted(points, key=lambda p: (p.started_at, p.agency, p.dimension))
    scores = repo.scores(run.id)
    failures: dict[FailureKey, list[tuple[str, str | None]]] = {}
    for s in scores:
        if s.failed:
            rows = repo.failures(
                run.id, rule_id=s.rule_id, agency=s.agency, source=s.source, limit=failure_limit
            )
            failures[(s.rule_id, s.agency, s.source)] = [(r.record_id, r.detail) for r in rows]
    info = RunInfo(
        run.id,
        run.started_at,
        run.reference_date,
        run.record_count,
        run.failure_count,
        run.rules_digest,
    )
    rules = {r["id"]: r for r in run.rules}
    return ReportData(info, rules, scores, history, failures, failure_limit)


def _score_dict(s: Score, data: ReportData, with_failures: bool) -> dict[str, Any]:
    meta = data.rules.get(s.rule_id, {})
    out: dict[str, Any] = {
        "rule_id": s.rule_id,
        "description": meta.get("description"),
        "owner": meta.get("owner"),
        "entity": s.entity,
        "dimension": s.dimension,
        "severity": s.severity,
        "agency": s.agency,
        "source": s.source,
        "checked": s.checked,
        "failed": s.failed,
        "score": s.score,
    }
    if with_failures:
        shown = data.failures.get((s.rule_id, s.agency, s.source), [])
        out["failures"] = [{"record_id": r, "detail": d} for r, d in shown]
        out["failures_truncated"] = len(shown) < s.failed
    return out


def render_json(data: ReportData) -> str:
    run = data.run
    doc = {
        "run": {
            "id": run.id,
            "started_at": run.started_at.isoformat(),
            "reference_date": run.reference_date.isoformat(),
            "records": run.record_count,
            "failures": run.failure_count,
            "rules_digest": run.rules_digest,
        },
        "agencies": [
            {"agency": k[0], "checked": p.checked, "failed": p.failed, "score": p.score}
            for k, p in data.by_agency().items()
        ],
        "scoreboard": [
            {
                "agency": k[0],
                "dimension": k[1],
                "checked": p.checked,
                "failed": p.failed,
                "score": p.score,
            }
            for k, p in data.by_agency_dimension().items()
        ],
        "worst_rules": [_score_dict(s, data, False) for s in data.worst()],
        "scores": [_score_dict(s, data, True) for s in data.scores],
        "history": [
            {
                "run_id": h.run_id,
                "started_at": h.started_at.isoformat(),
                "agency": h.agency,
                "dimension": h.dimension,
                "checked": h.checked,
                "failed": h.failed,
                "score": h.score,
            }
            for h in data.history
        ],
        "failure_limit": data.failure_limit,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = (
    "run_id",
    "started_at",
    "reference_date",
    "agency",
    "source",
    "entity",
    "rule_id",
    "dimension",
    "severity",
    "owner",
    "checked",
    "failed",
    "score",
)


def render_csv(data: ReportData) -> str:
    """One row per agency × source × rule of the run."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in data.scores:
        writer.writerow(
            [
                data.run.id,
                data.run.started_at.isoformat(),
                data.run.reference_date.isoformat(),
                s.agency,
                s.source,
                s.entity,
                s.rule_id,
                s.dimension,
                s.severity,
                data.rules.get(s.rule_id, {}).get("owner", ""),
                s.checked,
                s.failed,
                "" if s.score is None else f"{s.score:.6f}",
            ]
        )
    return buf.getvalue()
