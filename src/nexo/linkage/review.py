"""The review queue: uncertain pairs for stewards, and decisions that override the model.

A run puts two kinds of pairs in the queue: pairs whose probability is in the uncertain band
``[review, link)``, and pairs the model would link but a rule refused (different verified
identifiers, clearly different given names). A steward accepts (one person) or rejects (two
persons). A decision is a label kept forever: it applies at once (accept merges the two
persons, reject splits the person apart), every later run obeys it (a must-link or a
cannot-link in clustering) and ``nexo link evaluate`` counts how often the model agreed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from nexo.errors import NotFound, UsageError
from nexo.linkage import batch, frame
from nexo.linkage.cluster import Clustering, ScoredPair, cluster
from nexo.linkage.comparisons import COMPARISONS
from nexo.linkage.domain import Demographics, EventKind, RecordKey, ReviewStatus, Thresholds
from nexo.linkage.golden import golden_record
from nexo.linkage.persons import PersonEvent, assign
from nexo.linkage.repository import MpiRepository
from nexo.linkage.scoring import Scorer

MAX_QUEUE = 20_000


def _evidence(row: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for c in COMPARISONS:
        w = (row.get(f"mw_{c.name}") or 0.0) + (row.get(f"mw_tf_adj_{c.name}") or 0.0)
        out[c.name] = round(float(w), 3)
    return out


def _ordered(a: RecordKey, b: RecordKey) -> tuple[RecordKey, RecordKey]:
    return (a, b) if a <= b else (b, a)


def review_rows(
    pairs: pa.Table,
    clustering: Clustering,
    keys: Sequence[RecordKey],
    thresholds: Thresholds,
    decisions: Sequence[tuple[RecordKey, RecordKey, ReviewStatus]],
    run_id: str,
    at: datetime,
) -> list[dict[str, Any]]:
    """The open review items of a run (already decided pairs are left out)."""
    decided = {_ordered(a, b) for a, b, _ in decisions}
    p = pairs.column("match_probability")
    band = pairs.filter(
        pc.and_(pc.greater_equal(p, thresholds.review), pc.less(p, thresholds.link))
    )
    items: dict[tuple[RecordKey, RecordKey], dict[str, Any]] = {}
    refused = {(a, b): reason for a, b, _, reason in clustering.refused}
    refused_rows = pairs.filter(pc.greater_equal(p, thresholds.link)) if refused else None
    candidates = band.to_pylist()
    if refused_rows is not None:
        candidates += [
            r
            for r in refused_rows.to_pylist()
            if (r["unique_id_l"], r["unique_id_r"]) in refused
            or (r["unique_id_r"], r["unique_id_l"]) in refused
        ]
    for r in candidates:
        a, b = _ordered(keys[r["unique_id_l"]], keys[r["unique_id_r"]])
        if (a, b) in decided:
            continue
        why = refused.get((r["unique_id_l"], r["unique_id_r"])) or refused.get(
            (r["unique_id_r"], r["unique_id_l"])
        )
        items[(a, b)] = {
            "agency_a": a.agency, "source_a": a.source, "record_a": a.record_id,
            "agency_b": b.agency, "source_b": b.source, "record_b": b.record_id,
            "match_probability": float(r["match_probability"]),
            "match_weight": float(r["match_weight"]),
            "evidence": _evidence(r),
            "reason": f"conflict: {why.value}" if why else "uncertain",
            "status": ReviewStatus.OPEN.value, "decided_by": None, "decided_at": None,
            "note": None, "run_id": run_id, "created_at": at,
        }  # fmt: skip
    ranked = sorted(items.values(), key=lambda v: -v["match_probability"])
    return ranked[:MAX_QUEUE]


@dataclass(frozen=True)
class Decision:
    review_id: int
    status: ReviewStatus
    person_ids: list[str]  # the person(s) the two records belong to now
    events: list[PersonEvent]


def _write_persons(
    repo: MpiRepository,
    previous: dict[RecordKey, str],
    clusters: list[list[RecordKey]],
    records: dict[RecordKey, Demographics],
    method: str,
    trust: Sequence[str],
    at: datetime,
) -> tuple[list[str], list[PersonEvent]]:
    result = assign(previous, clusters)
    repo.add_persons(result.created, at)
    repo.set_status({old: ("merged", into) for old, into in result.merged.items()}, at)
    links = repo.links()
    changed = [
        (links[k][0], (k, pid, links[k][2] if pid == previous.get(k) else 1.0, method))
        for k, pid in result.person_of.items()
        if k in links and links[k][1] != pid
    ]
    repo.write_links([], changed, [], run_id="review", at=at)
    repo.add_events(result.events, run_id="review", at=at)
    members: dict[str, list[Demographics]] = defaultdict(list)
    for k, pid in result.person_of.items():
        members[pid].append(records[k])
    existing = repo.golden_ids([*members, *result.merged])
    rows = []
    for pid, recs in members.items():
        g = golden_record(recs, trust=trust)
        rows.append((pid, g.person, g.provenance, g.digest))
    repo.write_golden(
        rows, existing=existing, gone=[p for p in result.merged if p in existing],
        run_id="review", at=at,
    )  # fmt: skip
    return sorted(members), result.events


def _split(
    repo: MpiRepository,
    person_id: str,
    records: dict[RecordKey, Demographics],
    model: dict[str, Any],
    threshold: float,
) -> list[list[RecordKey]]:
    """Re-cluster one person's records in memory, obeying every rejection among them."""
    keys = sorted(records)
    table = frame.to_table(frame.raw_table([records[k] for k in keys]))
    rows = table.to_pylist()
    scorer = Scorer(model)
    pairs = [
        ScoredPair(i, j, scorer.score(rows[i], rows[j])[1])
        for i in range(len(rows))
        for j in range(i + 1, len(rows))
    ]
    index = {k: i for i, k in enumerate(keys)}
    rejected = [
        (index[a], index[b])
        for a, b, st in repo.decisions()
        if st is ReviewStatus.REJECTED and a in index and b in index
    ]
    result = cluster(
        rows,
        pairs,
        threshold=threshold,
        deterministic=batch.deterministic_groups(table),
        rejected=rejected,
    )
    return [[keys[i] for i in members] for members in result.clusters().values()]


def decide(
    session: Session,
    review_id: int,
    *,
    accept: bool,
    by: str,
    note: str | None = None,
    trust: Sequence[str] = ("social/beneficiaries", "employment/jobseekers"),
) -> Decision:
    """Record a steward's decision on a review item and apply it to the persons now."""
    repo = MpiRepository(session)
    row = repo.review(review_id)
    if row is None:
        raise NotFound(f"no review item {review_id}", hint="list them: nexo link review")
    if not by.strip():
        raise UsageError("a decision needs the steward's name", hint="pass --by NAME")
    status = ReviewStatus.ACCEPTED if accept else ReviewStatus.REJECTED
    now = datetime.now(UTC)
    row.status, row.decided_by, row.decided_at, row.note = status.value, by, now, note
    a = RecordKey(row.agency_a, row.source_a, row.record_a)
    b = RecordKey(row.agency_b, row.source_b, row.record_b)
    pa_, pb_ = repo.person_of(a), repo.person_of(b)
    session.flush()
    if pa_ is None or pb_ is None:
        return Decision(review_id, status, [p for p in (pa_, pb_) if p], [])
    if accept and pa_ != pb_:
        keys = repo.records_of(pa_) + repo.records_of(pb_)
        records = repo.demographics_of(keys)
        previous = {k: repo.person_of(k) or pa_ for k in keys}
        persons, events = _write_persons(repo, previous, [keys], records, "manual", trust, now)
        return Decision(review_id, status, persons, events)
    if not accept and pa_ == pb_:
        run = repo.latest_run()
        if run is None:
            raise NotFound("no linkage run yet", hint="run: nexo link run")
        keys = repo.records_of(pa_)
        records = repo.demographics_of(keys)
        parts = _split(repo, pa_, records, run.model, float(run.thresholds.get("link", 0.9)))
        persons, events = _write_persons(
            repo, {k: pa_ for k in keys}, parts, records, "probabilistic", trust, now
        )
        return Decision(review_id, status, persons, events)
    return Decision(review_id, status, sorted({pa_, pb_}), [])


__all__ = ["Decision", "EventKind", "decide", "review_rows"]
