"""The transform steps of the mapping language, as typed pydantic models.

A step is a bare name (``trim``) or an object with exactly one key that names the step
(``{date: "%d/%m/%Y"}``). Typing every step lets ``nexo mapping check`` point at the line of a
wrong step, and gives the JSON Schema of the mapping language its detail.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
)

Scalar = str | bool | int | float | date
"""A constant in a mapping: YAML strings, booleans, numbers and dates."""

SimpleStep = Literal[
    "trim",
    "upper",
    "lower",
    "title",
    "collapse_spaces",
    "strip_accents",
    "empty_to_null",
    "digits_only",
]
SIMPLE_STEPS: tuple[str, ...] = SimpleStep.__args__  # type: ignore[attr-defined]

CheckScheme = Literal["cl-run", "kr-rrn", "de-steuer-id", "luhn"]
OnInvalid = Literal["reject", "flag", "null"]
Unknown = Literal["reject", "flag", "null", "keep"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as e:
        raise ValueError(f"not a valid regular expression: {e}") from None
    return pattern


class DateArgs(_Spec):
    formats: list[str] = Field(min_length=1, description="strptime formats, tried in order")
    ambiguous: Literal["reject", "first"] = Field(
        default="reject",
        description="A value that reads as two different dates: reject the row, or take the "
        "first format's reading.",
    )


class DateStep(_Spec):
    """Parse a date: ``{date: "%d/%m/%Y"}`` or ``{date: {formats: [...], ambiguous: reject}}``."""

    date: str | Annotated[list[str], Field(min_length=1)] | DateArgs


class NumberArgs(_Spec):
    decimal: str = Field(default=".", min_length=1, max_length=1)
    thousands: str = Field(default="", max_length=1)

    @field_validator("thousands")
    @classmethod
    def _differs(cls, v: str, info: ValidationInfo) -> str:
        if v and v == info.data.get("decimal"):
            raise ValueError("decimal and thousands separators must differ")
        return v


class NumberStep(_Spec):
    """A locale-formatted number to a decimal: ``{number: {decimal: ",", thousands: "."}}``."""

    number: NumberArgs | None = None


class TableRef(_Spec):
    table: str | dict[str, Any] = Field(
        description="Name of a code list, reference table or built-in table, or an inline table."
    )
    unknown: Unknown = Field(
        default="reject",
        description="A code not in the table: reject the row (quarantine), flag it (a quality "
        "finding; the value becomes empty), make it empty silently, or keep it as is.",
    )


Table = Annotated[str | TableRef | dict[str, Any], Field(union_mode="left_to_right")]


class CodeListStep(_Spec):
    """Translate a code: ``{code_list: NAME}``, an inline table, or ``{table:, unknown:}``."""

    code_list: Table


class CrosswalkStep(_Spec):
    """The same as ``code_list``, over a ``reference`` table (e.g. national code → ISCO-08)."""

    crosswalk: Table


class LookupStep(_Spec):
    """The same as ``code_list``; built-in tables such as ``isco08`` validate codes."""

    lookup: Table


class RegexArgs(_Spec):
    pattern: Annotated[str, Field(description="Python regular expression")]
    group: int = Field(default=1, ge=0)

    @field_validator("pattern")
    @classmethod
    def _valid(cls, v: str) -> str:
        return _compiles(v)


class RegexStep(_Spec):
    """Extract a group: ``{regex: PATTERN}`` (group 1) or ``{regex: {pattern:, group:}}``."""

    regex: str | RegexArgs

    @field_validator("regex")
    @classmethod
    def _valid(cls, v: str | RegexArgs) -> str | RegexArgs:
        return _compiles(v) if isinstance(v, str) else v


class SplitArgs(_Spec):
    sep: str | None = Field(default=None, description="Separator; default: runs of spaces")
    index: int = 0
    rest: bool = Field(default=False, description="Keep the part at index and all after it")


class SplitStep(_Spec):
    """A part of a split value: ``{split: {sep: " ", index: 0}}`` or ``{split: 1}``."""

    split: int | SplitArgs


class JoinStep(_Spec):
    """Join the values of a multi-column ``from`` (empty values are skipped)."""

    join: str | None = " "


class NullIfStep(_Spec):
    """Listed values become empty: ``{null_if: ["00000000", ""]}``."""

    null_if: list[Scalar] | Scalar


class ReplaceArgs(_Spec):
    pattern: str
    with_: str = Field(default="", alias="with")

    @field_validator("pattern")
    @classmethod
    def _valid(cls, v: str) -> str:
        return _compiles(v)


class ReplaceStep(_Spec):
    """Regular-expression replacement: ``{replace: {pattern: "[.-]", with: ""}}``."""

    replace: ReplaceArgs


class DefaultStep(_Spec):
    """A value when empty: ``{default: "unknown"}``."""

    default: Scalar


class CheckDigitArgs(_Spec):
    scheme: CheckScheme
    on_invalid: OnInvalid = Field(
        default="reject",
        description="A malformed value or bad check digit: reject the row (quarantine), flag it "
        "(a quality finding; the value is kept), or make it empty.",
    )


class CheckDigitStep(_Spec):
    """Validate and normalise an identifier: ``{check_digit: cl-run}`` (also kr-rrn,
    de-steuer-id, luhn)."""

    check_digit: CheckScheme | CheckDigitArgs


STEP_MODELS: dict[str, type[_Spec]] = {
    "date": DateStep,
    "number": NumberStep,
    "code_list": CodeListStep,
    "crosswalk": CrosswalkStep,
    "lookup": LookupStep,
    "regex": RegexStep,
    "split": SplitStep,
    "join": JoinStep,
    "null_if": NullIfStep,
    "replace": ReplaceStep,
    "default": DefaultStep,
    "check_digit": CheckDigitStep,
}


def _step_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "~name"
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return f"~{key}" if key in STEP_MODELS else None
    if isinstance(value, BaseModel):
        return next((f"~{k}" for k, m in STEP_MODELS.items() if isinstance(value, m)), None)
    return None


Step = Annotated[
    Annotated[SimpleStep, Tag("~name")]
    | Annotated[DateStep, Tag("~date")]
    | Annotated[NumberStep, Tag("~number")]
    | Annotated[CodeListStep, Tag("~code_list")]
    | Annotated[CrosswalkStep, Tag("~crosswalk")]
    | Annotated[LookupStep, Tag("~lookup")]
    | Annotated[RegexStep, Tag("~regex")]
    | Annotated[SplitStep, Tag("~split")]
    | Annotated[JoinStep, Tag("~join")]
    | Annotated[NullIfStep, Tag("~null_if")]
    | Annotated[ReplaceStep, Tag("~replace")]
    | Annotated[DefaultStep, Tag("~default")]
    | Annotated[CheckDigitStep, Tag("~check_digit")],
    Discriminator(
        _step_kind,
        custom_error_type="unknown_step",
        custom_error_message=(
            "a step is a name ("
            + ", ".join(SIMPLE_STEPS)
            + ") or an object with one key: "
            + ", ".join(STEP_MODELS)
        ),
    ),
]
"""One transform of a field's ``steps``."""
