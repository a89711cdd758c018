"""Checking a mapping: YAML syntax, the schema, and what the schema cannot say.

Every problem is reported with the line of the YAML file it is about, and all problems are
reported at once: parameters, syntax, schema (pydantic), then the cross-references the schema
cannot check (code lists and tables that exist, fields the canonical model has, reference files
and their columns, regular-expression groups).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from nexo.adapters.reference import BUILTIN_TABLES, reference_header
from nexo.adapters.spec import (
    EntitySpec,
    FieldSpec,
    FixedWidthFormat,
    MappingSpec,
)
from nexo.adapters.spec_steps import (
    CodeListStep,
    CrosswalkStep,
    DateStep,
    JoinStep,
    LookupStep,
    RegexArgs,
    RegexStep,
    TableRef,
)
from nexo.model import ENTITY_MODELS

Loc = tuple[int | str, ...]
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TYPE_LABEL = re.compile(r"^(~.*|[A-Z]\w*|str|int|float|bool|date|none|.*\[.*\]|function-.*)$")


def substitute(text: str, overrides: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """Replace ``${name}`` placeholders with the mapping's ``params`` or the given overrides."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return text, []  # reported by the full parse
    declared = data.get("params") if isinstance(data, dict) else None
    declared = declared if isinstance(declared, dict) else {}
    params = {str(k): str(v) for k, v in declared.items()}
    params.update(overrides or {})
    unknown = set(overrides or {}) - set(declared)
    problems = [f"parameter {name!r} is not declared under params" for name in sorted(unknown)]
    missing: list[str] = []

    def repl(m: re.Match[str]) -> str:
        if m.group(1) in params:
            return params[m.group(1)]
        missing.append(m.group(1))
        return m.group(0)

    out = []
    for n, line in enumerate(text.splitlines(keepends=True), start=1):
        if line.lstrip().startswith("#"):
            out.append(line)
            continue
        before = len(missing)
        out.append(_PLACEHOLDER.sub(repl, line))
        problems += [
            f"line {n}: ${{{name}}} has no value under params" for name in missing[before:]
        ]
    return "".join(out), problems


def _walk(node: yaml.Node | None, loc: Loc) -> tuple[int | None, list[str]]:
    """Follow a location through the YAML node tree: the line reached and the path to print.

    Locations of pydantic errors also hold union members and tags (``str``, ``~date``); those
    are not keys of the file and are left out of the printed path.
    """
    line = node.start_mark.line + 1 if node is not None else None
    path: list[str] = []
    for i, key in enumerate(loc):
        found = None
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            found = node.value[key] if key < len(node.value) else None
        if found is not None:
            node = found
            line = node.start_mark.line + 1
            path.append(str(key))
        elif i == len(loc) - 1 and not _TYPE_LABEL.match(str(key)):
            path.append(str(key))  # a key that is missing from the file
    return line, path


def _where(node: yaml.Node | None, loc: Loc) -> str:
    line, path = _walk(node, loc)
    return f"{f'line {line}: ' if line else ''}{'.'.join(path) or '(top)'}"


def _message(node: yaml.Node | None, loc: Loc, msg: str) -> str:
    return f"{_where(node, loc)}: {msg}"


def _schema_problems(node: yaml.Node | None, error: ValidationError) -> list[str]:
    """One line per place; of the alternatives of a union, the most specific message."""
    by_place: dict[str, list[tuple[str, str]]] = {}
    for err in error.errors(include_url=False):
        msg = str(err["msg"]).removeprefix("Value error, ")
        by_place.setdefault(_where(node, tuple(err["loc"])), []).append((err["type"], msg))
    out = []
    for where, errs in by_place.items():
        specific = [m for t, m in errs if not t.endswith("_type")] or [m for _, m in errs]
        msgs = list(dict.fromkeys(specific))
        text = msgs[0] + "".join(", or " + m.removeprefix("Input should be ") for m in msgs[1:])
        out.append(f"{where}: {text}")
    return out


def check_text(
    text: str, params: dict[str, str] | None = None, base_dir: Path | None = None
) -> tuple[MappingSpec | None, list[str]]:
    """Every problem of a mapping text; the spec when the schema accepts it."""
    text, problems = substitute(text, params)
    if problems:
        return None, problems
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        return None, [f"{where}not valid YAML: {getattr(e, 'problem', None) or e}"]
    if not isinstance(data, dict):
        return None, ["line 1: a mapping must be a YAML object with name, agency, source, ..."]
    try:
        spec = MappingSpec.model_validate(data)
    except ValidationError as e:
        found = _schema_problems(node, e)
        found += [_message(node, loc, msg) for loc, msg in partial_problems(data)]
        return None, _by_line(found)
    found = [_message(node, loc, msg) for loc, msg in semantic_problems(spec, base_dir)]
    return spec, _by_line(found)


def _by_line(problems: list[str]) -> list[str]:
    def line(p: str) -> int:
        m = re.match(r"line (\d+):", p)
        return int(m.group(1)) if m else 0

    return sorted(dict.fromkeys(problems), key=line)


# ------------------------------------------------------------------ cross-references


def _fields(spec: MappingSpec) -> Iterator[tuple[Loc, str | FieldSpec]]:
    """Every field of the mapping with its location."""
    yield ("record_id",), spec.record_id
    if spec.updated_on is not None:
        yield ("updated_on",), spec.updated_on
    for i, entity in enumerate(spec.entities):
        yield from _entity_fields(i, entity)


def _entity_fields(i: int, entity: EntitySpec) -> Iterator[tuple[Loc, str | FieldSpec]]:
    if entity.record_id is not None:
        yield ("entities", i, "record_id"), entity.record_id
    yield from _group(("entities", i, "fields"), entity.fields)
    for j, ident in enumerate(entity.identifiers):
        yield ("entities", i, "identifiers", j, "value"), ident.value
        if not isinstance(ident.verified, bool):
            yield ("entities", i, "identifiers", j, "verified"), ident.verified


def _group(loc: Loc, group: dict[str, Any]) -> Iterator[tuple[Loc, str | FieldSpec]]:
    for key, sub in group.items():
        if isinstance(sub, str | FieldSpec):
            yield (*loc, key), sub
        elif isinstance(sub, dict):
            yield from _group((*loc, key), sub)


def _submodel(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The model of a nested field (``address`` → ``Address``), if it is one."""
    annotation = model.model_fields[name].annotation
    candidates = (
        typing.get_args(annotation)
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union
        else (annotation,)
    )
    return next(
        (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)),
        None,
    )


def _field_names(
    loc: Loc, model: type[BaseModel], group: dict[str, Any]
) -> Iterator[tuple[Loc, str]]:
    for key, sub in group.items():
        if key not in model.model_fields or key == "identifiers":
            known = ", ".join(f for f in model.model_fields if f != "identifiers")
            yield (*loc, key), f"{model.__name__} has no field {key!r}; it has: {known}"
        elif isinstance(sub, dict):
            inner = _submodel(model, key)
            if inner is None:
                yield (*loc, key), f"{key!r} is a single value, not a group of fields"
            else:
                yield from _field_names((*loc, key), inner, sub)


def _step_problems(loc: Loc, field: FieldSpec, tables: set[str]) -> Iterator[tuple[Loc, str]]:
    if isinstance(field.from_, list) and not any(isinstance(s, JoinStep) for s in field.steps):
        yield (*loc, "from"), "several 'from' columns need a join step to make one value"
    for k, step in enumerate(field.steps):
        if isinstance(step, CodeListStep | CrosswalkStep | LookupStep):
            kind = next(iter(type(step).model_fields))
            arg = getattr(step, kind)
            name = arg.table if isinstance(arg, TableRef) else arg
            if isinstance(name, str) and name not in tables:
                yield (
                    (*loc, "steps", k, kind),
                    (
                        f"no code list or reference table named {name!r}; defined: "
                        f"{', '.join(sorted(tables)) or '(none)'}"
                    ),
                )
        elif isinstance(step, RegexStep):
            args = step.regex if isinstance(step.regex, RegexArgs) else None
            pattern, group = (args.pattern, args.group) if args else (str(step.regex), 1)
            if re.compile(pattern).groups < group:
                yield (*loc, "steps", k, "regex"), f"pattern {pattern!r} has no group {group}"


def _entity_problems(i: int, entity: EntitySpec, tables: set[str]) -> list[tuple[Loc, str]]:
    out = list(_field_names(("entities", i, "fields"), ENTITY_MODELS[entity.type], entity.fields))
    for loc, field in _entity_fields(i, entity):
        if isinstance(field, FieldSpec):
            out.extend(_step_problems(loc, field, tables))
    return out


def _code_list_keys(code_lists: dict[str, Any]) -> list[tuple[Loc, str]]:
    return [
        (("code_lists", name, key), f'code {key!r} is not text: quote it ("01" is not 01)')
        for name, table in code_lists.items()
        if isinstance(table, dict)
        for key in table
        if not isinstance(key, str)
    ]


def partial_problems(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Cross-reference problems of the entities that are valid on their own, so that a
    mapping with schema errors still gets every problem reported at once."""
    out: list[tuple[Loc, str]] = []
    tables = set(BUILTIN_TABLES)
    for key in ("code_lists", "reference"):
        if isinstance(data.get(key), dict):
            tables |= {str(k) for k in data[key]}
    if isinstance(data.get("code_lists"), dict):
        out += _code_list_keys(data["code_lists"])
    entities = data.get("entities")
    for i, raw in enumerate(entities if isinstance(entities, list) else []):
        try:
            entity = EntitySpec.model_validate(raw)
        except ValidationError:
            continue  # its schema problems are reported
        out += _entity_problems(i, entity, tables)
    return out


def semantic_problems(spec: MappingSpec, base_dir: Path | None) -> list[tuple[Loc, str]]:
    """What the schema cannot check; each problem with the location it is about."""
    tables = set(spec.code_lists) | set(spec.reference) | set(BUILTIN_TABLES)
    out = _code_list_keys(spec.code_lists)
    for loc, field in _fields(spec):
        if loc[0] != "entities" and isinstance(field, FieldSpec):
            out.extend(_step_problems(loc, field, tables))
    for i, entity in enumerate(spec.entities):
        out.extend(_entity_problems(i, entity, tables))
    updated = spec.updated_on
    if isinstance(updated, str) or (
        isinstance(updated, FieldSpec) and not any(isinstance(s, DateStep) for s in updated.steps)
    ):
        out.append((("updated_on",), "updated_on needs a date step to read the date"))
    if isinstance(spec.format, FixedWidthFormat) and spec.format.record_length:
        for j, col in enumerate(spec.format.columns):
            if col.start - 1 + col.width > spec.format.record_length:
                out.append(
                    (("format", "columns", j), f"column {col.name} ends after record_length")
                )
    for name, ref in spec.reference.items():
        path = (base_dir or Path.cwd()) / ref.file
        try:
            header = reference_header(path, ref.encoding)
        except OSError as e:
            out.append((("reference", name, "file"), f"cannot read {ref.file}: {e.strerror}"))
            continue
        except UnicodeDecodeError as e:
            out.append((("reference", name, "file"), f"{ref.file} is not {ref.encoding}: {e}"))
            continue
        for key in ("key", "value"):
            if getattr(ref, key) not in header:
                out.append(
                    (
                        ("reference", name, key),
                        f"{ref.file} has no column {getattr(ref, key)!r}; it has: "
                        + ", ".join(header),
                    )
                )
    return out
