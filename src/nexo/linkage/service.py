"""Use cases of the master person index: run linkage on the store, status, export, evaluate.

``run_linkage`` is a job (like ingest): it reads in one transaction, computes without holding
one, and writes everything a run changes in one transaction, so a failed run changes nothing.
"""

from __future__ import annotations

import csv
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy.orm import Session, sessionmaker

from nexo.config import LinkageSettings, get_settings
from nexo.errors import NotFound, UsageError
from nexo.linkage import batch, frame
from nexo.linkage.backend import Backend, make_backend
from nexo.linkage.domain import Demographics, RecordKey, ReviewStatus, Thresholds
from nexo.linkage.evaluate import Accuracy, accuracy
from nexo.linkage.golden import golden_record
from nexo.linkage.model import adapt_prior
from nexo.linkage.persons import assign
from nexo.linkage.repository import LinkRow, MpiRepository
from nexo.linkage.review import review_rows
from nexo.linkage.tables import MpiRunRow
from nexo.store.engine import transaction

if TYPE_CHECKING:
    from nexo.linkage.online import Matcher

#: below this many records the model is not trained: the built-in model is used
MIN_TRAIN_RECORDS = 2000
Progress = Callable[[str], None]


def default_model() -> dict[str, Any]:
    """Nexo's built-in model, trained on a synthetic country (no personal data in it)."""
    text = (resources.files("nexo.linkage") / "default_model.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def thresholds_of(cfg: LinkageSettings) -> Thresholds:
    return Thresholds(link=cfg.link_threshold, review=min(cfg.review_threshold, cfg.link_threshold))


def training_of(cfg: LinkageSettings) -> batch.Training:
    return batch.Training(u_max_pairs=cfg.u_max_pairs, em_max_pairs=cfg.em_max_pairs, seed=cfg.seed)


@dataclass
class LinkSummary:
    run_id: str
    model_version: int
    backend: str
    model_source: str  # trained | given | built-in
    records: int
    persons: int
    links_by_method: dict[str, int]
    review_queue: int
    created: int
    merged: int
    split: int
    refused_by_rule: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)
    accuracy: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_truth(path: Path) -> dict[RecordKey, str]:
    """A truth file: CSV with agency, source, record_id, person_id (``truth/persons.csv``)."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            need = {"agency", "source", "record_id", "person_id"}
            if not need <= set(reader.fieldnames or []):
                raise UsageError(
                    f"{path} is not a truth file: it needs the columns {', '.join(sorted(need))}",
                    hint="use truth/persons.csv of a synthetic country",
                )
            return {
                RecordKey(r["agency"], r["source"], r["record_id"]): r["person_id"] for r in reader
            }
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}", hint="give a readable file") from e


def _clusters(labels: Sequence[int], keys: Sequence[RecordKey]) -> list[list[RecordKey]]:
    by_label: dict[int, list[RecordKey]] = defaultdict(list)
    for key, label in zip(keys, labels, strict=True):
        by_label[label].append(key)
    return list(by_label.values())


def _decided_pairs(
    decisions: Sequence[tuple[RecordKey, RecordKey, ReviewStatus]], uid: Mapping[RecordKey, int]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    accepted: list[tuple[int, int]] = []
    rejected: list[tuple[int, int]] = []
    for a, b, status in decisions:
        if a in uid and b in uid:
            pair = (uid[a], uid[b])
            (accepted if status is ReviewStatus.ACCEPTED else rejected).append(pair)
    return accepted, rejected


def run_linkage(
    factory: sessionmaker[Session],
    *,
    backend: str | Backend | None = None,
    settings: LinkageSettings | None = None,
    model: dict[str, Any] | None = None,
    train: bool | None = None,
    truth: Path | None = None,
    progress: Progress | None = None,
) -> LinkSummary:
    """Link every current person record of the store into persons with stable ids.

    ``model``: use this trained model instead of training; ``train``: force (True) or skip
    (False, built-in model) training — by default a store with fewer than
    ``MIN_TRAIN_RECORDS`` records uses the built-in model. ``truth``: also measure accuracy.
    """
    cfg = settings or get_settings().linkage
    say = progress or (lambda _stage: None)
    thresholds = thresholds_of(cfg)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    started = datetime.now(UTC)
    say("reading the store")
    with transaction(factory) as s:
        repo = MpiRepository(s)
        records = repo.demographics()
        links = repo.links()
        decisions = repo.decisions()
        golden_before = repo.golden_digests()
        version = repo.next_model_version()
    if not records:
        raise UsageError(
            "the store has no person records to link",
            hint="load agency exports first: nexo ingest --mapping ... FILE",
        )
    timings["read"] = time.perf_counter() - t0
    keys = [d.key for d in records]
    uid = {k: i for i, k in enumerate(keys)}
    t1 = time.perf_counter()
    raw = frame.raw_table(records)
    table = frame.to_table(raw)
    timings["prepare"] = time.perf_counter() - t1
    if model is not None:
        source = "given"
    elif train is False or (train is None and len(records) < MIN_TRAIN_RECORDS):
        model, source = adapt_prior(default_model(), len(records)), "built-in"
    else:
        source = "trained"
    engine = (
        backend if not isinstance(backend, str | None) else make_backend(backend or cfg.backend)
    )
    say("training the model" if source == "trained" else "scoring pairs")
    try:
        scored = batch.score(
            table, engine, thresholds=thresholds, model=model, training=training_of(cfg)
        )
    finally:
        if isinstance(backend, str | None):
            engine.close()
    timings.update({k: v for k, v in scored.timings.items()})
    say("clustering")
    t2 = time.perf_counter()
    accepted, rejected = _decided_pairs(decisions, uid)
    clustering = batch.cluster_table(
        table, scored, thresholds=thresholds, accepted=accepted, rejected=rejected
    )
    result = assign({k: v[1] for k, v in links.items()}, _clusters(clustering.labels, keys))
    timings["cluster"] = time.perf_counter() - t2
    say("writing persons")
    t3 = time.perf_counter()
    run_id = str(uuid.uuid4())
    link_rows: list[LinkRow] = [
        (k, result.person_of[k], clustering.probabilities[i], clustering.methods[i].value)
        for i, k in enumerate(keys)
    ]
    members: dict[str, list[Demographics]] = defaultdict(list)
    for d in records:
        members[result.person_of[d.key]].append(d)
    golden = []
    for pid, recs in members.items():
        g = golden_record(recs, trust=cfg.source_trust)
        digest = g.digest
        if golden_before.get(pid) != digest:
            golden.append((pid, g.person, g.provenance, digest))
    reviews = review_rows(scored.pairs, clustering, keys, thresholds, decisions, run_id, started)
    by_method: dict[str, int] = defaultdict(int)
    for _, _, _, method in link_rows:
        by_method[method] += 1
    summary = LinkSummary(
        run_id=run_id,
        model_version=version,
        backend=engine.name,
        model_source=source,
        records=len(records),
        persons=len(members),
        links_by_method=dict(sorted(by_method.items())),
        review_queue=len(reviews),
        created=len(result.created),
        merged=len(result.merged),
        split=sum(1 for e in result.events if e.kind.value == "split"),
        refused_by_rule={k.value: v for k, v in clustering.blocked.items()},
    )
    if truth is not None:
        acc = accuracy(result.person_of, read_truth(truth))
        summary.accuracy = acc.as_dict()
    with transaction(factory) as s:
        repo = MpiRepository(s)
        now = datetime.now(UTC)
        repo.add_persons(result.created, now)
        status: dict[str, tuple[str, str | None]] = {
            old: ("merged", into) for old, into in result.merged.items()
        }
        status |= {pid: ("retired", None) for pid in result.retired}
        repo.set_status(status, now)
        new, changed = [], []
        for row in link_rows:
            before = links.get(row[0])
            if before is None:
                new.append(row)
            elif before[1:] != row[1:]:
                changed.append((before[0], row))
        gone = [v[0] for k, v in links.items() if k not in uid]
        repo.write_links(new, changed, gone, run_id=run_id, at=now)
        repo.add_events(result.events, run_id=run_id, at=now)
        repo.write_golden(
            golden,
            existing=set(golden_before),
            gone=[p for p in golden_before if p not in members],
            run_id=run_id,
            at=now,
        )
        repo.replace_open_reviews(reviews)
        timings["write"] = time.perf_counter() - t3
        timings["total"] = time.perf_counter() - t0
        summary.timings = {k: round(v, 3) for k, v in timings.items()}
        repo.add_run(
            MpiRunRow(
                run_id=run_id,
                model_version=version,
                status="done",
                backend=engine.name,
                trained=source == "trained",
                model=scored.model,
                thresholds=asdict(thresholds),
                summary=summary.as_dict(),
                started_at=started,
                finished_at=now,
            )
        )
    return summary


def status(session: Session) -> dict[str, Any]:
    repo = MpiRepository(session)
    latest = repo.latest_run()
    return {
        **repo.counts(),
        "latest_run": latest.summary if latest else None,
        "runs": [
            {
                "run_id": r.run_id,
                "model_version": r.model_version,
                "status": r.status,
                "started_at": r.started_at.isoformat(),
                "persons": r.summary.get("persons"),
            }
            for r in repo.runs()
        ],
    }


def export_links(session: Session, out: TextIO) -> int:
    """CSV: agency, source, source_record_id, person_id, match_probability."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["agency", "source", "source_record_id", "person_id", "match_probability"])
    n = 0
    for agency, src, rid, pid, prob in MpiRepository(session).export_rows():
        writer.writerow([agency, src, rid, pid, f"{prob:.6f}"])
        n += 1
    return n


@dataclass
class Evaluation:
    accuracy: Accuracy
    labels: dict[str, int]  # steward decisions and how many the model's score agreed with


def evaluate(session: Session, truth: Path) -> Evaluation:
    repo = MpiRepository(session)
    current = {k: v[1] for k, v in repo.links().items()}
    if not current:
        raise NotFound("no person links yet", hint="run: nexo link run")
    link = repo.latest_run()
    threshold = float(link.thresholds.get("link", 0.9)) if link else 0.9
    labels = {"accepted": 0, "rejected": 0, "model_agreed": 0}
    for row in repo.decided_reviews():
        labels[row.status] += 1
        said_match = row.match_probability >= threshold
        if said_match == (row.status == ReviewStatus.ACCEPTED.value):
            labels["model_agreed"] += 1
    return Evaluation(accuracy(current, read_truth(truth)), labels)


def load_matcher(factory: sessionmaker[Session]) -> Matcher:
    """An in-memory ``Matcher`` over the store's linked records and latest model."""
    from nexo.linkage.online import Matcher

    with transaction(factory) as s:
        repo = MpiRepository(s)
        run = repo.latest_run()
        if run is None:
            raise NotFound("no linkage run yet", hint="run: nexo link run")
        links = repo.links()
        records = [d for d in repo.demographics() if d.key in links]
        model = run.model
    return Matcher.from_records(model, records, [links[d.key][1] for d in records])


def saved_model(session: Session, run_id: str) -> dict[str, Any]:
    """The model of a run, as Splink reads it (``Linker(df, model)``, ``--model``)."""
    row = session.get(MpiRunRow, run_id)
    if row is None:
        raise NotFound(f"no linkage run {run_id}", hint="see: nexo link status")
    return dict(row.model)


def review_items(
    session: Session, *, status: str = "open", limit: int = 50
) -> list[dict[str, Any]]:
    if status not in {s.value for s in ReviewStatus}:
        raise UsageError(f"unknown status {status!r}", hint="open, accepted or rejected")
    return [
        {
            "id": r.id,
            "a": str(RecordKey(r.agency_a, r.source_a, r.record_a)),
            "b": str(RecordKey(r.agency_b, r.source_b, r.record_b)),
            "match_probability": r.match_probability,
            "match_weight": r.match_weight,
            "evidence": r.evidence,
            "reason": r.reason,
            "status": r.status,
            "decided_by": r.decided_by,
        }
        for r in MpiRepository(session).reviews(status=status, limit=limit)
    ]
