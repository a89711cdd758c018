"""Row rules as Polars expressions: conditions, and (applies, fails) per check kind."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import polars as pl

from nexo.quality import codelists
from nexo.quality.domain import (
    Allowed,
    CheckDigit,
    Compare,
    Condition,
    Length,
    MaxAge,
    Pattern,
    Range,
    Required,
    Rule,
    Scalar,
    resolve_bound,
)


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
