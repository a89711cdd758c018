"""Scoring a pair in memory with a trained model's parameters — the arithmetic Splink runs.

match weight = log2(prior odds) + Σ weight of each comparison's level (+ term-frequency
adjustment), where a level's weight is log2(m/u); probability = 2^w / (1 + 2^w).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nexo.errors import ConfigurationError
from nexo.linkage.comparisons import COMPARISONS, Comparison
from nexo.linkage.expr import Row

_CLAMP = 1e-300
_NOT_OBSERVED = 1e-6  # Splink's value for a level it never saw while training


@dataclass(frozen=True, slots=True)
class _Level:
    weight: float
    tf_column: str | None
    tf_weight: float
    tf_min: float
    log2_u: float


def _prob(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else _NOT_OBSERVED


def probability(match_weight: float) -> float:
    if match_weight > 500:
        return 1.0
    odds = math.pow(2.0, match_weight)
    return odds / (1.0 + odds)


class Scorer:
    """Scores pairs of comparison rows (``frame.features``) with a Splink model dictionary.

    ``tf`` maps a term-frequency column to {value: share of records with that value}.
    """

    def __init__(
        self,
        model: Mapping[str, Any],
        *,
        tf: Mapping[str, Mapping[str, float]] | None = None,
        comparisons: Sequence[Comparison] = COMPARISONS,
    ) -> None:
        by_name = {c.get("output_column_name"): c for c in model.get("comparisons", [])}
        self.comparisons = tuple(comparisons)
        self.levels: list[list[_Level | None]] = []
        for spec in self.comparisons:
            trained = by_name.get(spec.name)
            if trained is None or len(trained["comparison_levels"]) != len(spec.levels):
                raise ConfigurationError(
                    f"the model has no comparison {spec.name!r} shaped like Nexo's",
                    hint="train a model with this version of Nexo: nexo link run",
                )
            levels: list[_Level | None] = []
            for level in trained["comparison_levels"]:
                if level.get("is_null_level"):
                    levels.append(None)
                    continue
                m = max(_prob(level.get("m_probability")), _CLAMP)
                u = max(_prob(level.get("u_probability")), _CLAMP)
                levels.append(
                    _Level(
                        weight=math.log2(m / u),
                        tf_column=level.get("tf_adjustment_column"),
                        tf_weight=float(level.get("tf_adjustment_weight", 1.0)),
                        tf_min=float(level.get("tf_minimum_u_value", 0.0)),
                        log2_u=math.log2(u),
                    )
                )
            self.levels.append(levels)
        prior = float(model.get("probability_two_random_records_match", 1e-4))
        self.prior_weight = math.log2(prior / (1.0 - prior))
        self.tf = tf or {}

    @property
    def tf_columns(self) -> set[str]:
        return {lv.tf_column for ls in self.levels for lv in ls if lv and lv.tf_column}

    def _tf_adjustment(self, level: _Level, left: Row, right: Row) -> float:
        assert level.tf_column is not None
        table = self.tf.get(level.tf_column)
        if table is None:
            return 0.0
        col = level.tf_column
        tl, tr = table.get(left[col]), table.get(right[col])
        if tl is None and tr is None:
            return 0.0
        value = max(tl or 0.0, tr or 0.0, level.tf_min)
        if value <= 0:
            return 0.0
        return level.tf_weight * (level.log2_u - math.log2(value))

    def evidence(self, left: Row, right: Row) -> dict[str, float]:
        """Comparison name → match weight for this pair (0 when a value is missing)."""
        out: dict[str, float] = {}
        for spec, levels in zip(self.comparisons, self.levels, strict=True):
            level = levels[spec.level_of(left, right)]
            if level is None:
                out[spec.name] = 0.0
                continue
            weight = level.weight
            if level.tf_column:
                weight += self._tf_adjustment(level, left, right)
            out[spec.name] = weight
        return out

    def score(self, left: Row, right: Row) -> tuple[float, float, dict[str, float]]:
        """(match weight, probability, evidence) of a pair."""
        evidence = self.evidence(left, right)
        weight = self.prior_weight + sum(evidence.values())
        return weight, probability(weight), evidence

    def labels(self, left: Row, right: Row) -> dict[str, str]:
        """Comparison name → label of the level the pair falls in (for explanations)."""
        return {c.name: c.levels[c.level_of(left, right)].label for c in self.comparisons}
