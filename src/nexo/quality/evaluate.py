"""Vectorised evaluation of quality rules on Polars frames (no loop over records).

Row rules (required, pattern, allowed, range, length, check_digit, compare, max_age) of one
entity become Polars expressions evaluated together in one pass; cross-record and cross-agency
rules (unique, reference, no_overlap, linked_agree, linked_period_conflict) are joins. Every rule
yields how many records it checked and which failed, per agency and source: all failures, never
only the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from nexo.model.codes import EntityType
from nexo.quality.domain import ROW_KINDS, Rule
from nexo.quality.expressions import base_filter, row_check
from nexo.quality.frames import KEY, Frames
from nexo.quality.relations import FRAME_CHECKS

COUNTS_SCHEMA = {"agency": pl.String, "source": pl.String, "checked": pl.Int64, "failed": pl.Int64}


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    counts: pl.DataFrame  # agency, source, checked, failed
    failures: pl.DataFrame  # agency, source, record_id, detail

    @property
    def checked(self) -> int:
        return int(self.counts["checked"].sum())

    @property
    def failed(self) -> int:
        return self.failures.height


def _counts(keys: pl.DataFrame, applies: pl.Series, failures: pl.DataFrame) -> pl.DataFrame:
    checked = (
        keys.with_columns(applies.alias("_a"))
        .group_by("agency", "source")
        .agg(pl.col("_a").sum().cast(pl.Int64).alias("checked"))
    )
    failed = failures.group_by("agency", "source").agg(pl.len().cast(pl.Int64).alias("failed"))
    return (
        checked.join(failed, on=["agency", "source"], how="left")
        .with_columns(pl.col("failed").fill_null(0))
        .select(list(COUNTS_SCHEMA))
        .sort("agency", "source")
    )


def _row_results(entity_rules: list[Rule], df: pl.DataFrame, frames: Frames) -> list[RuleResult]:
    if not entity_rules:
        return []
    exprs = []
    for i, rule in enumerate(entity_rules):
        applies, fails = row_check(rule, df.schema, frames.reference_date)
        applies = applies.fill_null(False)
        exprs += [applies.alias(f"_a{i}"), (applies & fails.fill_null(False)).alias(f"_f{i}")]
    evaluated = df.select(*KEY, *exprs)
    sums = [pl.col(f"_a{i}").sum().cast(pl.Int64) for i in range(len(entity_rules))]
    sums += [pl.col(f"_f{i}").sum().cast(pl.Int64) for i in range(len(entity_rules))]
    grouped = evaluated.group_by("agency", "source").agg(sums).sort("agency", "source")
    no_detail = pl.lit(None, pl.String).alias("detail")
    lazies = [
        evaluated.lazy().filter(pl.col(f"_f{i}")).select(*KEY, no_detail)
        for i in range(len(entity_rules))
    ]
    failures = pl.collect_all(lazies)
    out = []
    for i, rule in enumerate(entity_rules):
        counts = grouped.select(
            "agency",
            "source",
            pl.col(f"_a{i}").alias("checked"),
            pl.col(f"_f{i}").alias("failed"),
        )
        out.append(RuleResult(rule, counts, failures[i]))
    return out


def evaluate(rules: Sequence[Rule], frames: Frames) -> list[RuleResult]:
    """Every rule on every current record; the results keep the order of ``rules``."""
    results: dict[str, RuleResult] = {}
    for entity in EntityType:
        entity_rules = [r for r in rules if r.entity is entity]
        if not entity_rules:
            continue
        df = frames.table(entity)
        row_rules = [r for r in entity_rules if r.check.kind in ROW_KINDS]
        for res in _row_results(row_rules, df, frames):
            results[res.rule.id] = res
        for rule in entity_rules:
            if rule.check.kind in ROW_KINDS:
                continue
            with_base = df.with_columns(base_filter(rule).fill_null(False).alias("_applies"))
            applies, failures = FRAME_CHECKS[rule.check.kind](rule, with_base, frames)
            results[rule.id] = RuleResult(rule, _counts(df, applies, failures), failures)
    return [results[r.id] for r in rules]
