"""Transforms (mapping ``steps``): small functions from a value to a value.

A transform that cannot do its job raises ``FieldProblem`` with a reason code; the row is then
quarantined with that reason. Transforms never see a whole row, only one field's value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from nexo.errors import MappingError

Value = Any
Transform = Callable[[Value], Value]


class FieldProblem(Exception):
    """A value that cannot be translated; ``code`` becomes the quarantine reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _text_op(fn: Callable[[str], str]) -> Transform:
    def op(v: Value) -> Value:
        return fn(v) if isinstance(v, str) else v

    return op


def _strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def _title(s: str) -> str:
    """Title case that keeps particles low ("de", "del", "von") and handles hyphens."""
    low = {"de", "del", "la", "las", "los", "y", "von", "van", "der", "zu", "da", "do"}
    words = s.lower().split(" ")
    return " ".join(
        w if (i and w in low) else "-".join(p[:1].upper() + p[1:] for p in w.split("-"))
        for i, w in enumerate(words)
    )


_SIMPLE: dict[str, Transform] = {
    "trim": _text_op(str.strip),
    "upper": _text_op(str.upper),
    "lower": _text_op(str.lower),
    "title": _text_op(_title),
    "collapse_spaces": _text_op(lambda s: " ".join(s.split())),
    "strip_accents": _text_op(_strip_accents),
    "empty_to_null": lambda v: None if v == "" else v,
    "digits_only": _text_op(lambda s: re.sub(r"\D", "", s)),
}

_FAST_DATES: dict[str, Callable[[str], date]] = {
    "%d/%m/%Y": lambda s: (
        date(int(s[6:10]), int(s[3:5]), int(s[0:2]))
        if len(s) == 10 and s[2] == s[5] == "/"
        else _raise()
    ),
    "%Y%m%d": lambda s: date(int(s[0:4]), int(s[4:6]), int(s[6:8])) if len(s) == 8 else _raise(),
    "%Y-%m-%d": lambda s: (
        date(int(s[0:4]), int(s[5:7]), int(s[8:10]))
        if len(s) == 10 and s[4] == s[7] == "-"
        else _raise()
    ),
}


def _raise() -> date:
    raise ValueError("layout")


def _parse_one(fmt: str) -> Callable[[str], date]:
    fast = _FAST_DATES.get(fmt)
    if fast is not None:
        return fast
    return lambda s: datetime.strptime(s, fmt).date()


def date_step(arg: Any) -> Transform:
    """``{date: FORMAT}`` or ``{date: {formats: [...], ambiguous: reject|first}}``."""
    if isinstance(arg, str):
        formats, ambiguous = [arg], "reject"
    elif isinstance(arg, list):
        formats, ambiguous = [str(a) for a in arg], "reject"
    elif isinstance(arg, dict):
        formats, ambiguous = list(arg.get("formats", [])), str(arg.get("ambiguous", "reject"))
    else:
        raise MappingError("date step needs a format string or {formats: [...]}")
    if not formats or ambiguous not in ("reject", "first"):
        raise MappingError("date step needs at least one format; ambiguous is reject or first")
    parsers = [_parse_one(f) for f in formats]

    def op(v: Value) -> Value:
        if v is None or isinstance(v, date):
            return v
        s = str(v).strip()
        results = []
        for parse in parsers:
            try:
                results.append(parse(s))
            except ValueError:
                continue
        if not results:
            raise FieldProblem("invalid_date", f"{s!r} is not a date in {' or '.join(formats)}")
        if len(set(results)) > 1 and ambiguous == "reject":
            raise FieldProblem(
                "ambiguous_date",
                f"{s!r} reads as {' or '.join(sorted(d.isoformat() for d in set(results)))}",
            )
        return results[0]

    return op


def number_step(arg: Any) -> Transform:
    """``{number: {decimal: ",", thousands: "."}}``: locale-formatted number to Decimal."""
    opts = arg if isinstance(arg, dict) else {}
    dec, thou = str(opts.get("decimal", ".")), str(opts.get("thousands", ""))
    if dec == thou:
        raise MappingError("number step: decimal and thousands separators must differ")

    def op(v: Value) -> Value:
        if v is None or isinstance(v, (int, Decimal)):
            return v
        s = str(v).strip().replace(" ", "")
        if thou:
            s = s.replace(thou, "")
        if dec != ".":
            s = s.replace(dec, ".")
        try:
            out = Decimal(s)
        except InvalidOperation:
            raise FieldProblem("invalid_number", f"{v!r} is not a number") from None
        if not out.is_finite():
            raise FieldProblem("invalid_number", f"{v!r} is not a finite number")
        return out

    return op


def code_list_step(table: Mapping[str, Any], unknown: str, name: str) -> Transform:
    if unknown not in ("reject", "null", "keep"):
        raise MappingError(f"code list {name}: unknown must be reject, null or keep")

    def op(v: Value) -> Value:
        if v is None:
            return None
        key = str(v)
        if key in table:
            return table[key]
        if unknown == "null":
            return None
        if unknown == "keep":
            return v
        raise FieldProblem("unknown_code", f"{key!r} is not in code list {name}")

    return op


def regex_step(arg: Any) -> Transform:
    pattern = arg if isinstance(arg, str) else str(arg.get("pattern", ""))
    group = 1 if isinstance(arg, str) else int(arg.get("group", 1))
    try:
        rx = re.compile(pattern)
    except re.error as e:
        raise MappingError(f"regex step: {e}") from e
    if rx.groups < group:
        raise MappingError(f"regex step: pattern {pattern!r} has no group {group}")

    def op(v: Value) -> Value:
        if v is None:
            return None
        m = rx.search(str(v))
        if m is None:
            raise FieldProblem("no_match", f"{v!r} does not match {pattern!r}")
        return m.group(group)

    return op


def split_step(arg: Any) -> Transform:
    sep = None if not isinstance(arg, dict) else arg.get("sep")
    index = int(arg.get("index", 0)) if isinstance(arg, dict) else int(arg)
    rest = bool(arg.get("rest", False)) if isinstance(arg, dict) else False

    def op(v: Value) -> Value:
        if not isinstance(v, str):
            return v
        parts = v.split(sep) if sep else v.split()
        if rest:
            return (sep or " ").join(parts[index:]) or None
        return parts[index] if -len(parts) <= index < len(parts) else None

    return op


def join_step(arg: Any) -> Transform:
    sep = str(arg) if arg is not None else " "

    def op(v: Value) -> Value:
        if isinstance(v, (list, tuple)):
            kept = [str(x) for x in v if x not in (None, "")]
            return sep.join(kept) if kept else None
        return v

    return op


def null_if_step(arg: Any) -> Transform:
    values = {str(a) for a in (arg if isinstance(arg, list) else [arg])}
    return lambda v: None if (v is not None and str(v) in values) else v


def replace_step(arg: Any) -> Transform:
    if not isinstance(arg, dict) or "pattern" not in arg:
        raise MappingError("replace step needs {pattern: ..., with: ...}")
    rx, repl = re.compile(str(arg["pattern"])), str(arg.get("with", ""))
    return _text_op(lambda s: rx.sub(repl, s))


def compile_steps(steps: list[Any], tables: Mapping[str, Mapping[str, Any]]) -> list[Transform]:
    """Turn a list of step specs into functions; ``tables`` names code lists and references."""
    out: list[Transform] = []
    for step in steps:
        if isinstance(step, str):
            if step not in _SIMPLE:
                raise MappingError(f"unknown step {step!r}; known: {', '.join(sorted(_SIMPLE))}")
            out.append(_SIMPLE[step])
            continue
        if not isinstance(step, dict) or len(step) != 1:
            raise MappingError(f"a step is a name or a one-key mapping, not {step!r}")
        ((name, arg),) = step.items()
        out.append(_compile_one(name, arg, tables))
    return out


def _compile_one(name: str, arg: Any, tables: Mapping[str, Mapping[str, Any]]) -> Transform:
    if name == "date":
        return date_step(arg)
    if name == "number":
        return number_step(arg)
    if name in ("code_list", "crosswalk", "lookup"):
        unknown = "reject"
        if isinstance(arg, dict) and "table" in arg:
            unknown, arg = str(arg.get("unknown", "reject")), arg["table"]
        if isinstance(arg, dict):
            return code_list_step({str(k): v for k, v in arg.items()}, unknown, "(inline)")
        if str(arg) not in tables:
            raise MappingError(f"{name} {arg!r} is not defined in code_lists or reference")
        return code_list_step(tables[str(arg)], unknown, str(arg))
    factories: dict[str, Callable[[Any], Transform]] = {
        "regex": regex_step,
        "split": split_step,
        "join": join_step,
        "null_if": null_if_step,
        "replace": replace_step,
    }
    if name in factories:
        return factories[name](arg)
    if name == "default":
        return lambda v: arg if v in (None, "") else v
    raise MappingError(f"unknown step {name!r}")


def apply(transforms: list[Transform], value: Value) -> Value:
    for t in transforms:
        value = t(value)
    return value
