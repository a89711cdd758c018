"""Cross-record and cross-agency rules as Polars joins and window expressions.

Each check takes the entity's frame (with an ``_applies`` column from the rule's ``when`` and
``agencies``) and returns which records it checked and the failing ones with a ``detail`` that
names what they conflict with.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from nexo.quality.domain import (
    LinkedAgree,
    LinkedPeriodConflict,
    NoOverlap,
    Reference,
    Rule,
    Unique,
)
from nexo.quality.expressions import condition
from nexo.quality.frames import KEY, Frames

FAILURES_SCHEMA = {
    "agency": pl.String,
    "source": pl.String,
    "record_id": pl.String,
    "detail": pl.String,
}


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
