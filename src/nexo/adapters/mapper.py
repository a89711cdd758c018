"""Compile a mapping spec into a function from one raw row to canonical entities."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from nexo.adapters.spec import Condition, EntitySpec, FieldSpec, IdentifierSpec, Mapping
from nexo.adapters.transform import FieldProblem, Transform, apply, compile_steps
from nexo.errors import MappingError
from nexo.model import ENTITY_MODELS, CanonicalModel, EntityType
from nexo.model.identifier import SCHEMES

Row = dict[str, str | None]
_FIELD_KEYS = {"from", "value", "steps", "default", "required", "when"}
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


def _condition(cond: Condition | None) -> Callable[[Row], bool]:
    if cond is None:
        return lambda row: True
    rx = re.compile(cond.matches) if cond.matches else None

    def test(row: Row) -> bool:
        v = row.get(cond.column)
        v = v.strip() if isinstance(v, str) else v
        return not (
            (cond.equals is not None and v != cond.equals)
            or (cond.not_equals is not None and v == cond.not_equals)
            or (cond.in_ is not None and v not in cond.in_)
            or (cond.not_empty and not v)
            or (rx is not None and (v is None or not rx.search(v)))
        )

    return test


class _Field:
    """One compiled field: read column(s) or a constant, run the steps, apply a default."""

    def __init__(self, name: str, spec: str | FieldSpec, tables: dict[str, dict[str, Any]]):
        spec = FieldSpec.model_validate({"from": spec}) if isinstance(spec, str) else spec
        self.name, self.spec = name, spec
        self.columns = [spec.from_] if isinstance(spec.from_, str) else list(spec.from_ or [])
        self.steps: list[Transform] = compile_steps(spec.steps, tables)
        self.when = _condition(spec.when)

    def __call__(self, row: Row) -> Any:
        if not self.when(row):
            return None
        if self.spec.from_ is None:
            value: Any = self.spec.value
        elif isinstance(self.spec.from_, str):
            value = row.get(self.spec.from_)
        else:
            value = [row.get(c) for c in self.columns]
        try:
            value = apply(self.steps, value)
        except FieldProblem as p:
            raise FieldProblem(p.code, f"{self.name}: {p.message}") from None
        if value == "" or value is None:
            value = self.spec.default
        if value is None and self.spec.required:
            raise FieldProblem("missing_required", f"{self.name}: required but empty")
        return value


def _compile_group(prefix: str, spec: dict[str, Any], tables: dict[str, dict[str, Any]]) -> Any:
    """Fields may nest (``address: {line: ..., locality: ...}``)."""
    parts: dict[str, Any] = {}
    for key, sub in spec.items():
        name = f"{prefix}{key}"
        if isinstance(sub, str) or (isinstance(sub, dict) and _FIELD_KEYS & sub.keys()):
            parts[key] = _Field(
                name, sub if isinstance(sub, str) else FieldSpec.model_validate(sub), tables
            )
        elif isinstance(sub, dict):
            parts[key] = _compile_group(f"{name}.", sub, tables)
        else:
            parts[key] = _Field(name, FieldSpec.model_validate({"value": sub}), tables)
    return parts


def _run_group(group: dict[str, Any], row: Row, problems: list[Reason]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for key, part in group.items():
        if isinstance(part, _Field):
            try:
                value = part(row)
            except FieldProblem as p:
                problems.append(Reason(p.code, part.name, p.message))
                continue
        else:
            value = _run_group(part, row, problems)
        if value is not None:
            out[key] = value
    return out or None


class _Identifier:
    def __init__(self, spec: IdentifierSpec, tables: dict[str, dict[str, Any]]) -> None:
        self.spec, self.rule = spec, SCHEMES[spec.scheme]
        self.value = _Field(f"identifier[{spec.scheme}]", spec.value, tables)
        self.verified = (
            None
            if isinstance(spec.verified, bool)
            else _Field(f"identifier[{spec.scheme}].verified", spec.verified, tables)
        )

    def __call__(self, row: Row, problems: list[Reason]) -> dict[str, Any] | None:
        try:
            raw = self.value(row)
            verified = self.verified(row) if self.verified else self.spec.verified
        except FieldProblem as p:
            problems.append(Reason(p.code, self.value.name, p.message))
            return None
        if raw is None:
            return None
        value = self.rule.normalise(str(raw))
        if not value:
            return None
        if not self.rule.is_valid(value):
            if self.spec.on_invalid == "drop":
                return None
            if self.spec.on_invalid == "quarantine":
                problems.append(
                    Reason(
                        "invalid_identifier",
                        self.value.name,
                        f"{raw!r} is not a valid {self.rule.description}",
                    )
                )
                return None
            verified = False  # a value that fails its check digit cannot be verified
        return {"scheme": self.spec.scheme, "value": value, "verified": bool(verified)}


class _Entity:
    def __init__(self, spec: EntitySpec, mapping: Mapping, tables: dict[str, dict[str, Any]]):
        self.type = spec.type
        self.model = ENTITY_MODELS[spec.type]
        self.when = _condition(spec.when)
        self.record_id = _Field("record_id", spec.record_id or mapping.spec.record_id, tables)
        self.group = _compile_group("", spec.fields, tables)
        self.identifiers = [_Identifier(i, tables) for i in spec.identifiers]
        self.person_source = mapping.spec.person_source if spec.type in _FACTS else None
        unknown = set(spec.fields) - set(self.model.model_fields)
        if unknown:
            raise MappingError(
                f"entity {spec.type}: no field(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(self.model.model_fields)}"
            )

    def __call__(self, row: Row, problems: list[Reason]) -> MappedEntity | None:
        if not self.when(row):
            return None
        before = len(problems)
        try:
            rid = self.record_id(row)
        except FieldProblem as p:
            problems.append(Reason(p.code, "record_id", p.message))
            rid = None
        if rid in (None, ""):
            problems.append(Reason("missing_record_id", "record_id", "the record id is empty"))
        data = _run_group(self.group, row, problems) or {}
        ids = [i for i in (ident(row, problems) for ident in self.identifiers) if i]
        if ids:
            data["identifiers"] = ids
        if self.person_source and "person_source" not in data:
            data["person_source"] = self.person_source
        if len(problems) > before:
            return None
        try:
            entity = self.model.model_validate(data)
        except ValidationError as e:
            for err in e.errors(include_url=False):
                loc = ".".join(str(p) for p in err["loc"]) or None
                problems.append(Reason("invalid_value", loc, f"{loc}: {err['msg']}"))
            return None
        return MappedEntity(self.type, str(rid), entity)


class RowMapper:
    """Maps raw rows to entities; collects every problem of a row, not just the first."""

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        tables = {k: dict(v) for k, v in mapping.spec.code_lists.items()}
        for name, ref in mapping.spec.reference.items():
            tables[name] = _load_reference(
                mapping, name, ref.file, ref.key, ref.value, ref.encoding
            )
        self.entities = [_Entity(e, mapping, tables) for e in mapping.spec.entities]
        updated = mapping.spec.updated_on
        self.updated_on = _Field("updated_on", updated, tables) if updated else None

    @property
    def columns(self) -> list[str]:
        """Every input column or path the mapping reads, in first-use order."""
        seen: dict[str, None] = {}

        def walk(obj: Any) -> None:
            if isinstance(obj, _Field):
                for c in obj.columns:
                    seen[c] = None
                if obj.spec.when:
                    seen[obj.spec.when.column] = None
            elif isinstance(obj, dict):
                for v in obj.values():
                    walk(v)

        if self.updated_on:
            walk(self.updated_on)
        for e, spec in zip(self.entities, self.mapping.spec.entities, strict=True):
            if spec.when:
                seen[spec.when.column] = None
            walk(e.record_id)
            walk(e.group)
            for i in e.identifiers:
                walk(i.value)
                if i.verified:
                    walk(i.verified)
        return list(seen)

    def __call__(self, row: Row) -> list[MappedEntity]:
        problems: list[Reason] = []
        out = [m for m in (e(row, problems) for e in self.entities) if m is not None]
        if self.updated_on is not None and out:
            try:
                updated = self.updated_on(row)
            except FieldProblem as p:
                problems.append(Reason(p.code, "updated_on", p.message))
            else:
                if updated is not None and not isinstance(updated, date):
                    problems.append(
                        Reason(
                            "invalid_date",
                            "updated_on",
                            "updated_on must be parsed with a date step",
                        )
                    )
                else:
                    out = [MappedEntity(m.entity_type, m.record_id, m.entity, updated) for m in out]
        if problems:
            raise RowRejected(problems)
        if not out:
            raise RowRejected([Reason("no_entity", None, "no entity of the mapping applies")])
        return out


def _load_reference(
    mapping: Mapping, name: str, file: str, key: str, value: str, encoding: str
) -> dict[str, Any]:
    path = (mapping.base_dir / file).resolve()
    try:
        with path.open(encoding=encoding, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise MappingError(f"reference {name}: cannot read {path}: {e.strerror}") from e
    if rows and (key not in rows[0] or value not in rows[0]):
        raise MappingError(f"reference {name}: {path} has no column {key!r} or {value!r}")
    return {r[key]: r[value] for r in rows}
