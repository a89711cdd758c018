"""Clustering scored pairs into persons, under constraints.

Links are added strongest first (deterministic and manual links, then model links by
descending probability). Two groups of records join only when no pair across them conflicts
(``nexo.linkage.rules``) and no steward rejected a pair across them: a weak link can never chain
two household members, or two persons a steward told apart, into one person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nexo.linkage.domain import LinkMethod
from nexo.linkage.expr import Row
from nexo.linkage.rules import Conflict, conflict

RULE_COLUMNS = ("nid", "nid_ok", "nid_verified", "given", "family", "phone", "email")


class ColumnRows:
    """Rows of a columnar table, built on demand (a million dicts would not fit well)."""

    def __init__(self, columns: dict[str, list[Any]], names: Sequence[str] = RULE_COLUMNS):
        self.columns, self.names = columns, tuple(names)
        self._cache: dict[int, Row] = {}

    def __getitem__(self, i: int) -> Row:
        row = self._cache.get(i)
        if row is None:
            row = {c: self.columns[c][i] for c in self.names}
            self._cache[i] = row
        return row

    def __len__(self) -> int:
        return len(self.columns[self.names[0]])


@dataclass(frozen=True, slots=True)
class ScoredPair:
    a: int
    b: int
    probability: float


@dataclass
class Clustering:
    """Cluster label (the smallest member) per record, and how each record was linked."""

    labels: list[int]
    methods: list[LinkMethod]
    probabilities: list[float]
    #: model links refused by a rule: (record, record, probability, reason)
    refused: list[tuple[int, int, float, Conflict]] = field(default_factory=list)

    @property
    def blocked(self) -> dict[Conflict, int]:
        out: dict[Conflict, int] = {}
        for *_, reason in self.refused:
            out[reason] = out.get(reason, 0) + 1
        return out

    def clusters(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for i, label in enumerate(self.labels):
            out.setdefault(label, []).append(i)
        return out


class _Groups:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.members: dict[int, list[int]] = {}

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def of(self, root: int) -> list[int]:
        return self.members.get(root) or [root]

    def union(self, ra: int, rb: int) -> None:
        ma, mb = self.of(ra), self.of(rb)
        if len(ma) < len(mb):
            ra, rb, ma, mb = rb, ra, mb, ma
        self.parent[rb] = ra
        self.members[ra] = ma + mb
        self.members.pop(rb, None)


def cluster(
    rows: ColumnRows | Sequence[Row],
    pairs: Iterable[ScoredPair],
    *,
    threshold: float,
    deterministic: Iterable[Sequence[int]] = (),
    accepted: Iterable[tuple[int, int]] = (),
    rejected: Iterable[tuple[int, int]] = (),
    conflict_of: Callable[[Row, Row], Conflict | None] = conflict,
) -> Clustering:
    n = len(rows)
    groups = _Groups(n)
    methods = [LinkMethod.SINGLETON] * n
    probs = [1.0] * n
    refused: list[tuple[int, int, float, Conflict]] = []
    no_link = {(min(a, b), max(a, b)) for a, b in rejected}

    def why_not(ra: int, rb: int) -> Conflict | None:
        for x in groups.of(ra):
            rx = rows[x]
            for y in groups.of(rb):
                if no_link and (min(x, y), max(x, y)) in no_link:
                    return Conflict.REJECTED
                reason = conflict_of(rx, rows[y])
                if reason is not None:
                    return reason
        return None

    for group in deterministic:
        first = group[0]
        for other in group[1:]:
            ra, rb = groups.find(first), groups.find(other)
            if ra != rb:
                groups.union(ra, rb)
        if len(group) > 1:
            for i in group:
                methods[i] = LinkMethod.DETERMINISTIC
    for a, b in accepted:  # a steward's word beats every rule
        ra, rb = groups.find(a), groups.find(b)
        if ra != rb:
            groups.union(ra, rb)
        for i in (a, b):
            if methods[i] is not LinkMethod.DETERMINISTIC:
                methods[i] = LinkMethod.MANUAL
    for pair in sorted(pairs, key=lambda p: -p.probability):
        if pair.probability < threshold:
            break
        ra, rb = groups.find(pair.a), groups.find(pair.b)
        if ra == rb:
            continue
        reason = why_not(ra, rb)
        if reason is not None:
            refused.append((pair.a, pair.b, pair.probability, reason))
            continue
        groups.union(ra, rb)
        for i in (pair.a, pair.b):
            if methods[i] is LinkMethod.SINGLETON:
                methods[i] = LinkMethod.PROBABILISTIC
                probs[i] = pair.probability
    labels = [0] * n
    smallest: dict[int, int] = {}
    for i in range(n):
        root = groups.find(i)
        labels[i] = smallest.setdefault(root, i)
    return Clustering(labels, methods, probs, refused)
