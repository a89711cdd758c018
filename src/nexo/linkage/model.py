"""Nexo's person model for Splink: comparisons, blocking rules, training rules.

Blocking decides which pairs are scored at all (a pair no rule finds can never be linked), so the
rules aim at recall: each catches the pairs another misses because of a typical error (a missing
identifier, a typo in the family name, a transposed birth date, swapped names). Pairs of two
records that both carry verified identifiers are never scored: they are either the same
identifier (linked deterministically) or different ones (two persons).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from nexo.linkage.comparisons import COMPARISONS, Comparison
from nexo.linkage.expr import Dialect

MODEL_NAME = "nexo-person"
MODEL_VERSION = "1"


@dataclass(frozen=True, slots=True)
class BlockingRule:
    """Pairs whose ``left`` columns (of one record) equal the ``right`` columns (of the other)."""

    left: tuple[str, ...]
    right: tuple[str, ...] | None = None

    @property
    def right_columns(self) -> tuple[str, ...]:
        return self.right or self.left

    def sql(self) -> str:
        return " AND ".join(
            f"l.{a} = r.{b}" for a, b in zip(self.left, self.right_columns, strict=True)
        )


#: Candidate pairs for prediction and for single-record matching.
PREDICTION_RULES: tuple[BlockingRule, ...] = (
    BlockingRule(("nid",)),
    BlockingRule(("dob", "family")),
    BlockingRule(("dob", "given1")),
    BlockingRule(("phone",)),
    BlockingRule(("email",)),
    BlockingRule(("birth_md", "family", "given1")),  # a year typed wrong
    BlockingRule(("birth_year", "family_ph", "given_ph")),  # day or month wrong, names misspelt
    BlockingRule(("dob", "family"), ("dob", "given")),  # given and family names swapped
    BlockingRule(("dob", "given"), ("dob", "family")),
    BlockingRule(("dob", "addr")),
)
#: appended to every prediction rule (see the module docstring)
NOT_BOTH_VERIFIED = "NOT (l.nid_verified AND r.nid_verified)"

#: EM sessions: each trains the comparisons its blocking rule does not use.
TRAINING_RULES: tuple[str, ...] = (
    "l.dob = r.dob",
    "l.family = r.family AND l.given1 = r.given1",
)
#: Deterministic rules that estimate the prior (share of pairs that match) with this recall.
PRIOR_RULES: tuple[str, ...] = ("l.nid = r.nid AND l.nid_ok",)
PRIOR_RECALL = 0.9


def prediction_rules(rules: tuple[BlockingRule, ...] = PREDICTION_RULES) -> list[str]:
    return [f"({rule.sql()}) AND {NOT_BOTH_VERIFIED}" for rule in rules]


def settings(
    dialect: Dialect,
    comparisons: tuple[Comparison, ...] = COMPARISONS,
    rules: tuple[BlockingRule, ...] = PREDICTION_RULES,
) -> dict[str, Any]:
    """An untrained Splink settings dictionary of the model."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "comparisons": [c.as_splink(dialect) for c in comparisons],
        "blocking_rules_to_generate_predictions": prediction_rules(rules),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": True,
        "em_convergence": 0.001,
        "max_iterations": 20,
    }


def for_dialect(model: dict[str, Any], dialect: Dialect) -> dict[str, Any]:
    """A trained model's parameters with the SQL of another backend's dialect."""
    out = copy.deepcopy(model)
    by_name = {c.name: c for c in COMPARISONS}
    for comp in out.get("comparisons", []):
        spec = by_name.get(comp.get("output_column_name", ""))
        if spec is None:
            continue
        for level, level_spec in zip(comp["comparison_levels"], spec.levels, strict=True):
            if level_spec.condition is not None:
                level["sql_condition"] = level_spec.condition.sql(dialect)
    out["sql_dialect"] = dialect.name
    return out


#: smallest m-probability kept: no single field may rule out a match by itself
M_FLOOR = 1e-4


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def regularise(model: dict[str, Any], *, u_floor: float) -> dict[str, Any]:
    """Make a freshly trained model safe to use.

    - m-probabilities below ``M_FLOOR`` are raised to it (EM drives the m of rare disagreements
      to zero, which would make one disagreeing field an absolute veto);
    - levels never seen in the random sample get ``u_floor`` (one in the pairs sampled);
    - conditional levels (household attributes: the same address *and* the same family
      names) keep only the evidence they add beyond their condition: m and u are divided by
      those of the level they are conditional on, so a shared household is counted once.
    """
    out = copy.deepcopy(model)
    comps = {c["output_column_name"]: c for c in out.get("comparisons", [])}
    for comp in comps.values():
        for level in comp["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = _number(level.get("m_probability")), _number(level.get("u_probability"))
            level["m_probability"] = max(m if m is not None else M_FLOOR, M_FLOOR)
            level["u_probability"] = max(u if u is not None else u_floor, u_floor)
    for spec in COMPARISONS:
        comp = comps.get(spec.name)
        if comp is None:
            continue
        for level_spec, level in zip(spec.levels, comp["comparison_levels"], strict=True):
            if level_spec.given is None:
                continue
            on_name, on_label = level_spec.given
            on = next(
                lv
                for lv in comps[on_name]["comparison_levels"]
                if lv.get("label_for_charts") == on_label
            )
            level["m_probability"] = min(1.0, level["m_probability"] / on["m_probability"])
            level["u_probability"] = min(1.0, level["u_probability"] / on["u_probability"])
    return out


def adapt_prior(model: dict[str, Any], records: int) -> dict[str, Any]:
    """The built-in model's prior, rescaled to a population of ``records`` (about one
    duplicate pair for every four records, as in the registries it was trained on)."""
    out = copy.deepcopy(model)
    if records > 1:
        out["probability_two_random_records_match"] = min(0.5, 0.5 / (records - 1))
    return out
