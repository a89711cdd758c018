"""The mapping specification: how one agency export becomes canonical records.

A mapping is a YAML file (see ``docs/mapping.md``); its JSON Schema ships with Nexo
(``nexo mapping schema``). ``load_mapping`` validates it and reports every problem with its
line number (``nexo.adapters.spec_check``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator
from typing_extensions import TypeAliasType

from nexo.adapters.spec_steps import Scalar, Step, _Spec
from nexo.errors import MappingError, UsageError
from nexo.model.codes import EntityType
from nexo.model.identifier import IdentifierScheme

FIELD_KEYS = frozenset({"from", "value", "steps", "default", "required", "when"})


class Condition(_Spec):
    """A test on one input column; all given tests must hold."""

    column: str
    equals: str | None = None
    not_equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    not_empty: bool | None = None
    matches: str | None = None

    @field_validator("matches")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        from nexo.adapters.spec_steps import _compiles

        return _compiles(v) if v is not None else None


class FieldSpec(_Spec):
    """Where a value comes from and how it is transformed."""

    from_: str | list[str] | None = Field(
        default=None, alias="from", description="An input column (or path), or several."
    )
    value: Scalar | None = Field(default=None, description="A constant instead of a column.")
    steps: list[Step] = Field(default_factory=list, description="Transforms, in order.")
    default: Scalar | None = Field(default=None, description="Used when the result is empty.")
    required: bool = Field(default=False, description="An empty result rejects the row.")
    when: Condition | None = Field(default=None, description="When false, the field is empty.")

    @model_validator(mode="after")
    def _source(self) -> FieldSpec:
        if self.from_ is None and self.value is None:
            raise ValueError("a field needs 'from' (input column) or 'value' (a constant)")
        return self


FieldRef = Annotated[str | FieldSpec, Field(union_mode="left_to_right")]


def _field_kind(value: Any) -> str:
    if isinstance(value, str):
        return "~column"
    if isinstance(value, FieldSpec) or (isinstance(value, dict) and FIELD_KEYS & value.keys()):
        return "~field"
    if isinstance(value, dict):
        return "~group"
    return "~constant"


if TYPE_CHECKING:
    FieldValue = Any
else:
    FieldValue = TypeAliasType(
        "FieldValue",
        Annotated[
            Annotated[str, Tag("~column")]
            | Annotated[FieldSpec, Tag("~field")]
            | Annotated[dict[str, "FieldValue"], Tag("~group")]
            | Annotated[Scalar, Tag("~constant")],
            Discriminator(_field_kind),
        ],
    )
"""A column name, a field object, a group of nested fields, or a constant."""


class IdentifierSpec(_Spec):
    scheme: IdentifierScheme
    value: FieldRef
    verified: Annotated[bool | FieldRef, Field(union_mode="left_to_right")] = False
    on_invalid: Literal["flag", "drop", "quarantine"] = Field(
        default="flag",
        description="A bad check digit: keep it flagged (a quality finding), drop it, or reject "
        "the row.",
    )


class EntitySpec(_Spec):
    type: EntityType
    record_id: FieldRef | None = None
    when: Condition | None = None
    fields: dict[str, FieldValue] = Field(default_factory=dict)
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
    type: Literal["text", "packed"] = Field(
        default="text",
        description="text, or packed: a packed-decimal (COMP-3) number of `width` bytes, given "
        "to the mapping as decimal text (records of bytes in a single-byte code page only)",
    )
    scale: int = Field(default=0, ge=0, le=30, description="packed: digits after the point")


def _known_encoding(v: str) -> str:
    import codecs

    try:
        codecs.lookup(v)
    except LookupError:
        raise ValueError(f"unknown encoding {v!r}") from None
    return v


class _Format(_Spec):
    encoding: str = "utf-8"
    optional_columns: list[str] = Field(
        default_factory=list,
        description="Input columns the mapping reads that an input may lack: a missing one "
        "reads as empty (any other missing column stops the ingest before the first row).",
    )

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str) -> str:
        return _known_encoding(v)


class CsvFormat(_Format):
    type: Literal["csv"]
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)
    quoting: Literal["standard", "none"] = Field(
        default="standard", description="'none': quote characters are ordinary text"
    )
    escapechar: str | None = Field(default=None, min_length=1, max_length=1)
    header: bool = True
    columns: list[str] | None = Field(default=None, description="Names, when there is no header")
    max_record_lines: int = Field(
        default=100,
        ge=1,
        description="A quoted field still open after this many lines is an unbalanced quote: "
        "its first line is quarantined and reading goes on with the next line.",
    )


EBCDIC = frozenset({"cp037", "cp273", "cp424", "cp500", "cp875", "cp1026", "cp1140"})


class FixedWidthFormat(_Format):
    type: Literal["fixed_width"]
    columns: list[Column] = Field(min_length=1)
    record_length: int | None = Field(
        default=None,
        ge=1,
        description="Records of this many bytes without line ends (EBCDIC exports); default: "
        "the layout's length for EBCDIC code pages, line ends otherwise.",
    )

    @model_validator(mode="after")
    def _packed_needs_bytes(self) -> FixedWidthFormat:
        packed = [c.name for c in self.columns if c.type == "packed"]
        if not packed:
            return self
        import codecs

        try:  # every byte one character and back: the packed bytes survive the raw text
            single_byte = len(bytes(range(256)).decode(self.encoding)) == 256
        except UnicodeDecodeError:
            single_byte = False
        ebcdic = codecs.lookup(self.encoding).name in EBCDIC
        if not single_byte or not (ebcdic or self.record_length):
            raise ValueError(
                f"packed column(s) {', '.join(packed)} need records of bytes in a single-byte "
                f"code page: an EBCDIC encoding, or record_length with one such as latin-1 "
                f"(not {self.encoding})"
            )
        return self


class XmlFormat(_Format):
    type: Literal["xml"]
    record_path: str = Field(description="The element that holds one record (with prefix)")
    namespaces: dict[str, str] = Field(default_factory=dict)


class JsonFormat(_Format):
    type: Literal["json"]
    record_path: str = Field(
        default="",
        description="Dotted path to the array of records ('' for a top-level array), e.g. "
        "'data.persons'",
    )


class NdjsonFormat(_Format):
    type: Literal["ndjson"]
    record_path: str = Field(
        default="", description="Dotted path to the record inside each line ('' for the line)"
    )


class XlsxFormat(_Format):
    type: Literal["xlsx"]
    sheet: str | None = Field(default=None, description="Sheet name; default the first sheet")
    header: bool = True
    columns: list[str] | None = Field(default=None, description="Names, when there is no header")


class ParquetFormat(_Format):
    type: Literal["parquet"]
    batch_rows: int = Field(default=10_000, ge=1, description="Rows read per batch")


class SqlFormat(_Format):
    type: Literal["sql"]
    query: str = Field(
        min_length=1,
        description="A SELECT against the agency database; give it an ORDER BY so that a "
        "resumed ingest skips the same rows.",
    )
    batch_rows: int = Field(default=10_000, ge=1, description="Rows fetched per round trip")


FormatSpec = Annotated[
    CsvFormat
    | FixedWidthFormat
    | XmlFormat
    | JsonFormat
    | NdjsonFormat
    | XlsxFormat
    | ParquetFormat
    | SqlFormat,
    Field(discriminator="type"),
]
FORMAT_TYPES = ("csv", "fixed_width", "xml", "json", "ndjson", "xlsx", "parquet", "sql")


class ReferenceSpec(_Spec):
    """A lookup table from a CSV file next to the mapping (e.g. a crosswalk)."""

    file: str = Field(description="CSV file, relative to the mapping file")
    key: str
    value: str
    encoding: str = "utf-8"

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str) -> str:
        return _known_encoding(v)


Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=64)]


class MappingSpec(_Spec):
    nexo_mapping: Literal[1] = Field(default=1, description="Version of the mapping language")
    name: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=51, description="Stored with every record")
    description: str | None = None
    agency: Name
    source: Name
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


def problems_of(
    text: str, params: dict[str, str] | None = None, base_dir: Path | None = None
) -> tuple[MappingSpec | None, list[str]]:
    """Parse and check a mapping; return the spec (if valid) and every problem found."""
    from nexo.adapters.spec_check import check_text

    return check_text(text, params, base_dir)


def substitute(text: str, overrides: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """Replace ``${name}`` placeholders with the mapping's ``params`` or the given overrides."""
    from nexo.adapters.spec_check import substitute as _substitute

    return _substitute(text, overrides)


def load_mapping(path: Path, params: dict[str, str] | None = None) -> Mapping:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(
            f"cannot read mapping {path}: {e.strerror}", hint="give the path of a mapping YAML file"
        ) from e
    except UnicodeDecodeError as e:
        raise UsageError(f"mapping {path} is not UTF-8 text: {e.reason}") from e
    spec, problems = problems_of(text, params, path.parent)
    if spec is None or problems:
        raise MappingError(
            f"{path} is not a valid mapping:\n  " + "\n  ".join(problems),
            hint=f"run: nexo mapping check {path}",
        )
    return Mapping(spec, path, substitute(text, params)[0])
