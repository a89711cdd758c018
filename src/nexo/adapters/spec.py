"""The mapping specification: how one agency export becomes canonical records.

A mapping is a YAML file (see ``docs/mapping.md``). ``load_mapping`` validates it and reports
every problem with its line number.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from nexo.errors import MappingError, UsageError
from nexo.model.codes import EntityType
from nexo.model.identifier import IdentifierScheme


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Step = str | dict[str, Any]
"""A transform: a bare name (``trim``) or a one-key mapping (``{date: "%d/%m/%Y"}``)."""


class Condition(_Spec):
    """A test on one input column; all given tests must hold."""

    column: str
    equals: str | None = None
    not_equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    not_empty: bool | None = None
    matches: str | None = None


class FieldSpec(_Spec):
    """Where a value comes from and how it is transformed."""

    from_: str | list[str] | None = Field(default=None, alias="from")
    value: Any = None
    steps: list[Step] = Field(default_factory=list)
    default: Any = None
    required: bool = False
    when: Condition | None = None

    @model_validator(mode="after")
    def _source(self) -> FieldSpec:
        if self.from_ is None and self.value is None:
            raise ValueError("a field needs 'from' (input column) or 'value' (a constant)")
        return self


FieldRef = Annotated[str | FieldSpec, Field(union_mode="left_to_right")]


class IdentifierSpec(_Spec):
    scheme: IdentifierScheme
    value: FieldRef
    verified: FieldRef | bool = False
    on_invalid: Literal["flag", "drop", "quarantine"] = Field(
        default="flag",
        description="A bad check digit: keep it flagged (a quality finding), drop it, or reject "
        "the row.",
    )


class EntitySpec(_Spec):
    type: EntityType
    record_id: FieldRef | None = None
    when: Condition | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    identifiers: list[IdentifierSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _identifiers_on_persons(self) -> EntitySpec:
        if self.identifiers and self.type is not EntityType.PERSON:
            raise ValueError("identifiers can only be mapped on a person entity")
        return self


class Column(_Spec):
    name: str
    start: int = Field(ge=1, description="1-based position of the first character")
    width: int = Field(ge=1)


class FormatSpec(_Spec):
    type: Literal["csv", "fixed_width", "xml", "json", "ndjson", "xlsx", "parquet", "sql"]
    encoding: str = "utf-8"
    # csv
    delimiter: str = ","
    quotechar: str = '"'
    header: bool = True
    columns: list[str] | list[Column] | None = None
    # xml / json
    record_path: str | None = None
    namespaces: dict[str, str] = Field(default_factory=dict)
    # xlsx
    sheet: str | None = None
    # sql
    query: str | None = None

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str) -> str:
        import codecs

        try:
            codecs.lookup(v)
        except LookupError as e:
            raise ValueError(f"unknown encoding {v!r}") from e
        return v

    @model_validator(mode="after")
    def _per_type(self) -> FormatSpec:
        if self.type == "fixed_width":
            if not self.columns or not all(isinstance(c, Column) for c in self.columns):
                raise ValueError("fixed_width needs 'columns' with name, start and width")
        if self.type == "xml" and not self.record_path:
            raise ValueError("xml needs 'record_path' (the element that holds one record)")
        if self.type == "csv" and len(self.delimiter) != 1:
            raise ValueError("csv 'delimiter' must be one character")
        return self


class ReferenceSpec(_Spec):
    """A lookup table from a CSV file next to the mapping (e.g. a crosswalk)."""

    file: str
    key: str
    value: str
    encoding: str = "utf-8"


class MappingSpec(_Spec):
    nexo_mapping: Literal[1] = 1
    name: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=64)
    description: str | None = None
    agency: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=64)
    source: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=64)
    person_source: str | None = Field(
        default=None, description="Source of the persons that facts in this mapping refer to."
    )
    params: dict[str, str] = Field(
        default_factory=dict, description="Defaults for ${name} placeholders in this file."
    )
    format: FormatSpec
    record_id: FieldRef
    updated_on: FieldRef | None = Field(
        default=None, description="The agency's own last-update date of the row's records."
    )
    code_lists: dict[str, dict[str, Any]] = Field(default_factory=dict)
    reference: dict[str, ReferenceSpec] = Field(default_factory=dict)
    entities: list[EntitySpec] = Field(min_length=1)

    @property
    def primary_entity(self) -> EntityType:
        return self.entities[0].type


class Mapping:
    """A loaded mapping: its spec, where it came from, and a fingerprint of its content."""

    def __init__(self, spec: MappingSpec, path: Path | None, text: str) -> None:
        self.spec, self.path, self.text = spec, path, text
        self.fingerprint = hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        """Stored with each record: the declared version and the content fingerprint."""
        return f"{self.spec.version}+{self.fingerprint}"

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Follow a pydantic error location through the YAML node tree to a line number."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == key), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            continue
        line = node.start_mark.line + 1
    return line


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute(text: str, overrides: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """Replace ``${name}`` placeholders with the mapping's ``params`` or the given overrides."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return text, []  # reported by the full parse
    params = dict(data.get("params") or {}) if isinstance(data, dict) else {}
    params.update(overrides or {})
    unknown = set(overrides or {}) - set(data.get("params") or {} if isinstance(data, dict) else {})
    problems = [f"parameter {name!r} is not declared under params" for name in sorted(unknown)]
    missing: list[str] = []

    def repl(m: re.Match[str]) -> str:
        if m.group(1) in params:
            return str(params[m.group(1)])
        missing.append(m.group(1))
        return m.group(0)

    lines = text.splitlines(keepends=True)
    out = []
    for n, line in enumerate(lines, start=1):
        if line.lstrip().startswith("#"):
            out.append(line)
            continue
        before = len(missing)
        out.append(_PLACEHOLDER.sub(repl, line))
        problems += [
            f"line {n}: ${{{name}}} has no value under params" for name in missing[before:]
        ]
    return "".join(out), problems


def problems_of(
    text: str, params: dict[str, str] | None = None
) -> tuple[MappingSpec | None, list[str]]:
    """Parse and validate a mapping; return the spec (if valid) and every problem found."""
    text, param_problems = substitute(text, params)
    if param_problems:
        return None, param_problems
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        return None, [f"{where}not valid YAML: {getattr(e, 'problem', e)}"]
    if not isinstance(data, dict):
        return None, ["line 1: a mapping must be a YAML object with name, agency, source, ..."]
    try:
        return MappingSpec.model_validate(data), []
    except ValidationError as e:
        out = []
        for err in e.errors():
            loc = tuple(err["loc"])
            line = _line_of(node, loc)
            path = ".".join(str(p) for p in loc if not str(p).startswith("function-"))
            out.append(f"line {line}: {path}: {err['msg']}")
        return None, out


def builtin_mappings() -> dict[str, Path]:
    """Mappings shipped with Nexo, by name (``person-csv``)."""
    from importlib import resources

    folder = resources.files("nexo.mappings") / "builtin"
    return {
        p.name.removesuffix(".yaml"): Path(str(p))
        for p in folder.iterdir()
        if p.name.endswith(".yaml")
    }


def resolve_mapping(value: str | Path) -> Path:
    """A mapping file path, or the name of a built-in mapping."""
    path = Path(value)
    if not path.exists() and str(value) in builtin_mappings():
        return builtin_mappings()[str(value)]
    return path


def load_mapping(path: Path, params: dict[str, str] | None = None) -> Mapping:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(
            f"cannot read mapping {path}: {e.strerror}", hint="give the path of a mapping YAML file"
        ) from e
    spec, problems = problems_of(text, params)
    if spec is None:
        raise MappingError(
            f"{path} is not a valid mapping:\n  " + "\n  ".join(problems),
            hint=f"run: nexo mapping check {path}",
        )
    return Mapping(spec, path, substitute(text, params)[0])
