"""Accuracy of a clustering against the truth: pairwise and cluster metrics (pure)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass
from typing import Any


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


@dataclass(frozen=True)
class Accuracy:
    records: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    true_persons: int
    predicted_persons: int
    exact_persons: int  # true persons reproduced with exactly their records
    merged_clusters: int  # predicted persons holding records of more than one true person
    split_persons: int  # true persons spread over more than one predicted person

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {
            "precision": round(self.precision, 6),
            "recall": round(self.recall, 6),
            "f1": round(self.f1, 6),
        }


def accuracy(predicted: Mapping[Any, Hashable], truth: Mapping[Any, Hashable]) -> Accuracy:
    """Compare two assignments record → cluster over the records both know."""
    keys = [k for k in predicted if k in truth]
    both: Counter[tuple[Hashable, Hashable]] = Counter((predicted[k], truth[k]) for k in keys)
    pred_sizes: Counter[Hashable] = Counter(predicted[k] for k in keys)
    true_sizes: Counter[Hashable] = Counter(truth[k] for k in keys)
    true_parts: dict[Hashable, int] = defaultdict(int)
    pred_parts: dict[Hashable, int] = defaultdict(int)
    exact = 0
    for (p, t), n in both.items():
        true_parts[t] += 1
        pred_parts[p] += 1
        if n == pred_sizes[p] == true_sizes[t]:
            exact += 1
    return Accuracy(
        records=len(keys),
        true_pairs=sum(_pairs(n) for n in true_sizes.values()),
        predicted_pairs=sum(_pairs(n) for n in pred_sizes.values()),
        correct_pairs=sum(_pairs(n) for n in both.values()),
        true_persons=len(true_sizes),
        predicted_persons=len(pred_sizes),
        exact_persons=exact,
        merged_clusters=sum(1 for n in pred_parts.values() if n > 1),
        split_persons=sum(1 for n in true_parts.values() if n > 1),
    )
