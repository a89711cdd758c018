"""Stewards' decisions: kept as labels, applied at once, obeyed by every later run."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from town import FAST, Put, person, run_id

from nexo.linkage.repository import MpiRepository
from nexo.linkage.review import decide
from nexo.linkage.service import evaluate, review_items, run_linkage
from nexo.linkage.tables import MpiEventRow, MpiReviewRow
from nexo.store.engine import transaction


def _pid(factory: sessionmaker[Session], rid: str) -> str:
    with transaction(factory) as s:
        return {k.record_id: v[1] for k, v in MpiRepository(s).links().items()}[rid]


def _cousins(put: Put) -> None:
    """Two records the model is not sure about: one given name missing, another address."""
    put(
        "social",
        "beneficiaries",
        "S1",
        person(
            "Pedro Pablo",
            "Soto",
            "Lillo",
            date(1950, 2, 2),
            "male",
            address="Los Pinos 3",
            area="08101",
        ),
    )
    put(
        "employment",
        "jobseekers",
        "J1",
        person(
            "Pedro", "Soto", "Lillo", date(1950, 2, 2), "male", address="Ruta 5 km 12", area="08101"
        ),
    )
    put(
        "employment",
        "jobseekers",
        "J2",
        person("Elena", "Mora", "Díaz", date(1999, 1, 1), "female", nid=run_id(21000001)),
    )


PAIR = {"social/beneficiaries/S1", "employment/jobseekers/J1"}


def _queue_around_the_pair(factory: sessionmaker[Session]) -> float:
    """Splink's probability for the S1–J1 pair: run with every scored pair in the queue."""
    run_linkage(
        factory, settings=FAST.model_copy(update={"link_threshold": 1.0, "review_threshold": 0.01})
    )
    with transaction(factory) as s:
        item = next(i for i in review_items(s) if {i["a"], i["b"]} == PAIR)
    p = float(item["match_probability"])
    assert 0.01 <= p < 1.0
    return p


def test_accepting_merges_now_and_every_later_run_keeps_them_together(
    factory: sessionmaker[Session], put: Put
) -> None:
    _cousins(put)
    run_linkage(factory, settings=FAST)
    p = _queue_around_the_pair(factory)
    settings = FAST.model_copy(update={"link_threshold": min(1.0, p + (1 - p) / 2),
                                       "review_threshold": p / 2})  # fmt: skip
    run_linkage(factory, settings=settings)
    assert _pid(factory, "S1") != _pid(factory, "J1")
    with transaction(factory) as s:
        items = review_items(s)
        item = next(i for i in items if {i["a"], i["b"]} == PAIR)
        assert item["reason"] == "uncertain" and item["evidence"]["family_names"] > 0
        decision = decide(s, item["id"], accept=True, by="steward-1", note="same RSH file")
    assert len(decision.person_ids) == 1
    assert _pid(factory, "S1") == _pid(factory, "J1")  # merged at once
    run_linkage(factory, settings=settings)  # the model still says "not sure"...
    assert _pid(factory, "S1") == _pid(factory, "J1")  # ...the steward's label wins
    with transaction(factory) as s:
        kinds = {k for (k,) in s.execute(select(MpiEventRow.kind))}
        labels = s.scalars(select(MpiReviewRow).where(MpiReviewRow.status == "accepted")).all()
        assert "merged" in kinds and len(labels) == 1 and labels[0].decided_by == "steward-1"
        assert review_items(s) == []  # a decided pair does not come back to the queue


def test_rejecting_splits_now_and_every_later_run_keeps_them_apart(
    factory: sessionmaker[Session], put: Put, tmp_path: object
) -> None:
    _cousins(put)
    run_linkage(factory, settings=FAST)
    p = _queue_around_the_pair(factory)
    # a band whose top is below the pair's score: the model links them, and asks a steward
    settings = FAST.model_copy(update={"link_threshold": p / 2, "review_threshold": p / 4})
    run_linkage(factory, settings=settings)
    assert _pid(factory, "S1") == _pid(factory, "J1")
    with transaction(factory) as s:
        s.add(MpiReviewRow(
            agency_a="employment", source_a="jobseekers", record_a="J1",
            agency_b="social", source_b="beneficiaries", record_b="S1",
            match_probability=p, match_weight=0.0, evidence={}, reason="uncertain",
            status="open", created_at=MpiRepository(s).latest_run().started_at,  # type: ignore[union-attr]
        ))  # fmt: skip
    with transaction(factory) as s:
        item = review_items(s)[0]
        decision = decide(s, item["id"], accept=False, by="steward-2")
    assert len(decision.person_ids) == 2
    assert _pid(factory, "S1") != _pid(factory, "J1")  # split at once
    run_linkage(factory, settings=settings)  # the model would link them again...
    assert _pid(factory, "S1") != _pid(factory, "J1")  # ...the rejection wins


def test_labels_feed_evaluation(factory: sessionmaker[Session], put: Put, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _cousins(put)
    run_linkage(factory, settings=FAST)
    truth = tmp_path / "truth.csv"
    truth.write_text(
        "agency,source,record_id,person_id\n"
        "social,beneficiaries,S1,X1\nemployment,jobseekers,J1,X1\n"
        "employment,jobseekers,J2,X2\n",
        encoding="utf-8",
    )
    with transaction(factory) as s:
        s.add(MpiReviewRow(
            agency_a="employment", source_a="jobseekers", record_a="J1",
            agency_b="social", source_b="beneficiaries", record_b="S1",
            match_probability=0.5, match_weight=0.0, evidence={}, reason="uncertain",
            status="open", created_at=MpiRepository(s).latest_run().started_at,  # type: ignore[union-attr]
        ))  # fmt: skip
    with transaction(factory) as s:
        decide(s, review_items(s)[0]["id"], accept=True, by="steward-3")
    with transaction(factory) as s:
        result = evaluate(s, truth)
    assert result.accuracy.f1 == 1.0  # after the steward's merge, both persons are right
    assert result.labels == {"accepted": 1, "rejected": 0, "model_agreed": 0}
