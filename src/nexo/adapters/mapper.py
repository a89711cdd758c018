"""Compile a mapping spec into a function from raw rows to canonical entities.

Rows are mapped a chunk at a time, column by column (each field's steps run over the whole
column), then each row's entities are assembled and validated against the canonical model.
Every problem of a row is collected, not just the first; a row with any problem is rejected
whole (decision 0001).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError

from nexo.adapters.reference import builtin_table, load_reference
from nexo.adapters.spec import Condition, EntitySpec, FieldSpec, IdentifierSpec, Mapping
from nexo.adapters.transform import FieldProblem, Op, Problems, compile_steps, run
from nexo.errors import MappingError
from nexo.model import ENTITY_MODELS, CanonicalModel, EntityType
from nexo.model.identifier import SCHEMES
from nexo.store.projection import check_digit_ok

Row = dict[str, str | None]
MAX_RECORD_ID = 128  # the store's key column
_FACTS = {
    EntityType.JOB_SEEKER_REGISTRATION,
    EntityType.EMPLOYMENT_EPISODE,
    EntityType.PROGRAMME_PARTICIPATION,
    EntityType.BENEFIT_ENROLMENT,
}


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    field: str | None
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class Finding:
    """A doubtful value that was stored anyway (the mapping said ``flag``)."""

    entity_type: str
    record_id: str
    field: str
    code: str
    message: str


class RowRejected(Exception):
    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__("; ".join(r.message for r in reasons))
        self.reasons = reasons


@dataclass(frozen=True, slots=True)
class MappedEntity:
    entity_type: EntityType
    record_id: str
    entity: CanonicalModel
    updated_on: date | None = None


@dataclass(slots=True)
class RowResult:
    """A row's entities (``None`` when rejected), its reasons, and its findings."""

    entities: list[MappedEntity] | None
    reasons: list[Reason] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


class _Columns:
    """The chunk's values of one input column at a time, computed once."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows, self.n = rows, len(rows)
        self.cache: dict[str, list[Any]] = {}

    def get(self, name: str) -> list[Any]:
        col = self.cache.get(name)
        if col is None:
            col = self.cache[name] = [r.get(name) for r in self.rows]
        return col


def _condition(cond: Condition | None) -> Callable[[_Columns], list[bool] | None]:
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
class _Values:
    values: list[Any]
    bad: dict[int, Reason]
    flags: dict[int, list[Reason]]


class _Field:
    """One compiled field: read column(s) or a constant, run the steps, apply a default."""

    def __init__(self, name: str, spec: str | FieldSpec, tables: dict[str, Any]) -> None:
        spec = FieldSpec.model_validate({"from": spec}) if isinstance(spec, str) else spec
        self.name, self.spec = name, spec
        self.columns = [spec.from_] if isinstance(spec.from_, str) else list(spec.from_ or [])
        self.ops: list[Op] = compile_steps(spec.steps, tables)
        self.when = _condition(spec.when)

    def run(self, cols: _Columns) -> _Values:
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
        return _Values(
            values,
            {i: Reason(p.code, name, f"{name}: {p.message}") for i, p in acc.bad.items()},
            {
                i: [Reason(f.code, name, f"{name}: {f.message}") for f in fl]
                for i, fl in acc.flags.items()
            },
        )


def _leaves(prefix: tuple[str, ...], spec: dict[str, Any], tables: dict[str, Any]) -> list[Any]:
    """Fields may nest (``address: {line: ..., locality: ...}``): (path, field) in order."""
    out: list[tuple[tuple[str, ...], _Field]] = []
    for key, sub in spec.items():
        path = (*prefix, key)
        name = ".".join(path)
        if isinstance(sub, str | FieldSpec):
            out.append((path, _Field(name, sub, tables)))
        elif isinstance(sub, dict):
            out.extend(_leaves(path, sub, tables))
        else:
            out.append((path, _Field(name, FieldSpec.model_validate({"value": sub}), tables)))
    return out


class _Identifier:
    def __init__(self, spec: IdentifierSpec, tables: dict[str, Any]) -> None:
        self.spec, self.rule = spec, SCHEMES[spec.scheme]
        self.value = _Field(f"identifier[{spec.scheme}]", spec.value, tables)
        self.verified = (
            None
            if isinstance(spec.verified, bool)
            else _Field(f"identifier[{spec.scheme}].verified", spec.verified, tables)
        )

    def run(self, cols: _Columns) -> tuple[list[dict[str, Any] | None], _Values]:
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
        return out, _Values([], bad, flags)


def _errors(e: ValidationError) -> list[Reason]:
    out = []
    for err in e.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or None
        out.append(Reason("invalid_value", loc, f"{loc}: {err['msg']}"))
    return out


class _Entity:
    def __init__(self, spec: EntitySpec, mapping: Mapping, tables: dict[str, Any]) -> None:
        self.type = spec.type
        self.model: type[BaseModel] = ENTITY_MODELS[spec.type]
        self.when = _condition(spec.when)
        self.record_id = _Field("record_id", spec.record_id or mapping.spec.record_id, tables)
        self.leaves = _leaves((), spec.fields, tables)
        self.identifiers = [_Identifier(i, tables) for i in spec.identifiers]
        self.person_source = mapping.spec.person_source if spec.type in _FACTS else None
        unknown = set(spec.fields) - set(self.model.model_fields)
        if unknown:
            raise MappingError(
                f"entity {spec.type}: no field(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(self.model.model_fields)}"
            )

    def run(
        self, cols: _Columns, reasons: list[list[Reason]], findings: list[list[Finding]]
    ) -> list[MappedEntity | None]:
        """This entity for every row; problems and findings are added per row."""
        n, etype = cols.n, self.type.value
        mask = self.when(cols)
        rid = self.record_id.run(cols)
        leaves = [(path, f.run(cols)) for path, f in self.leaves]
        idents = [ident.run(cols) for ident in self.identifiers]
        every = [rid, *(v for _, v in leaves), *(v for _, v in idents)]
        noisy: set[int] = set()
        for v in every:
            noisy.update(v.bad, v.flags)
        flat = [(path[0], v.values) for path, v in leaves if len(path) == 1]
        nested = [(path, v.values) for path, v in leaves if len(path) > 1]
        id_values = [vals for vals, _ in idents]
        validate, ptype, person_source = self.model.model_validate, self.type, self.person_source
        rids = rid.values
        out: list[MappedEntity | None] = []
        for i in range(n):
            if mask is not None and not mask[i]:
                out.append(None)
                continue
            problems: list[Reason] = []
            flags: list[Reason] = []
            if i in noisy:
                for v in every:
                    if i in v.bad:
                        problems.append(v.bad[i])
                    if i in v.flags:
                        flags.extend(v.flags[i])
            record_id = rids[i]
            if record_id is None or record_id == "":
                problems.insert(1 if i in rid.bad else 0, _MISSING_ID)
            elif len(str(record_id)) > MAX_RECORD_ID:
                problems.insert(0, _LONG_ID)
            data = {k: vals[i] for k, vals in flat if vals[i] is not None}
            for path, vals in nested:
                value = vals[i]
                if value is not None:
                    d = data
                    for k in path[:-1]:
                        d = d.setdefault(k, {})
                    d[path[-1]] = value
            if id_values:
                ids = [x for x in (vals[i] for vals in id_values) if x]
                if ids:
                    data["identifiers"] = ids
            if person_source and "person_source" not in data:
                data["person_source"] = person_source
            if not problems:
                try:
                    entity = validate(data)
                except ValidationError as e:
                    problems = _errors(e)
            if problems:
                reasons[i].extend(problems)
                out.append(None)
                continue
            rid_text = str(record_id)
            if flags:
                findings[i].extend(
                    Finding(etype, rid_text, f.field or "", f.code, f.message) for f in flags
                )
            out.append(MappedEntity(ptype, rid_text, entity))  # type: ignore[arg-type]
        return out


_MISSING_ID = Reason("missing_record_id", "record_id", "the record id is empty")
_LONG_ID = Reason(
    "invalid_record_id", "record_id", f"the record id is longer than {MAX_RECORD_ID} characters"
)
_NO_ENTITY = Reason("no_entity", None, "no entity of the mapping applies")
_UPDATED_NOT_DATE = Reason(
    "invalid_date", "updated_on", "updated_on must be parsed with a date step"
)


class RowMapper:
    """Maps raw rows to entities; collects every problem of a row, not just the first."""

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        tables: dict[str, Any] = {}
        for name, ref in mapping.spec.reference.items():
            path = (mapping.base_dir / ref.file).resolve()
            tables[name] = load_reference(path, ref.key, ref.value, ref.encoding, name)
        tables.update(
            {k: {str(c): v for c, v in t.items()} for k, t in mapping.spec.code_lists.items()}
        )
        self.tables = _WithBuiltins(tables)
        self.entities = [_Entity(e, mapping, self.tables) for e in mapping.spec.entities]
        updated = mapping.spec.updated_on
        self.updated_on = _Field("updated_on", updated, self.tables) if updated else None

    @property
    def columns(self) -> list[str]:
        """Every input column or path the mapping reads, in first-use order."""
        seen: dict[str, None] = {}

        def add(f: _Field | None) -> None:
            if f is not None:
                seen.update(dict.fromkeys(f.columns))
                if f.spec.when:
                    seen[f.spec.when.column] = None

        add(self.updated_on)
        for e, spec in zip(self.entities, self.mapping.spec.entities, strict=True):
            if spec.when:
                seen[spec.when.column] = None
            add(e.record_id)
            for _, f in e.leaves:
                add(f)
            for i in e.identifiers:
                add(i.value)
                add(i.verified)
        return list(seen)

    def map_rows(self, rows: list[Row]) -> list[RowResult]:
        """Map a chunk of rows; one result per row, in order."""
        cols = _Columns(rows)
        reasons: list[list[Reason]] = [[] for _ in rows]
        findings: list[list[Finding]] = [[] for _ in rows]
        per_entity = [e.run(cols, reasons, findings) for e in self.entities]
        updated = self.updated_on.run(cols) if self.updated_on else None
        results = []
        for i, problems in enumerate(reasons):
            mapped = [e for e in (m[i] for m in per_entity) if e is not None]
            if updated is not None and mapped:
                if i in updated.bad:
                    problems.append(updated.bad[i])
                else:
                    day = updated.values[i]
                    if day is not None and not isinstance(day, date):
                        problems.append(_UPDATED_NOT_DATE)
                    elif day is not None:
                        mapped = [
                            MappedEntity(m.entity_type, m.record_id, m.entity, day) for m in mapped
                        ]
                    first = mapped[0]
                    findings[i].extend(
                        Finding(first.entity_type.value, first.record_id, "updated_on", f.code,
                                f.message)
                        for f in updated.flags.get(i, ())
                    )  # fmt: skip
            if not problems and not mapped:
                problems.append(_NO_ENTITY)
            if problems:
                results.append(RowResult(None, problems))
            else:
                results.append(RowResult(mapped, problems, findings[i]))
        return results

    def __call__(self, row: Row) -> list[MappedEntity]:
        (result,) = self.map_rows([row])
        if result.entities is None:
            raise RowRejected(result.reasons)
        return result.entities

    def record_ids(self, rows: list[Row]) -> list[str | None]:
        """Each row's record id if it can be read at all (to find it in the quarantine)."""
        values = self.entities[0].record_id.run(_Columns(rows)).values
        return [str(v)[:128] if v not in (None, "") else None for v in values]


class _WithBuiltins(dict[str, Any]):
    """The mapping's tables, falling back to Nexo's built-in tables (``isco08``...)."""

    def __missing__(self, key: str) -> Any:
        table = builtin_table(key)
        if table is None:
            raise KeyError(key)
        return table

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or (
            isinstance(key, str) and builtin_table(key) is not None
        )
