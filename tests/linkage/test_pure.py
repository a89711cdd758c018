"""The pure parts: stable ids, constrained clustering, accuracy, the in-memory scorer."""

from __future__ import annotations

from datetime import date
from itertools import count

import pytest
from town import TOWN, person, run_id

from nexo.linkage import batch, frame
from nexo.linkage.backend import DuckDBBackend
from nexo.linkage.cluster import ScoredPair, cluster
from nexo.linkage.domain import Demographics, EventKind, RecordKey
from nexo.linkage.evaluate import accuracy
from nexo.linkage.model import adapt_prior
from nexo.linkage.persons import assign
from nexo.linkage.rules import Conflict, conflict
from nexo.linkage.scoring import Scorer
from nexo.linkage.service import default_model


def k(rid: str) -> RecordKey:
    return RecordKey("a", "s", rid)


def ids() -> object:
    n = count(1)
    return lambda: f"N{next(n)}"


def test_assign_keeps_ids_and_reports_merges_and_splits() -> None:
    previous = {k("1"): "P1", k("2"): "P1", k("3"): "P2", k("4"): "P3", k("5"): "P3"}
    clusters = [[k("1"), k("2"), k("3")], [k("4")], [k("5")], [k("6")]]
    out = assign(previous, clusters, new_id=ids())  # type: ignore[arg-type]
    assert out.person_of[k("1")] == out.person_of[k("3")] == "P1"  # P2 merged into P1
    assert out.merged == {"P2": "P1"}
    assert out.person_of[k("4")] == "P3" and out.person_of[k("5")] == "N1"  # P3 split
    assert out.person_of[k("6")] == "N2"  # a new record, a new person
    kinds = {(e.kind, e.person_id, e.other_person_id) for e in out.events}
    assert (EventKind.MERGED, "P2", "P1") in kinds
    assert (EventKind.SPLIT, "P3", "N1") in kinds
    assert (EventKind.CREATED, "N2", None) in kinds


def test_assign_is_stable_when_nothing_changes() -> None:
    previous = {k("1"): "P1", k("2"): "P1", k("3"): "P2"}
    out = assign(previous, [[k("3")], [k("2"), k("1")]], new_id=ids())  # type: ignore[arg-type]
    assert out.person_of == previous and not out.events and not out.created


def _rows(*people: tuple[str, str]) -> list[dict[str, object]]:
    base = {"nid": None, "nid_ok": False, "nid_verified": False, "family": "vera",
            "phone": None, "email": None}  # fmt: skip
    return [base | {"given": given, "nid": nid, "nid_ok": bool(nid)} for given, nid in people]


def test_clustering_never_chains_a_household_through_one_weak_link() -> None:
    # 0 and 2 are the twins Ana and Sofía; 1 is a record "Ana Sofía" that agrees with both
    rows = _rows(("ana", None), ("ana sofia", None), ("sofia", None))
    pairs = [ScoredPair(0, 1, 0.97), ScoredPair(1, 2, 0.96), ScoredPair(0, 2, 0.95)]
    out = cluster(rows, pairs, threshold=0.9)
    assert conflict(rows[0], rows[1]) is None and conflict(rows[1], rows[2]) is None
    assert out.labels[0] == out.labels[1] != out.labels[2]
    assert [r for *_, r in out.refused] == [Conflict.GIVEN_NAMES, Conflict.GIVEN_NAMES]


def test_rejected_pairs_are_never_joined_and_accepted_ones_always() -> None:
    rows = _rows(("ana", None), ("ana", None), ("ana", None))
    pairs = [ScoredPair(0, 1, 0.99), ScoredPair(1, 2, 0.99)]
    out = cluster(rows, pairs, threshold=0.9, rejected=[(0, 2)])
    assert out.labels[0] == out.labels[1] != out.labels[2]
    out = cluster(rows, [], threshold=0.9, accepted=[(0, 2)])
    assert out.labels[0] == out.labels[2] != out.labels[1]
    assert out.methods[0].value == "manual"


def test_conflicts_need_verified_identifiers_or_clearly_different_given_names() -> None:
    row = {"nid": "cl-run:1", "nid_ok": True, "nid_verified": True, "given": "ana maria",
           "family": "vera", "phone": None, "email": None}  # fmt: skip
    assert conflict(row, row | {"nid": "cl-run:2"}) is Conflict.IDENTIFIER
    assert conflict(row, row | {"nid": "cl-run:2", "nid_verified": False}) is Conflict.IDENTIFIER
    assert conflict(row, row | {"nid": "cl-run:2", "nid_ok": False, "nid_verified": False}) is None
    other = row | {"nid": None, "nid_ok": False, "nid_verified": False}
    assert conflict(row, other | {"given": "sofia"}) is Conflict.GIVEN_NAMES
    assert conflict(row, other | {"given": "maria"}) is None  # one given name agrees
    assert conflict(row, other | {"given": "anna"}) is None  # similar
    assert conflict(row, other | {"given": "vera", "family": "ana maria"}) is None  # swapped
    twin_swapped = other | {"given": "vera", "family": "sofia"}
    assert conflict(row, twin_swapped) is Conflict.GIVEN_NAMES  # her real given name differs
    assert conflict(row, other | {"given": "paola"}) is not None  # not similar enough
    assert conflict(row, other | {"given": "sofia", "phone": "1"}) is Conflict.GIVEN_NAMES
    assert conflict(row | {"phone": "1"}, other | {"given": "pancho", "phone": "1"}) is None


def test_accuracy_counts_pairs_and_persons() -> None:
    truth = {k("1"): "A", k("2"): "A", k("3"): "A", k("4"): "B", k("5"): "C"}
    predicted = {k("1"): 1, k("2"): 1, k("3"): 2, k("4"): 2, k("5"): 3}
    acc = accuracy(predicted, truth)
    assert (acc.true_pairs, acc.predicted_pairs, acc.correct_pairs) == (3, 2, 1)
    assert acc.precision == 0.5 and acc.recall == pytest.approx(1 / 3)
    assert (acc.exact_persons, acc.merged_clusters, acc.split_persons) == (1, 1, 1)


def test_in_memory_scores_equal_splinks_to_the_last_digit() -> None:
    records = [Demographics.of(RecordKey(a, s, r), p) for a, s, r, p in TOWN]
    records += [
        Demographics.of(
            k("x1"), person("Ana", "Vera", "Soto", date(2010, 6, 5), "female", nid=run_id(27112233))
        )  # fmt: skip
    ]
    table = frame.to_table(frame.raw_table(records))
    model = adapt_prior(default_model(), len(records))
    scored = batch.score(table, DuckDBBackend(), model=model)
    rows = table.to_pylist()
    tf = {
        col: {v: n / sum(1 for r in rows if r[col]) for v, n in _counts(rows, col).items()}
        for col in ("given", "given1", "family_full")
    }
    scorer = Scorer(scored.model, tf=tf)
    assert scored.pairs.num_rows >= 5
    for pair in scored.pairs.to_pylist():
        weight, probability, evidence = scorer.score(rows[pair["unique_id_l"]],
                                                     rows[pair["unique_id_r"]])  # fmt: skip
        assert weight == pytest.approx(pair["match_weight"], abs=1e-9)
        assert probability == pytest.approx(pair["match_probability"], abs=1e-12)
        assert evidence["birth_date"] == pytest.approx(pair["mw_birth_date"], abs=1e-9)


def _counts(rows: list[dict[str, object]], col: str) -> dict[object, int]:
    out: dict[object, int] = {}
    for r in rows:
        if r[col] is not None:
            out[r[col]] = out.get(r[col], 0) + 1
    return out
