"""Batch linkage: a deterministic pass, a Fellegi–Sunter model trained by EM, scored pairs.

``score`` runs on any backend (DuckDB or Spark) over the comparison table of ``frame``; it
returns the scored candidate pairs and the trained model, which ``cluster`` turns into persons.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from nexo.linkage import model as person_model
from nexo.linkage.backend import Backend
from nexo.linkage.cluster import Clustering, ColumnRows, ScoredPair, cluster
from nexo.linkage.comparisons import COMPARISONS
from nexo.linkage.domain import Thresholds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Training:
    """How the model is trained (see docs/linkage.md, "Tuning")."""

    u_max_pairs: float = 3e6  # random pairs for the u-probabilities
    em_max_pairs: float | None = 1.5e6  # blocked pairs per EM session (None: all)
    seed: int = 42
    prior_recall: float = person_model.PRIOR_RECALL


DEFAULT_THRESHOLDS = Thresholds()
DEFAULT_TRAINING = Training()


@dataclass
class Scored:
    pairs: pa.Table  # unique_id_l, unique_id_r, match_probability, match_weight, mw_<comparison>
    model: dict[str, Any]
    deterministic: list[list[int]]
    timings: dict[str, float] = field(default_factory=dict)


def deterministic_groups(table: pa.Table) -> list[list[int]]:
    """Records that share a verified identifier with a valid check digit."""
    verified = table.filter(pc.field("nid_verified")).select(["nid", "unique_id"])
    grouped = verified.group_by("nid").aggregate([("unique_id", "list")])
    groups = grouped.column("unique_id_list").to_pylist()
    return [sorted(g) for g in groups if len(g) > 1]


def _quiet_splink() -> None:
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)


def train(linker: Any, options: Training) -> None:
    from splink import block_on  # noqa: F401  (import check: Splink present)

    linker.training.estimate_probability_two_random_records_match(
        list(person_model.PRIOR_RULES), recall=options.prior_recall
    )
    linker.training.estimate_u_using_random_sampling(
        max_pairs=options.u_max_pairs, seed=options.seed
    )
    for rule in person_model.TRAINING_RULES:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule,
            estimate_without_term_frequencies=True,
            max_pairs=options.em_max_pairs,
        )


def score(
    table: pa.Table,
    backend: Backend,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    model: dict[str, Any] | None = None,
    training: Training = DEFAULT_TRAINING,
) -> Scored:
    """Train (unless ``model`` is given) and score the candidate pairs of ``table``."""
    from splink import Linker

    _quiet_splink()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    groups = deterministic_groups(table)
    timings["deterministic"] = time.perf_counter() - t0
    dialect = backend.dialect
    if model is None:
        settings = person_model.settings(dialect)
    else:
        settings = person_model.for_dialect(model, dialect)
        settings["blocking_rules_to_generate_predictions"] = person_model.prediction_rules()
    df = backend.register(table, f"nexo_persons_{int(time.time() * 1000)}")
    linker = Linker(df, settings, log_level=None)
    t1 = time.perf_counter()
    if model is None:
        train(linker, training)
        trained = person_model.regularise(
            linker.misc.save_model_to_json(), u_floor=1.0 / training.u_max_pairs
        )
        linker = Linker(df, trained, log_level=None)
    timings["train"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    predictions = linker.inference.predict(
        threshold_match_probability=thresholds.predict, warning_mode="never"
    )
    keep = ["unique_id_l", "unique_id_r", "match_probability", "match_weight"]
    keep += [c for c in predictions.columns_escaped if c.strip('"').startswith("mw_")]
    pairs = backend.to_arrow(predictions).select([c.strip('"') for c in keep])
    timings["predict"] = time.perf_counter() - t2
    return Scored(pairs, linker.misc.save_model_to_json(), groups, timings)


def pairs_of(pairs: pa.Table) -> list[ScoredPair]:
    ls = pairs.column("unique_id_l").to_pylist()
    rs = pairs.column("unique_id_r").to_pylist()
    ps = pairs.column("match_probability").to_pylist()
    return [ScoredPair(a, b, p) for a, b, p in zip(ls, rs, ps, strict=True)]


def cluster_table(
    table: pa.Table,
    scored: Scored,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    accepted: Sequence[tuple[int, int]] = (),
    rejected: Sequence[tuple[int, int]] = (),
) -> Clustering:
    from nexo.linkage.cluster import RULE_COLUMNS

    rows = ColumnRows({c: table.column(c).to_pylist() for c in RULE_COLUMNS})
    return cluster(
        rows,
        pairs_of(scored.pairs),
        threshold=thresholds.link,
        deterministic=scored.deterministic,
        accepted=accepted,
        rejected=rejected,
    )


def evidence_columns() -> list[str]:
    return [f"mw_{c.name}" for c in COMPARISONS]
