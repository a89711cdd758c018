"""Compile a mapping spec into a function from raw rows to canonical entities.

Rows are mapped a chunk at a time, column by column (each field's steps run over the whole
column), then each row's entities are assembled and validated against the canonical model.
Every problem of a row is collected, not just the first; a row with any problem is rejected
whole (decision 0001).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from nexo.adapters.fields import Columns, Field, Identifier, Reason, Row, condition, leaves
from nexo.adapters.reference import builtin_table, load_reference
from nexo.adapters.spec import EntitySpec, Mapping
from nexo.errors import MappingError
from nexo.model import ENTITY_MODELS, CanonicalModel, EntityType

if TYPE_CHECKING:
    from nexo.adapters.vector import PersonVector

__all__ = ["Finding", "MappedEntity", "Reason", "Row", "RowMapper", "RowRejected", "RowResult"]

MAX_RECORD_ID = 128  # the store's key column
_FACTS = {
    EntityType.JOB_SEEKER_REGISTRATION,
    EntityType.EMPLOYMENT_EPISODE,
    EntityType.PROGRAMME_PARTICIPATION,
    EntityType.BENEFIT_ENROLMENT,
}


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
        self.when = condition(spec.when)
        self.record_id = Field("record_id", spec.record_id or mapping.spec.record_id, tables)
        self.leaves = leaves((), spec.fields, tables)
        self.identifiers = [Identifier(i, tables) for i in spec.identifiers]
        self.person_source = mapping.spec.person_source if spec.type in _FACTS else None
        unknown = set(spec.fields) - set(self.model.model_fields)
        if unknown:
            raise MappingError(
                f"entity {spec.type}: no field(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(self.model.model_fields)}"
            )

    def run(
        self, cols: Columns, reasons: list[list[Reason]], findings: list[list[Finding]]
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
        self.updated_on = Field("updated_on", updated, self.tables) if updated else None

    @cached_property
    def vector(self) -> PersonVector | None:
        """The mapping compiled to map clean rows column-wise (``vector.py``), if it can be."""
        from nexo.adapters.vector import compile_person

        return compile_person(self)

    @property
    def columns(self) -> list[str]:
        """Every input column or path the mapping reads, in first-use order."""
        seen: dict[str, None] = {}

        def add(f: Field | None) -> None:
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
        cols = Columns(rows)
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
        values = self.entities[0].record_id.run(Columns(rows)).values
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
