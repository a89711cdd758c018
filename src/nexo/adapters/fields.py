"""Compiled fields of a mapping: a chunk's column in, the field's values and problems out."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nexo.adapters.spec import Condition, FieldSpec, IdentifierSpec
from nexo.adapters.transform import FieldProblem, Op, Problems, compile_steps, run
from nexo.model.identifier import SCHEMES
from nexo.store.projection import check_digit_ok

Row = dict[str, str | None]


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    field: str | None
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "message": self.message}


class Columns:
    """The chunk's values of one input column at a time, computed once."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows, self.n = rows, len(rows)
        self.cache: dict[str, list[Any]] = {}

    def get(self, name: str) -> list[Any]:
        col = self.cache.get(name)
        if col is None:
            col = self.cache[name] = [r.get(name) for r in self.rows]
        return col


def condition(cond: Condition | None) -> Callable[[Columns], list[bool] | None]:
    """A vectorised test; ``None`` means every row passes."""
    if cond is None:
        return lambda cols: None
    rx = re.compile(cond.matches) if cond.matches else None

    def test(v: Any) -> bool:
        v = v.strip() if isinstance(v, str) else v
        return not (
            (cond.equals is not None and v != cond.equals)
            or (cond.not_equals is not None and v == cond.not_equals)
            or (cond.in_ is not None and v not in cond.in_)
            or (cond.not_empty and not v)
            or (rx is not None and (v is None or not rx.search(v)))
        )

    return lambda cols: [test(v) for v in cols.get(cond.column)]


@dataclass(slots=True)
class Values:
    values: list[Any]
    bad: dict[int, Reason]
    flags: dict[int, list[Reason]]


class Field:
    """One compiled field: read column(s) or a constant, run the steps, apply a default."""

    def __init__(self, name: str, spec: str | FieldSpec, tables: dict[str, Any]) -> None:
        spec = FieldSpec.model_validate({"from": spec}) if isinstance(spec, str) else spec
        self.name, self.spec = name, spec
        self.columns = [spec.from_] if isinstance(spec.from_, str) else list(spec.from_ or [])
        self.ops: list[Op] = compile_steps(spec.steps, tables)
        self.when = condition(spec.when)

    def run(self, cols: Columns) -> Values:
        spec, n = self.spec, cols.n
        values: list[Any]
        if spec.from_ is None:
            values = [spec.value] * n
        elif isinstance(spec.from_, str):
            values = cols.get(spec.from_)
        else:
            values = [list(t) for t in zip(*(cols.get(c) for c in self.columns), strict=True)]
        acc = Problems()
        values = run(self.ops, values, acc)
        mask = self.when(cols)
        if mask is not None:
            values = [v if m else None for v, m in zip(values, mask, strict=True)]
            for i, m in enumerate(mask):
                if not m:
                    acc.bad.pop(i, None)
                    acc.flags.pop(i, None)
        default, required = spec.default, spec.required
        if default is None and not required:
            values = [None if v is None or v == "" else v for v in values]
        else:
            values = list(values)
            for i, v in enumerate(values):
                if (v is None or v == "") and i not in acc.bad and (mask is None or mask[i]):
                    values[i] = default
                    if default is None and required:
                        acc.bad[i] = FieldProblem("missing_required", "required but empty")
                elif v == "":
                    values[i] = None
        name = self.name
        return Values(
            values,
            {i: Reason(p.code, name, f"{name}: {p.message}") for i, p in acc.bad.items()},
            {
                i: [Reason(f.code, name, f"{name}: {f.message}") for f in fl]
                for i, fl in acc.flags.items()
            },
        )


def leaves(prefix: tuple[str, ...], spec: dict[str, Any], tables: dict[str, Any]) -> list[Any]:
    """Fields may nest (``address: {line: ..., locality: ...}``): (path, field) in order."""
    out: list[tuple[tuple[str, ...], Field]] = []
    for key, sub in spec.items():
        path = (*prefix, key)
        name = ".".join(path)
        if isinstance(sub, str | FieldSpec):
            out.append((path, Field(name, sub, tables)))
        elif isinstance(sub, dict):
            out.extend(leaves(path, sub, tables))
        else:
            out.append((path, Field(name, FieldSpec.model_validate({"value": sub}), tables)))
    return out


class Identifier:
    def __init__(self, spec: IdentifierSpec, tables: dict[str, Any]) -> None:
        self.spec, self.rule = spec, SCHEMES[spec.scheme]
        self.value = Field(f"identifier[{spec.scheme}]", spec.value, tables)
        self.verified = (
            None
            if isinstance(spec.verified, bool)
            else Field(f"identifier[{spec.scheme}].verified", spec.verified, tables)
        )

    def run(self, cols: Columns) -> tuple[list[dict[str, Any] | None], Values]:
        raw = self.value.run(cols)
        verified = self.verified.run(cols) if self.verified else None
        bad = dict(raw.bad)
        flags = {i: list(f) for i, f in raw.flags.items()}
        if verified:
            for i, r in verified.bad.items():
                bad.setdefault(i, Reason(r.code, self.value.name, r.message))
            for i, f in verified.flags.items():
                flags.setdefault(i, []).extend(f)
        out: list[dict[str, Any] | None] = []
        scheme, on_invalid, name = self.spec.scheme, self.spec.on_invalid, self.value.name
        normalise = self.rule.normalise
        for i, v in enumerate(raw.values):
            if v is None or i in bad:
                out.append(None)
                continue
            value = normalise(str(v))
            if not value:
                out.append(None)
                continue
            ok = verified.values[i] if verified else self.spec.verified
            if not check_digit_ok(scheme, value):  # (remembered for the projection)
                message = f"{v!r} is not a valid {self.rule.description}"
                if on_invalid == "drop":
                    out.append(None)
                    continue
                if on_invalid == "quarantine":
                    bad[i] = Reason("invalid_identifier", name, message)
                    out.append(None)
                    continue
                flags.setdefault(i, []).append(Reason("invalid_check_digit", name, message))
                ok = False  # a value that fails its check digit cannot be verified
            out.append({"scheme": scheme, "value": value, "verified": bool(ok)})
        return out, Values([], bad, flags)
