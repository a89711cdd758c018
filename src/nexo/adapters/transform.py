"""Transforms (mapping ``steps``): small functions from a value to a value.

Each step compiles to an ``Op``: ``one`` maps one value; ``many``, where a step has one, maps a
whole column of a chunk at once (same result, less interpreter overhead). A step that cannot do
its job raises ``FieldProblem`` (the row is quarantined with that reason) or, when the mapping
says so, ``FieldFlag`` (the row is stored and a quality finding is recorded). Transforms never
see a whole row, only one field's values.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from nexo.adapters import spec_steps as s
from nexo.errors import MappingError
from nexo.model.identifier import SCHEMES, IdentifierScheme, luhn_valid

Value = Any
Many = Callable[[list[Any], "Problems"], list[Any]]


_E = TypeVar("_E", bound=BaseException)


class FieldProblem(Exception):
    """A value that cannot be translated; ``code`` becomes the quarantine reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class FieldFlag(Exception):
    """A doubtful value the mapping keeps (``value``), recorded as a quality finding."""

    def __init__(self, code: str, message: str, value: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.value = code, message, value


class Problems:
    """What went wrong in one field of a chunk: the first problem per row, and flags."""

    __slots__ = ("bad", "flags")

    def __init__(self) -> None:
        self.bad: dict[int, FieldProblem] = {}
        self.flags: dict[int, list[FieldFlag]] = {}


@dataclass(frozen=True, slots=True)
class Op:
    one: Callable[[Value], Value]
    many: Many | None = None


def _kept(e: _E) -> _E:
    """The exception without its traceback and the exception it replaced: kept, those would
    tie it to this frame (whose locals hold it) in a reference cycle, freed only by the cycle
    collector, which a column-wise load hardly ever triggers."""
    e.__context__ = e.__cause__ = None
    return e.with_traceback(None)


def _guarded(fn: Callable[[Value], Value], v: Value, i: int, acc: Problems) -> Value:
    try:
        return fn(v)
    except FieldProblem as p:
        acc.bad.setdefault(i, _kept(p))
        return None
    except FieldFlag as f:
        acc.flags.setdefault(i, []).append(_kept(f))
        return f.value


def _per_value(fn: Callable[[Value], Value]) -> Many:
    def many(values: list[Any], acc: Problems) -> list[Any]:
        out: list[Any] = []
        append = out.append
        for i, v in enumerate(values):
            try:
                append(fn(v))
            except (FieldProblem, FieldFlag):
                append(_guarded(fn, v, i, acc))
        return out

    return many


def run(ops: list[Op], values: list[Any], acc: Problems) -> list[Any]:
    """Apply the steps to a column; rows with a problem continue as empty."""
    for op in ops:
        values = op.many(values, acc) if op.many else _per_value(op.one)(values, acc)
    return values


def apply_one(ops: list[Op], value: Value) -> Value:
    """Apply the steps to one value (raises ``FieldProblem``, ignores flags)."""
    for op in ops:
        try:
            value = op.one(value)
        except FieldFlag as f:
            value = f.value
    return value


# ------------------------------------------------------------------ text


def _text(fn: Callable[[str], str]) -> Op:
    def one(v: Value) -> Value:
        return fn(v) if v.__class__ is str else v

    def many(values: list[Any], acc: Problems) -> list[Any]:
        return [fn(v) if v.__class__ is str else v for v in values]

    return Op(one, many)


def _strip_accents(text: str) -> str:
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_PARTICLES = frozenset(
    {"de", "del", "la", "las", "los", "y", "von", "van", "der", "zu", "da", "do"}
)


def _title(text: str) -> str:
    """Title case that keeps particles low ("de", "del", "von") and handles hyphens."""
    words = text.lower().split(" ")
    return " ".join(
        w if (i and w in _PARTICLES) else "-".join(p[:1].upper() + p[1:] for p in w.split("-"))
        for i, w in enumerate(words)
    )


_DIGITS = re.compile(r"\D")


def _empty_to_null_many(values: list[Any], acc: Problems) -> list[Any]:
    return [None if v == "" else v for v in values]


SIMPLE: dict[str, Op] = {
    "trim": _text(str.strip),
    "upper": _text(str.upper),
    "lower": _text(str.lower),
    "title": _text(_title),
    "collapse_spaces": _text(lambda t: " ".join(t.split())),
    "strip_accents": _text(_strip_accents),
    "empty_to_null": Op(lambda v: None if v == "" else v, _empty_to_null_many),
    "digits_only": _text(lambda t: _DIGITS.sub("", t)),
}

# ------------------------------------------------------------------ dates and numbers


def _layout() -> date:
    raise ValueError("layout")


_FAST_DATES: dict[str, Callable[[str], date]] = {
    "%d/%m/%Y": lambda t: (
        date(int(t[6:10]), int(t[3:5]), int(t[0:2]))
        if len(t) == 10 and t[2] == t[5] == "/"
        else _layout()
    ),
    "%Y%m%d": lambda t: date(int(t[0:4]), int(t[4:6]), int(t[6:8])) if len(t) == 8 else _layout(),
    "%Y-%m-%d": lambda t: (
        date(int(t[0:4]), int(t[5:7]), int(t[8:10]))
        if len(t) == 10 and t[4] == t[7] == "-"
        else _layout()
    ),
}


def _parser(fmt: str) -> Callable[[str], date]:
    fast = _FAST_DATES.get(fmt)
    if fast is not None:
        return fast
    return lambda t: datetime.strptime(t, fmt).date()


def date_op(arg: str | list[str] | s.DateArgs) -> Op:
    """``{date: FORMAT}`` or ``{date: {formats: [...], ambiguous: reject|first}}``."""
    if isinstance(arg, s.DateArgs):
        formats, ambiguous = list(arg.formats), arg.ambiguous
    else:
        formats, ambiguous = ([arg] if isinstance(arg, str) else list(arg)), "reject"
    parsers = [_parser(f) for f in formats]
    wanted = " or ".join(formats)

    if len(parsers) == 1:
        parse = parsers[0]

        def one(v: Value) -> Value:
            if v is None or isinstance(v, date):
                return v
            text = str(v).strip()
            try:
                return parse(text)
            except ValueError:
                raise FieldProblem("invalid_date", f"{text!r} is not a date in {wanted}") from None

        return Op(one)

    def several(v: Value) -> Value:
        if v is None or isinstance(v, date):
            return v
        text = str(v).strip()
        results = []
        for p in parsers:
            try:
                results.append(p(text))
            except ValueError:
                continue
        if not results:
            raise FieldProblem("invalid_date", f"{text!r} is not a date in {wanted}")
        if len(set(results)) > 1 and ambiguous == "reject":
            readings = " or ".join(sorted(d.isoformat() for d in set(results)))
            raise FieldProblem("ambiguous_date", f"{text!r} reads as {readings}")
        return results[0]

    return Op(several)


def number_op(arg: s.NumberArgs | None) -> Op:
    """``{number: {decimal: ",", thousands: "."}}``: a locale-formatted number to Decimal."""
    dec, thou = (arg.decimal, arg.thousands) if arg else (".", "")

    def one(v: Value) -> Value:
        if v is None or isinstance(v, int | Decimal):
            return v
        text = str(v).strip().replace(" ", "")
        if thou:
            text = text.replace(thou, "")
        if dec != ".":
            text = text.replace(dec, ".")
        try:
            out = Decimal(text)
        except InvalidOperation:
            raise FieldProblem("invalid_number", f"{v!r} is not a number") from None
        if not out.is_finite():
            raise FieldProblem("invalid_number", f"{v!r} is not a finite number")
        return out

    return Op(one)


# ------------------------------------------------------------------ tables


_MISSING = object()


def table_op(table: Mapping[str, Any], unknown: str, name: str) -> Op:
    def miss(v: Value) -> Value:
        if unknown == "null":
            return None
        if unknown == "keep":
            return v
        message = f"{str(v)!r} is not in code list {name}"
        if unknown == "flag":
            raise FieldFlag("unknown_code", message, None)
        raise FieldProblem("unknown_code", message)

    def one(v: Value) -> Value:
        if v is None:
            return None
        out = table.get(v if v.__class__ is str else str(v), _MISSING)
        return miss(v) if out is _MISSING else out

    get = table.get

    def many(values: list[Any], acc: Problems) -> list[Any]:
        out = [
            None if v is None else get(v if v.__class__ is str else str(v), _MISSING)
            for v in values
        ]
        for i, value in enumerate(out):
            if value is _MISSING:
                out[i] = _guarded(miss, values[i], i, acc)
        return out

    return Op(one, many)


def _table_of(
    arg: str | s.TableRef | dict[str, Any], tables: Mapping[str, Mapping[str, Any]]
) -> tuple[Mapping[str, Any], str, str]:
    unknown = "reject"
    if isinstance(arg, s.TableRef):
        unknown, arg = arg.unknown, arg.table
    if isinstance(arg, dict):
        return {str(k): v for k, v in arg.items()}, unknown, "(inline)"
    if arg not in tables:
        raise MappingError(f"no code list or reference table named {arg!r}")
    return tables[arg], unknown, arg


# ------------------------------------------------------------------ text surgery


def regex_op(arg: str | s.RegexArgs) -> Op:
    pattern, group = (arg, 1) if isinstance(arg, str) else (arg.pattern, arg.group)
    rx = re.compile(pattern)
    if rx.groups < group:
        raise MappingError(f"regex step: pattern {pattern!r} has no group {group}")

    def one(v: Value) -> Value:
        if v is None:
            return None
        m = rx.search(str(v))
        if m is None:
            raise FieldProblem("no_match", f"{v!r} does not match {pattern!r}")
        return m.group(group)

    return Op(one)


def split_op(arg: int | s.SplitArgs) -> Op:
    sep, index, rest = (
        (None, arg, False) if isinstance(arg, int) else (arg.sep, arg.index, arg.rest)
    )

    def one(v: Value) -> Value:
        if not isinstance(v, str):
            return v
        parts = v.split(sep) if sep else v.split()
        if rest:
            return (sep or " ").join(parts[index:]) or None
        return parts[index] if -len(parts) <= index < len(parts) else None

    return Op(one)


def join_op(arg: str | None) -> Op:
    sep = " " if arg is None else arg

    def one(v: Value) -> Value:
        if isinstance(v, list | tuple):
            kept = [str(x) for x in v if x not in (None, "")]
            return sep.join(kept) if kept else None
        return v

    return Op(one)


def null_if_op(arg: Any) -> Op:
    values = {str(a) for a in (arg if isinstance(arg, list) else [arg])}

    def one(v: Value) -> Value:
        return None if (v is not None and str(v) in values) else v

    def many(col: list[Any], acc: Problems) -> list[Any]:
        return [
            None if (v is not None and (v if v.__class__ is str else str(v)) in values) else v
            for v in col
        ]

    return Op(one, many)


def replace_op(arg: s.ReplaceArgs) -> Op:
    rx, repl = re.compile(arg.pattern), arg.with_
    return _text(lambda t: rx.sub(repl, t))


def default_op(arg: Any) -> Op:
    def one(v: Value) -> Value:
        return arg if v is None or v == "" else v

    def many(col: list[Any], acc: Problems) -> list[Any]:
        return [arg if v is None or v == "" else v for v in col]

    return Op(one, many)


# ------------------------------------------------------------------ identifiers


def _rule(scheme: str) -> tuple[Callable[[str], str], Callable[[str], bool], str]:
    if scheme == "luhn":
        return (lambda t: re.sub(r"[\s\-]", "", t)), luhn_valid, "number with a Luhn check digit"
    rule = SCHEMES[IdentifierScheme(scheme)]
    return rule.normalise, rule.is_valid, rule.description


def check_digit_op(arg: str | s.CheckDigitArgs) -> Op:
    """Validate and normalise an identifier; a bad one is rejected, flagged or emptied."""
    scheme, on_invalid = (arg, "reject") if isinstance(arg, str) else (arg.scheme, arg.on_invalid)
    normalise, is_valid, description = _rule(scheme)

    def one(v: Value) -> Value:
        if v is None:
            return None
        value = normalise(str(v))
        if not value or is_valid(value):
            return value or None
        message = f"{v!r} is not a valid {description}"
        if on_invalid == "null":
            return None
        if on_invalid == "flag":
            raise FieldFlag("invalid_check_digit", message, value)
        raise FieldProblem("invalid_check_digit", message)

    return Op(one)


# ------------------------------------------------------------------ compile


def compile_steps(steps: list[Any], tables: Mapping[str, Mapping[str, Any]]) -> list[Op]:
    """Turn typed step specs into ops; ``tables`` names code lists and reference tables."""
    return [_compile_one(step, tables) for step in steps]


def _compile_one(step: Any, tables: Mapping[str, Mapping[str, Any]]) -> Op:
    if isinstance(step, str):
        if step not in SIMPLE:
            raise MappingError(f"unknown step {step!r}; known: {', '.join(sorted(SIMPLE))}")
        return SIMPLE[step]
    if isinstance(step, s.CodeListStep | s.CrosswalkStep | s.LookupStep):
        kind = next(iter(type(step).model_fields))
        return table_op(*_table_of(getattr(step, kind), tables))
    simple: dict[type[Any], Callable[[Any], Op]] = {
        s.DateStep: lambda st: date_op(st.date),
        s.NumberStep: lambda st: number_op(st.number),
        s.RegexStep: lambda st: regex_op(st.regex),
        s.SplitStep: lambda st: split_op(st.split),
        s.JoinStep: lambda st: join_op(st.join),
        s.NullIfStep: lambda st: null_if_op(st.null_if),
        s.ReplaceStep: lambda st: replace_op(st.replace),
        s.DefaultStep: lambda st: default_op(st.default),
        s.CheckDigitStep: lambda st: check_digit_op(st.check_digit),
    }
    factory = simple.get(type(step))
    if factory is None:
        raise MappingError(f"unknown step {step!r}")
    return factory(step)
