"""Scores and the readiness gate: pure arithmetic on the counts a run stored.

A score is the share of checked records that passed: ``(checked - failed) / checked``. A
dimension's score for an agency pools every rule of that dimension over all its sources (each
record-rule check weighs the same); a score is ``None`` when nothing was checked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nexo.quality.domain import Dimension


@dataclass(frozen=True, slots=True)
class Score:
    agency: str
    source: str
    entity: str
    rule_id: str
    dimension: str
    severity: str
    checked: int
    failed: int

    @property
    def score(self) -> float | None:
        return ratio(self.checked, self.failed)


def ratio(checked: int, failed: int) -> float | None:
    return (checked - failed) / checked if checked else None


@dataclass(frozen=True, slots=True)
class Pooled:
    checked: int
    failed: int

    @property
    def score(self) -> float | None:
        return ratio(self.checked, self.failed)


def pool(scores: Iterable[Score], *, by: tuple[str, ...]) -> dict[tuple[str, ...], Pooled]:
    """Sum checked and failed over ``scores`` grouped by the named attributes."""
    acc: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0])
    for s in scores:
        key = tuple(getattr(s, name) for name in by)
        acc[key][0] += s.checked
        acc[key][1] += s.failed
    return {k: Pooled(c, f) for k, (c, f) in sorted(acc.items())}


def worst(scores: Iterable[Score], n: int = 10) -> list[Score]:
    """The ``n`` lowest scores (rule × agency × source) that failed at least one record."""
    failing = [s for s in scores if s.failed and s.score is not None]
    return sorted(failing, key=lambda s: (s.score, -s.failed, s.rule_id))[:n]


# ------------------------------------------------------------------ readiness gate


def _share(value: float | str) -> float:
    if isinstance(value, str):
        text = value.strip()
        if not text.endswith("%"):
            raise ValueError(f"{value!r}: write a share (0.98) or a percentage ('98%')")
        value = float(text[:-1]) / 100
    if not 0 <= value <= 1:
        raise ValueError(f"{value} is not between 0 and 1 (or 0% and 100%)")
    return float(value)


class AgencyThresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dimensions: dict[Dimension, float] = Field(default_factory=dict)
    rules: dict[str, float] = Field(default_factory=dict)

    @field_validator("dimensions", "rules", mode="before")
    @classmethod
    def _shares(cls, v: object) -> object:
        if isinstance(v, dict):
            return {k: _share(x) if isinstance(x, int | float | str) else x for k, x in v.items()}
        return v


class Thresholds(BaseModel):
    """Minimum scores an agency needs to join the roll-out; ``agencies`` override ``default``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: AgencyThresholds = Field(default_factory=AgencyThresholds)
    agencies: dict[str, AgencyThresholds] = Field(default_factory=dict)
    unmeasured: Literal["fail", "pass"] = Field(
        default="fail", description="What a threshold with nothing checked counts as."
    )

    def for_agency(self, agency: str) -> AgencyThresholds:
        own = self.agencies.get(agency, AgencyThresholds())
        return AgencyThresholds(
            dimensions={**self.default.dimensions, **own.dimensions},
            rules={**self.default.rules, **own.rules},
        )


@dataclass(frozen=True, slots=True)
class GateCheck:
    kind: Literal["dimension", "rule"]
    name: str
    threshold: float
    score: float | None
    checked: int
    failed: int
    passed: bool

    def describe(self) -> str:
        got = "nothing checked" if self.score is None else f"{self.score:.2%}"
        sign = "≥" if self.passed else "<"
        if self.score is None:
            sign = "—"
        return (
            f"{self.kind} {self.name}: {got} {sign} {self.threshold:.2%} "
            f"({self.failed:,} of {self.checked:,} records fail)"
        )


@dataclass(frozen=True, slots=True)
class GateResult:
    agency: str
    run_id: str
    checks: list[GateCheck]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failing(self) -> list[GateCheck]:
        return [c for c in self.checks if not c.passed]


def gate(agency: str, run_id: str, scores: list[Score], thresholds: Thresholds) -> GateResult:
    """Compare an agency's scores of one run with its thresholds."""
    mine = [s for s in scores if s.agency == agency]
    wanted = thresholds.for_agency(agency)
    dims = pool(mine, by=("dimension",))
    rules = pool(mine, by=("rule_id",))
    checks: list[GateCheck] = []
    targets: list[tuple[Literal["dimension", "rule"], str, float, Pooled | None]] = [
        ("dimension", d.value, t, dims.get((d.value,))) for d, t in wanted.dimensions.items()
    ]
    targets += [("rule", r, t, rules.get((r,))) for r, t in wanted.rules.items()]
    for kind, name, threshold, pooled in targets:
        pooled = pooled or Pooled(0, 0)
        score = pooled.score
        ok = thresholds.unmeasured == "pass" if score is None else score >= threshold
        checks.append(GateCheck(kind, name, threshold, score, pooled.checked, pooled.failed, ok))
    return GateResult(agency, run_id, checks)
