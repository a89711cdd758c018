"""Pair conditions written once, run twice: as SQL inside Splink and as Python in memory.

A comparison level of the model is a condition on a pair of records (``left`` and ``right``).
Writing it with these few constructors gives both the SQL that Splink runs (DuckDB or Spark) and
a Python twin that single-record matching runs, so the two can never drift apart. SQL's
three-valued logic is mirrored by treating a missing value as "false" — sound because no
condition uses NOT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    jaro_winkler: str
    damerau_levenshtein: str


DIALECTS = {
    "duckdb": Dialect("duckdb", "jaro_winkler_similarity", "damerau_levenshtein"),
    "spark": Dialect("spark", "jaro_winkler", "damerau_levenshtein"),
}


@dataclass(frozen=True, slots=True)
class Expr:
    render: Callable[[Dialect], str]
    test: Callable[[Row, Row], bool]

    def sql(self, dialect: Dialect) -> str:
        return self.render(dialect)

    def __and__(self, other: Expr) -> Expr:
        return Expr(
            lambda d: f"({self.render(d)}) AND ({other.render(d)})",
            lambda left, right: self.test(left, right) and other.test(left, right),
        )

    def __or__(self, other: Expr) -> Expr:
        return Expr(
            lambda d: f"({self.render(d)}) OR ({other.render(d)})",
            lambda left, right: self.test(left, right) or other.test(left, right),
        )


def missing(col: str) -> Expr:
    """Either side has no value."""
    return Expr(
        lambda d: f"{col}_l IS NULL OR {col}_r IS NULL",
        lambda left, right: left[col] is None or right[col] is None,
    )


def equal(col: str, other: str | None = None) -> Expr:
    """``col`` of l equals ``other`` (default: the same column) of r."""
    o = other or col
    return Expr(
        lambda d: f"{col}_l = {o}_r",
        lambda left, right: left[col] is not None and left[col] == right[o],
    )


def crossed(a: str, b: str) -> Expr:
    """``a`` of one side equals ``b`` of the other (values written in the wrong field)."""
    return equal(a, b) | equal(b, a)


def both_missing(col: str) -> Expr:
    return Expr(
        lambda d: f"{col}_l IS NULL AND {col}_r IS NULL",
        lambda left, right: left[col] is None and right[col] is None,
    )


def both_true(col: str) -> Expr:
    return Expr(
        lambda d: f"{col}_l AND {col}_r", lambda left, right: bool(left[col] and right[col])
    )


def left_true(col: str) -> Expr:
    return Expr(lambda d: f"{col}_l", lambda left, right: bool(left[col]))


def jaro_winkler_at_least(col: str, threshold: float) -> Expr:
    def test(left: Row, right: Row) -> bool:
        a, b = left[col], right[col]
        return a is not None and b is not None and JaroWinkler.similarity(a, b) >= threshold

    return Expr(lambda d: f"{d.jaro_winkler}({col}_l, {col}_r) >= {threshold}", test)


def edits_at_most(col: str, k: int) -> Expr:
    """Damerau–Levenshtein distance (insertions, deletions, substitutions, transpositions)."""

    def test(left: Row, right: Row) -> bool:
        a, b = left[col], right[col]
        return (
            a is not None
            and b is not None
            and DamerauLevenshtein.distance(a, b, score_cutoff=k + 1) <= k
        )

    return Expr(lambda d: f"{d.damerau_levenshtein}({col}_l, {col}_r) <= {k}", test)


def differ_by_at_most(col: str, k: int) -> Expr:
    def test(left: Row, right: Row) -> bool:
        a, b = left[col], right[col]
        return a is not None and b is not None and abs(a - b) <= k

    return Expr(lambda d: f"abs({col}_l - {col}_r) <= {k}", test)
