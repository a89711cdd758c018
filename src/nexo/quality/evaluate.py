"""Vectorised evaluation of quality rules on Polars frames (no loop over records).

Row rules (required, pattern, allowed, range, length, check_digit, compare, max_age) of one
entity become Polars expressions evaluated together in one pass; cross-record and cross-agency
rules (unique, reference, no_overlap, linked_agree, linked_period_conflict) are joins. Every rule
yields how many records it checked and which failed, per agency and source: all failures, never
only the first.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from nexo.model.codes import EntityType
from nexo.quality import codelists
from nexo.quality.domain import (
    ROW_KINDS,
    Allowed,
    CheckDigit,
    Compare,
    Condition,
    Length,
    LinkedAgree,
    LinkedPeriodConflict,
    MaxAge,
    NoOverlap,
    Pattern,
    Range,
    Reference,
    Required,
    Rule,
    Scalar,
    Unique,
    resolve_bound,
)
from nexo.quality.frames import KEY, Frames

COUNTS_SCHEMA = {"agency": pl.String, "source": pl.String, "checked": pl.Int64, "failed": pl.Int64}
FAILURES_SCHEMA = {
    "agency": pl.String,
    "source": pl.String,
    "record_id": pl.String,
    "detail": pl.String,
}


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


# ------------------------------------------------------------------ conditions and row checks


def _lit(value: Scalar) -> pl.Expr:
    return pl.lit(value)


def condition(c: Condition) -> pl.Expr:
    col = pl.col(c.field)
    if c.present is not None:
        return col.is_not_null() if c.present else col.is_null()
    if c.in_ is not None:
        return col.is_in(list(c.in_))
    assert c.equals is not None  # a Condition has exactly one test
    return col == _lit(c.equals)


def base_filter(rule: Rule) -> pl.Expr:
    """Where the rule applies: its ``when`` conditions and its agencies."""
    expr = pl.lit(True)
    for c in rule.when:
        expr = expr & condition(c)
    if rule.agencies:
        expr = expr & pl.col("agency").is_in(rule.agencies)
    return expr


def _blank(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        return col.is_null() | (col.str.strip_chars() == "")
    return col.is_null()


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
}


def row_check(rule: Rule, schema: pl.Schema, reference: date) -> tuple[pl.Expr, pl.Expr]:
    """(applies, fails) expressions of a row rule; ``fails`` is only meaningful where it applies."""
    c = rule.check
    base = base_filter(rule)
    if isinstance(c, Required):
        return base, _blank(pl.col(c.field), schema[c.field])
    if isinstance(c, CheckDigit):
        return base & pl.col(c.field).is_not_null(), ~pl.col(f"{c.field}_check_digit_ok")
    if isinstance(c, Compare):
        left = pl.col(c.left)
        if c.right is not None:
            right, present = pl.col(c.right), left.is_not_null() & pl.col(c.right).is_not_null()
        else:
            assert c.right_value is not None
            right, present = _lit(resolve_bound(c.right_value, reference)), left.is_not_null()
        return base & present, ~_OPS[c.op](left, right)
    if not isinstance(c, Pattern | Allowed | Range | Length | MaxAge):
        raise TypeError(f"{c.kind} is not a row check")
    col = pl.col(c.field)
    applies = base & ~_blank(col, schema[c.field])
    if isinstance(c, Pattern):
        return applies, ~col.cast(pl.String).str.contains(f"^(?:{c.regex})$")
    if isinstance(c, Allowed):
        if c.values is not None:
            allowed: list[Scalar] = list(c.values)
        else:
            allowed = sorted(codelists.values(c.code_list or ""))
        return applies, ~col.is_in(allowed)
    if isinstance(c, Range):
        fails = pl.lit(False)
        if c.min is not None:
            fails = fails | (col < _lit(resolve_bound(c.min, reference)))
        if c.max is not None:
            fails = fails | (col > _lit(resolve_bound(c.max, reference)))
        return applies, fails
    if isinstance(c, Length):
        n = col.str.len_chars()
        fails = pl.lit(False)
        if c.min is not None:
            fails = fails | (n < c.min)
        if c.max is not None:
            fails = fails | (n > c.max)
        return applies, fails
    return applies, (pl.lit(reference) - col).dt.total_days() >= c.days


def regex_problems(rules: Sequence[Rule]) -> list[str]:
    """Regular expressions of pattern rules that Polars cannot compile."""
    out = []
    for rule in rules:
        if isinstance(rule.check, Pattern):
            try:
                pl.select(pl.lit("").str.contains(f"^(?:{rule.check.regex})$"))
            except pl.exceptions.ComputeError as e:
                out.append(f"rule {rule.id}: regex {rule.check.regex!r} does not compile: {e}")
    return out


# ------------------------------------------------------------------ cross-record / cross-agency

FrameCheck = Callable[[Rule, pl.DataFrame, Frames], tuple[pl.Series, pl.DataFrame]]
"""(rows of the entity with an ``_applies`` column, frames) → (applies mask, failures)."""


def _failures(frame: pl.DataFrame, detail: pl.Expr) -> pl.DataFrame:
    return frame.select(*KEY, detail.cast(pl.String).alias("detail")).unique(
        subset=KEY, keep="first", maintain_order=True
    )


def _ref(agency: str = "agency", source: str = "source", record: str = "record_id") -> pl.Expr:
    return pl.concat_str(pl.col(agency), pl.lit("/"), pl.col(source), pl.lit("/"), pl.col(record))


def _unique(rule: Rule, df: pl.DataFrame, frames: Frames) -> tuple[pl.Series, pl.DataFrame]:
    c = rule.check
    assert isinstance(c, Unique)
    present = pl.all_horizontal(
        pl.lit(True), *(pl.col(f).is_not_null() for f in c.fields if f not in c.optional)
    )
    applies = df.select((pl.col("_applies") & present).alias("a"))["a"]
    scope = ["agency"] if c.scope == "agency" else ["agency", "source"]
    group = [*scope, *c.fields]
    cols = list(dict.fromkeys([*group, c.order_by, "source", "record_id"]))
    # only groups of two records or more need ordering (a hash count first, then a small sort)
    sub = (
        df.lazy()
        .filter(applies)
        .select(cols)
        .filter(pl.len().over(group) > 1)
        .sort([c.order_by, "source", "record_id"], nulls_last=True)
        .with_columns(
            pl.int_range(pl.len()).over(group).alias("_rank"),
            pl.len().over(group).alias("_n"),
            _ref().first().over(group).alias("_first"),
        )
        .collect()
    )
    what = ", ".join(c.fields)
    if c.keep == "first":
        bad = sub.filter(pl.col("_rank") > 0)
        detail = pl.concat_str(pl.lit(f"same {what} as "), pl.col("_first"))
    else:
        bad = sub.filter(pl.col("_n") > 1)
        detail = pl.format("same {} as {} other record(s)", pl.lit(what), pl.col("_n") - 1)
    return applies, _failures(bad, detail)


def _reference(rule: Rule, df: pl.DataFrame, frames: Frames) -> tuple[pl.Series, pl.DataFrame]:
    c = rule.check
    assert isinstance(c, Reference)
    applies = df.select((pl.col("_applies") & pl.col(c.field).is_not_null()).alias("a"))["a"]
    target = frames.table(c.entity).select(
        pl.col("agency"), pl.col("source").alias("_t_source"), pl.col("record_id").alias("_t_id")
    )
    src = pl.coalesce(c.source_field, "source") if c.source_field else pl.col("source")
    sub = df.filter(applies).with_columns(src.alias("_t_source"), pl.col(c.field).alias("_t_id"))
    bad = sub.join(target, on=["agency", "_t_source", "_t_id"], how="anti")
    detail = pl.format(
        "no {} record {} in {}/{}", pl.lit(c.entity.value), "_t_id", "agency", "_t_source"
    )
    return applies, _failures(bad, detail)


def _end(col: str, reference: date) -> pl.Expr:
    return pl.coalesce(pl.col(col), pl.lit(reference))


def _no_overlap(rule: Rule, df: pl.DataFrame, frames: Frames) -> tuple[pl.Series, pl.DataFrame]:
    c = rule.check
    assert isinstance(c, NoOverlap)
    ref = frames.reference_date
    applies = df.select(
        (pl.col("_applies") & pl.all_horizontal(pl.col(g).is_not_null() for g in c.group_by))
        .and_(pl.col(c.start).is_not_null())
        .alias("a")
    )["a"]
    group = ["agency", "source", *c.group_by]
    sub = df.filter(applies).select(
        *group,
        pl.col("record_id"),
        pl.col(c.start).alias("_s"),
        _end(c.end, ref).alias("_e"),
    )
    other = sub.rename({"record_id": "_o_id", "_s": "_o_s", "_e": "_o_e"})
    # the earlier record of an overlapping pair is flagged: it should have ended first
    earlier = (pl.col("_s") < pl.col("_o_s")) | (
        (pl.col("_s") == pl.col("_o_s")) & (pl.col("record_id") < pl.col("_o_id"))
    )
    pairs = sub.join(other, on=group, how="inner").filter(earlier)
    days = (pl.min_horizontal("_e", "_o_e") - pl.col("_o_s")).dt.total_days() + 1
    bad = pairs.with_columns(days.alias("_days")).filter(pl.col("_days") > c.grace_days)
    detail = pl.format("still running when {} started ({} day(s) of overlap)", "_o_id", "_days")
    return applies, _failures(bad.sort("record_id", "_o_s"), detail)


def _linked(df: pl.DataFrame, frames: Frames, extra: pl.Expr) -> pl.Series:
    checkable = frames.multi_agency_persons["person_id"]
    expr = pl.col("_applies") & pl.col("person_id").is_in(checkable.implode()) & extra
    return df.select(expr.fill_null(False).alias("a"))["a"]


def _linked_agree(rule: Rule, df: pl.DataFrame, frames: Frames) -> tuple[pl.Series, pl.DataFrame]:
    c = rule.check
    assert isinstance(c, LinkedAgree)
    applies = _linked(df, frames, pl.col(c.field).is_not_null())
    # only persons whose linked records hold two values or more can disagree
    sub = (
        df.lazy()
        .filter(applies)
        .select(*KEY, "person_id", pl.col(c.field).alias("_v"))
        .filter(pl.col("_v").n_unique().over("person_id") > 1)
        .collect()
    )
    other = sub.select(
        pl.col("person_id"),
        pl.col("agency").alias("_o_agency"),
        _ref().alias("_o_ref"),
        pl.col("_v").alias("_o_v"),
    )
    bad = (
        sub.join(other, on="person_id", how="inner")
        .filter((pl.col("agency") != pl.col("_o_agency")) & (pl.col("_v") != pl.col("_o_v")))
        .sort(*KEY, "_o_ref")
    )
    detail = pl.format("{} differs from {}", pl.lit(c.field), "_o_ref")
    return applies, _failures(bad, detail)


def _linked_period(rule: Rule, df: pl.DataFrame, frames: Frames) -> tuple[pl.Series, pl.DataFrame]:
    c = rule.check
    assert isinstance(c, LinkedPeriodConflict)
    ref = frames.reference_date
    applies = _linked(df, frames, pl.col("start_date").is_not_null())
    other_filter = pl.col("start_date").is_not_null() & pl.col("person_id").is_not_null()
    for w in c.other_when:
        other_filter = other_filter & condition(w)
    other_table = frames.table(c.other_entity)
    if "start_date" not in other_table.columns:  # no such records were loaded at all
        return applies, pl.DataFrame(schema=FAILURES_SCHEMA)
    other = other_table.filter(other_filter).select(
        pl.col("person_id"),
        pl.col("agency").alias("_o_agency"),
        _ref().alias("_o_ref"),
        pl.col("start_date").alias("_o_s"),
        _end("end_date", ref).alias("_o_e"),
    )
    sub = df.filter(applies).select(
        *KEY, "person_id", pl.col("start_date").alias("_s"), _end("end_date", ref).alias("_e")
    )
    kept = (pl.col("_e") - pl.max_horizontal("_s", "_o_s")).dt.total_days()
    bad = (
        sub.join(other, on="person_id", how="inner")
        .filter(
            (pl.col("agency") != pl.col("_o_agency"))
            & (pl.col("_o_s") <= pl.col("_e"))
            & (pl.col("_o_e") >= pl.col("_s"))
        )
        .with_columns(kept.alias("_kept"))
        .filter(pl.col("_kept") > c.grace_days)
        .sort(*KEY, "_kept", descending=[False, False, False, True])
    )
    detail = pl.format("active {} days after {} started", "_kept", "_o_ref")
    return applies, _failures(bad, detail)


FRAME_CHECKS: dict[str, FrameCheck] = {
    "unique": _unique,
    "reference": _reference,
    "no_overlap": _no_overlap,
    "linked_agree": _linked_agree,
    "linked_period_conflict": _linked_period,
}


# ------------------------------------------------------------------ evaluation


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
