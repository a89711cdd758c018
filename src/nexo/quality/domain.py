"""Quality rules, scores, readiness thresholds and corrections: pure types, no I/O.

A rule checks one entity (person, employment_episode, ...) in one of five dimensions and names
the agency that owns it. Its ``check`` is one of a small set of kinds, each a declarative shape
that the evaluator (``nexo.quality.evaluate``) compiles to vectorised Polars expressions.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexo.model.codes import EntityType


class Dimension(StrEnum):
    COMPLETENESS = "completeness"
    VALIDITY = "validity"
    CONSISTENCY = "consistency"
    TIMELINESS = "timeliness"
    UNIQUENESS = "uniqueness"


class Severity(StrEnum):
    QUARANTINE = "quarantine"  # the record is not fit for use until corrected
    FLAG = "flag"  # the record is usable; a steward should look at it


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Scalar = str | int | float | bool | date

_RELATIVE = re.compile(r"^reference_date\s*(?:([+-])\s*(\d+)\s*([dy]))?$")


def resolve_bound(value: Scalar, reference: date) -> Scalar:
    """``reference_date``, ``reference_date - 120y`` or ``+ 30d`` → a date; others as given."""
    if not isinstance(value, str):
        return value
    m = _RELATIVE.match(value.strip())
    if m is None:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    sign, amount, unit = m.groups()
    if sign is None:
        return reference
    n = int(amount) * (1 if sign == "+" else -1)
    if unit == "d":
        return reference + timedelta(days=n)
    try:
        return reference.replace(year=reference.year + n)
    except ValueError:  # 29 February
        return reference.replace(year=reference.year + n, day=28)


class Condition(_Spec):
    """Limits a rule to the records where ``field`` equals, is in, or is (not) present."""

    field: str
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    present: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        given = [t for t in (self.equals, self.in_, self.present) if t is not None]
        if len(given) != 1:
            raise ValueError("a condition needs exactly one of: equals, in, present")
        return self


# --------------------------------------------------------------------------- check kinds


class Required(_Spec):
    """The field has a value (not empty, not only spaces)."""

    kind: Literal["required"]
    field: str


class Pattern(_Spec):
    """The whole value matches a regular expression (Rust/Polars syntax: ``\\p{L}`` works).

    Empty values are not checked; the expression is checked when the rules are loaded.
    """

    kind: Literal["pattern"]
    field: str
    regex: str


class Allowed(_Spec):
    """The value is one of ``values`` or of a named code list (``isco08``, ``sex``, ...)."""

    kind: Literal["allowed"]
    field: str
    values: list[Scalar] | None = None
    code_list: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Allowed:
        from nexo.quality import codelists

        if (self.values is None) == (self.code_list is None):
            raise ValueError("give either values or code_list")
        if self.code_list is not None and self.code_list not in codelists.names():
            raise ValueError(
                f"unknown code list {self.code_list!r}; known: {', '.join(codelists.names())}"
            )
        return self


class Range(_Spec):
    """``min <= value <= max``; bounds are numbers, ISO dates or ``reference_date - 120y``."""

    kind: Literal["range"]
    field: str
    min: Scalar | None = None
    max: Scalar | None = None

    @model_validator(mode="after")
    def _a_bound(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        return self


class Length(_Spec):
    """The text has between ``min`` and ``max`` characters."""

    kind: Literal["length"]
    field: str
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)


class CheckDigit(_Spec):
    """The identifier's check digit is right (computed at ingest, ``<field>_check_digit_ok``)."""

    kind: Literal["check_digit"]
    field: str


Operator = Literal["<", "<=", "==", "!=", ">=", ">"]


class Compare(_Spec):
    """Cross-field: ``left op right`` where ``right`` is a field or ``right_value`` a constant."""

    kind: Literal["compare"]
    left: str
    op: Operator
    right: str | None = None
    right_value: Scalar | None = None

    @model_validator(mode="after")
    def _one_right(self) -> Compare:
        if (self.right is None) == (self.right_value is None):
            raise ValueError("give either right (a field) or right_value (a constant)")
        return self


class MaxAge(_Spec):
    """Timeliness: the date in ``field`` is less than ``days`` days before the reference date."""

    kind: Literal["max_age"]
    field: str = "source_updated_on"
    days: int = Field(ge=1)


class Unique(_Spec):
    """No two records in the same agency (or source) share the values of ``fields``.

    ``keep: first`` flags every record after the first one in ``order_by`` order (the first is
    taken as the original); ``keep: none`` flags them all.
    """

    kind: Literal["unique"]
    fields: list[str] = Field(min_length=1)
    scope: Literal["agency", "source"] = "agency"
    keep: Literal["first", "none"] = "first"
    order_by: str = "record_id"
    optional: list[str] = Field(
        default_factory=list, description="Fields that may be empty (two empties are equal)."
    )


class Reference(_Spec):
    """Cross-record: the record named by ``field`` exists as ``entity`` in the same agency."""

    kind: Literal["reference"]
    field: str
    entity: EntityType
    source_field: str | None = Field(
        default=None, description="Field naming the target's source; the record's own if empty."
    )


class NoOverlap(_Spec):
    """Cross-record: periods of records with equal ``group_by`` values do not overlap.

    Of two overlapping records the earlier one is flagged: it should have ended first.
    """

    kind: Literal["no_overlap"]
    group_by: list[str] = Field(min_length=1)
    start: str = "start_date"
    end: str = "end_date"
    grace_days: int = Field(default=0, ge=0)


class LinkedAgree(_Spec):
    """Cross-agency: the field agrees with the records of the same person in other agencies."""

    kind: Literal["linked_agree"]
    field: str


class LinkedPeriodConflict(_Spec):
    """Cross-agency: the record's period goes on more than ``grace_days`` after a period of
    ``other_entity`` (held by another agency for the same person) started; the later start
    counts. Example: an income-support benefit still paid long after its holder started work.
    """

    kind: Literal["linked_period_conflict"]
    other_entity: EntityType
    other_when: list[Condition] = Field(default_factory=list)
    grace_days: int = Field(default=0, ge=0)


Check = Annotated[
    Required
    | Pattern
    | Allowed
    | Range
    | Length
    | CheckDigit
    | Compare
    | MaxAge
    | Unique
    | Reference
    | NoOverlap
    | LinkedAgree
    | LinkedPeriodConflict,
    Field(discriminator="kind"),
]

ROW_KINDS = frozenset(
    {"required", "pattern", "allowed", "range", "length", "check_digit", "compare", "max_age"}
)

RULE_ID = r"^[a-z0-9][a-z0-9_.\-]*$"


class Rule(_Spec):
    id: str = Field(pattern=RULE_ID, max_length=120)
    entity: EntityType
    dimension: Dimension
    severity: Severity = Severity.FLAG
    owner: str = Field(min_length=1, max_length=64, description="Agency that answers for it.")
    description: str = Field(min_length=10, description="What is wrong, in a steward's words.")
    agencies: list[str] | None = Field(
        default=None, description="Agencies whose records are checked; all when empty."
    )
    when: list[Condition] = Field(default_factory=list)
    check: Check

    def fields(self) -> set[str]:
        """Every field of ``entity`` the rule reads."""
        c = self.check
        names = {w.field for w in self.when}
        for attr in ("field", "left", "right", "order_by", "source_field", "start", "end"):
            value = getattr(c, attr, None)
            if isinstance(value, str):
                names.add(value)
        for attr in ("fields", "group_by", "optional"):
            names.update(getattr(c, attr, []) or [])
        if isinstance(c, CheckDigit):
            names.add(f"{c.field}_check_digit_ok")
        if isinstance(c, LinkedPeriodConflict):
            names.update(("start_date", "end_date"))
        return names


class RuleSet(_Spec):
    rules: list[Rule]

    @model_validator(mode="after")
    def _unique_ids(self) -> RuleSet:
        seen: set[str] = set()
        for r in self.rules:
            if r.id in seen:
                raise ValueError(f"rule id {r.id!r} is used twice")
            seen.add(r.id)
        return self

    def by_id(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    def problems(self, fields_by_entity: dict[EntityType, set[str]]) -> list[str]:
        """Rules naming fields their entity does not have (checked before any run)."""
        out = []
        for r in self.rules:
            known = fields_by_entity.get(r.entity, set())
            for name in sorted(r.fields() - known):
                out.append(
                    f"rule {r.id}: {r.entity.value} has no field {name!r} "
                    f"(fields: {', '.join(sorted(known))})"
                )
            other = getattr(r.check, "other_entity", None)
            if isinstance(r.check, LinkedPeriodConflict) and other is not None:
                other_known = fields_by_entity.get(other, set())
                for w in r.check.other_when:
                    if w.field not in other_known:
                        out.append(f"rule {r.id}: {other.value} has no field {w.field!r}")
        return out


def rule_meta(rule: Rule) -> dict[str, Any]:
    """What a stored run keeps about a rule, so old runs read well after rules change."""
    return {
        "id": rule.id,
        "entity": rule.entity.value,
        "dimension": rule.dimension.value,
        "severity": rule.severity.value,
        "owner": rule.owner,
        "description": rule.description,
        "kind": rule.check.kind,
    }
