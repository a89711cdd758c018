"""The DCI OpenAPI documents shipped with Nexo, read leniently, and JSON-schema checks over them.

The released files (``spec/*.yaml``, unmodified) have known defects. :data:`CORRECTIONS` lists
every change Nexo applies when it loads them, each with the JSON pointer it touches and why; the
files on disk stay exactly as released. Everything else is read as written: Nexo's requests and
responses are checked against these schemas at run time (requests) and in the contract tests
(everything it sends).

OpenAPI 3.0 schemas are JSON Schema draft 4 plus a few annotations (``example``, ``format``),
so draft 4 is used; ``$ref`` siblings are ignored, as both specifications say.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from typing import Any, cast
from urllib.parse import urlsplit

import yaml
from jsonschema import Draft4Validator, FormatChecker, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

Json = dict[str, Any]


class Document(StrEnum):
    """A DCI API file, by the name it was released under."""

    SOCIAL = "social_api_v1.0.0.yaml"
    CORE = "registry_core_api_v1.0.0.yaml"
    IBR = "ibr_api_v1.0.0.yaml"
    AUTHZ = "authz_core_api_v1.0.0.yaml"
    JWKS = "jwks_core_api_v1.0.0.yaml"

    @property
    def uri(self) -> str:
        return f"urn:nexo:dci:{self.name.lower()}"


# --------------------------------------------------------------------------- corrections


@dataclass(frozen=True, slots=True)
class Correction:
    document: Document
    pointer: str
    reason: str
    apply: Callable[[Json], None]


def _at(doc: Json, pointer: str) -> Any:
    node: Any = doc
    for raw in pointer.lstrip("/").split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _refs(node: Any) -> Iterator[dict[str, Any]]:
    """Every object holding a ``$ref`` in ``node``, depth first."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _set(pointer: str, key: str, value: Any) -> Callable[[Json], None]:
    def apply(doc: Json) -> None:
        _at(doc, pointer)[key] = value

    return apply


def _rename(pointer: str, old: str, new: str) -> Callable[[Json], None]:
    def apply(doc: Json) -> None:
        node = _at(doc, pointer)
        node[new] = node.pop(old)

    return apply


def _walk(doc: Json, pointer: str) -> str | None:
    """The pointer of the node ``pointer`` leads to when each ``$ref`` on the way is followed,
    or None when it leads nowhere."""
    node: Any = doc
    where: list[str] = []
    for raw in pointer.lstrip("/").split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        while isinstance(node, dict) and key not in node and isinstance(node.get("$ref"), str):
            target = node["$ref"]
            if not target.startswith("#/"):
                return None
            where = target[2:].split("/")
            node = _at(doc, target[1:])
        try:
            node = node[int(key)] if isinstance(node, list) else node[key]
        except (KeyError, IndexError, ValueError, TypeError):
            return None
        where.append(raw)
    return "/" + "/".join(where)


def _reroute_refs(doc: Json) -> None:
    for holder in _refs(doc):
        ref = holder["$ref"]
        if not ref.startswith("#/"):
            continue
        try:
            _at(doc, ref[1:])
        except (KeyError, IndexError, ValueError, TypeError):
            target = _walk(doc, ref[1:])
            if target is None:
                raise ValueError(f"unresolvable reference {ref}") from None
            holder["$ref"] = "#" + target


def _add_enum(pointer: str, value: str) -> Callable[[Json], None]:
    def apply(doc: Json) -> None:
        node = _at(doc, pointer)
        if value not in node["enum"]:
            node["enum"] = [*node["enum"], value]

    return apply


def _both(*steps: Callable[[Json], None]) -> Callable[[Json], None]:
    def apply(doc: Json) -> None:
        for step in steps:
            step(doc)

    return apply


def _one_of_to_any_of(pointer: str) -> Callable[[Json], None]:
    def apply(doc: Json) -> None:
        node = _at(doc, pointer)
        node["anyOf"] = node.pop("oneOf")
        old, new = f"#{pointer}/oneOf/", f"#{pointer}/anyOf/"
        for holder in _refs(doc):  # references into the renamed list follow it
            if holder["$ref"].startswith(old):
                holder["$ref"] = new + holder["$ref"][len(old) :]

    return apply


_SOCIAL_QUERY = (
    "/components/schemas/SearchRequest/properties/search_request/items/properties/"
    "search_criteria/properties/query"
)
_SOCIAL_VALUE = f"{_SOCIAL_QUERY}/anyOf/1/properties/value/allOf/1"

_ATTRIBUTE_VALUE = (
    "/components/schemas/TxnStatusRequest/properties/txnstatus_request/properties/attribute_value"
)
_SOCIAL_TXN_TYPES = (
    "/components/schemas/TxnStatusRequest/properties/txnstatus_request/properties/txn_type",
    "/components/schemas/TxnStatusResponse/properties/txnstatus_response/properties/txn_type",
)

_THROUGH_REF = (
    "references whose JSON pointer passes through a $ref (into the request body of "
    "/registry/search or /registry/txn/on-status) cannot be resolved; they are rewritten to "
    "the schema the pointer leads to when the $ref is followed"
)

CORRECTIONS: tuple[Correction, ...] = (
    Correction(Document.SOCIAL, "(several $ref)", _THROUGH_REF, _reroute_refs),
    Correction(Document.IBR, "(several $ref)", _THROUGH_REF, _reroute_refs),
    Correction(
        Document.SOCIAL,
        "/info/version",
        "a YAML slip merged info.version into info.description; restore it",
        _set("/info", "version", "1.0.0"),
    ),
    Correction(
        Document.IBR,
        "/components/securitySchemas",
        "misspelt securitySchemes",
        _rename("/components", "securitySchemas", "securitySchemes"),
    ),
    Correction(
        Document.SOCIAL,
        _SOCIAL_QUERY,
        "oneOf of query forms that overlap (every expression query also matches the "
        "identifier form, whose value may be an object): no expression query could be valid; "
        "read as anyOf, the query_type says which form is meant",
        _one_of_to_any_of(_SOCIAL_QUERY),
    ),
    Correction(
        Document.SOCIAL,
        _SOCIAL_VALUE,
        "attribute value oneOf [string, integer, number, boolean, object]: every integer is "
        "also a number, so no integer value could be valid; read as anyOf",
        _one_of_to_any_of(_SOCIAL_VALUE),
    ),
    Correction(
        Document.SOCIAL,
        "/components/schemas/TxnStatusRequest/properties/txnstatus_request/properties/txn_type",
        "txn_type enum misspells subscribe as subscibe; accept both spellings",
        _both(*(_add_enum(p, "subscribe") for p in _SOCIAL_TXN_TYPES)),
    ),
    *(
        Correction(
            doc,
            _ATTRIBUTE_VALUE,
            "attribute_value oneOf a transaction id and a correlation id, both plain strings: "
            "no string value could be valid; read as anyOf (attribute_type says which)",
            _one_of_to_any_of(_ATTRIBUTE_VALUE),
        )
        for doc in (Document.SOCIAL, Document.CORE)
    ),
    Correction(
        Document.CORE,
        "/components/schemas/AttributeValue",
        "same overlap of integer and number in oneOf; read as anyOf",
        _one_of_to_any_of("/components/schemas/AttributeValue"),
    ),
    Correction(
        Document.CORE,
        "/components/schemas/RegistryQueries",
        "same overlap of query forms as in the social registry; read as anyOf",
        _one_of_to_any_of("/components/schemas/RegistryQueries"),
    ),
    Correction(
        Document.CORE,
        "/components/schemas/SubscriptionInfo/required",
        "requires subscription_code and subscribe_criteria, which are not its properties "
        "(its properties are code, reg_event_type, filter, ...); require code and timestamp",
        _set("/components/schemas/SubscriptionInfo", "required", ["code", "timestamp"]),
    ),
    Correction(
        Document.CORE,
        "/components/schemas/UnSubscribeRequest",
        "property misspelt timesstamp and required sunscription_codes; read as timestamp and "
        "subscription_codes",
        _both(
            _rename("/components/schemas/UnSubscribeRequest/properties", "timesstamp", "timestamp"),
            _set(
                "/components/schemas/UnSubscribeRequest",
                "required",
                ["transaction_id", "timestamp", "subscription_codes"],
            ),
        ),
    ),
    Correction(
        Document.CORE,
        "/components/schemas/UnSubscribeResponse/properties/timesatmp",
        "property misspelt timesatmp while timestamp is required; read as timestamp",
        _rename("/components/schemas/UnSubscribeResponse/properties", "timesatmp", "timestamp"),
    ),
    Correction(
        Document.CORE,
        "/components/schemas/TxnStatusResponse/properties/txnstatus_response/properties/txn_status",
        "oneOf of SearchResponse, SubscribeResponse and UnSubscribeResponse, which an empty "
        "answer can match more than once; read as anyOf (txn_type says which is meant)",
        _one_of_to_any_of(
            "/components/schemas/TxnStatusResponse/properties/txnstatus_response/properties/"
            "txn_status"
        ),
    ),
)


def _raw(document: Document) -> Json:
    text = (resources.files("nexo.dci") / "spec" / document.value).read_text(encoding="utf-8")
    return cast(Json, yaml.safe_load(text))


@cache
def _loaded(document: Document) -> Json:
    doc = _raw(document)
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
    _at(_loaded(document), pointer)  # fail early on a wrong pointer
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
    responses = _at(_loaded(document), f"/paths/{escaped}/{method}/responses")
    key = str(status) if str(status) in responses else "default"
    base = f"/paths/{escaped}/{method}/responses/{key}"
    ref = responses[key].get("$ref")
    if ref:
        base = ref.lstrip("#")
    return f"{base}/content/application~1json/schema"


def has_operation(document: Document, path: str, method: str = "post") -> bool:
    """Whether ``document`` defines ``method`` on ``path``."""
    return method in _loaded(document).get("paths", {}).get(path, {})
