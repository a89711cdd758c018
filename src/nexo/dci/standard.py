"""The DCI OpenAPI documents shipped with Nexo, read leniently, and JSON-schema checks over them.

The released files (``spec/*.yaml``, unmodified) have known defects, corrected when loaded
(:mod:`nexo.dci.corrections`). Everything else is read as written: incoming messages are checked
against these schemas at run time, and everything Nexo sends in the contract tests.

OpenAPI 3.0 schemas are JSON Schema draft 4 plus a few annotations (``example``, ``format``),
so draft 4 is used; ``$ref`` siblings are ignored, as both specifications say.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft4Validator, FormatChecker, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from nexo.dci.corrections import CORRECTIONS, Document, Json, at, raw

__all__ = ["CORRECTIONS", "Document", "SchemaProblem", "load", "problems", "validator"]


@cache
def _loaded(document: Document) -> Json:
    doc = raw(document)
    for c in CORRECTIONS:
        if c.document is document:
            c.apply(doc)
    return doc


def load(document: Document) -> Json:
    """The document as Nexo reads it (corrections applied); a copy the caller may change."""
    return copy.deepcopy(_loaded(document))


# --------------------------------------------------------------------------- formats

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def is_date_time(value: object) -> bool:
    """An ISO 8601 / RFC 3339 time stamp *with* its time zone, as DCI requires."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        return False
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


def is_uri(value: object) -> bool:
    """An absolute URI: a scheme, and for http(s) a host."""
    if not isinstance(value, str) or not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value):
        return False
    if any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return bool(parts.netloc) if parts.scheme.lower() in ("http", "https") else True


FORMATS = FormatChecker(formats=())
FORMATS.checks("date-time")(is_date_time)
FORMATS.checks("uri")(is_uri)


# --------------------------------------------------------------------------- validation


@lru_cache(maxsize=1)
def _registry() -> Registry[Any]:
    registry: Registry[Any] = Registry()
    for document in Document:
        resource = Resource.from_contents(_loaded(document), default_specification=DRAFT4)
        registry = registry.with_resource(document.uri, resource)
    return registry


@cache
def validator(document: Document, pointer: str) -> Draft4Validator:
    """A validator for the schema at ``pointer`` (``/components/schemas/SearchRequest``...)."""
    at(_loaded(document), pointer)  # fail early on a wrong pointer
    schema = {"$ref": f"{document.uri}#{pointer}"}
    return Draft4Validator(schema, registry=_registry(), format_checker=FORMATS)


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One way an instance breaks a schema: where (``header.message_ts``) and how."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"


def _path(parts: Iterator[Any] | Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def problems(
    document: Document, pointer: str, instance: Any, limit: int = 20
) -> list[SchemaProblem]:
    """Every problem (up to ``limit``) of ``instance`` against the schema at ``pointer``."""
    found: list[SchemaProblem] = []
    for error in validator(document, pointer).iter_errors(instance):
        for leaf in _leaves(error):
            found.append(SchemaProblem(_path(leaf.absolute_path), describe(leaf)))
            if len(found) >= limit:
                return found
    return found


def describe(error: ValidationError) -> str:
    """What rule the value breaks, without repeating the value (it may be personal data)."""
    kind, rule = str(error.validator), error.validator_value
    if kind == "required":
        return error.message  # names the missing property, not a value
    if kind == "format" and rule == "date-time":
        return "must be a date-time with its time zone (e.g. 2026-06-30T10:00:00+02:00)"
    if kind == "enum" and isinstance(rule, list):
        return "must be one of " + ", ".join(repr(v) for v in rule)
    rules = {
        "type": f"must be of type {rule}",
        "maxLength": f"must be at most {rule} characters",
        "minLength": f"must be at least {rule} characters",
        "pattern": f"must match {rule}",
        "format": f"must be a {rule}",
        "anyOf": "matches none of the forms allowed here",
        "oneOf": "must match exactly one of the forms allowed here",
        "maximum": f"must be at most {rule}",
        "minimum": f"must be at least {rule}",
    }
    return rules.get(kind, f"breaks the {kind} rule of the schema")


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """The errors that explain ``error``: inside anyOf/oneOf, those of the alternative that
    got furthest into the instance (the one the sender most likely meant)."""
    if not error.context:
        yield error
        return
    groups: dict[Any, list[ValidationError]] = defaultdict(list)
    for e in error.context:
        groups[e.relative_schema_path[0]].append(e)
    best = max(groups.values(), key=lambda g: max(len(e.absolute_path) for e in g))
    for e in best:
        yield from _leaves(e)


# --------------------------------------------------------------------------- operations


def request_pointer(path: str, method: str = "post") -> str:
    """JSON pointer of an operation's JSON request body schema (``/registry/sync/search``)."""
    escaped = path.replace("~", "~0").replace("/", "~1")
    return f"/paths/{escaped}/{method}/requestBody/content/application~1json/schema"


def response_pointer(document: Document, path: str, status: int, method: str = "post") -> str:
    """JSON pointer of the JSON schema of the response an operation documents for ``status``
    (falling back to ``default``), following a ``$ref`` to ``components/responses``."""
    escaped = path.replace("~", "~0").replace("/", "~1")
    responses = at(_loaded(document), f"/paths/{escaped}/{method}/responses")
    key = str(status) if str(status) in responses else "default"
    base = f"/paths/{escaped}/{method}/responses/{key}"
    ref = responses[key].get("$ref")
    if ref:
        base = ref.lstrip("#")
    return f"{base}/content/application~1json/schema"


def has_operation(document: Document, path: str, method: str = "post") -> bool:
    """Whether ``document`` defines ``method`` on ``path``."""
    return method in _loaded(document).get("paths", {}).get(path, {})
