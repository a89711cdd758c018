"""The DCI files as released, and the corrections Nexo applies when it reads them.

The released files (``spec/*.yaml``) stay exactly as published. :data:`CORRECTIONS` lists every
change made to the loaded copy, each with the file, the JSON pointer it touches and why
(decision 0054). Pure apart from reading the packaged files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any, cast

import yaml

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


@dataclass(frozen=True, slots=True)
class Correction:
    document: Document
    pointer: str
    reason: str
    apply: Callable[[Json], None]


def at(doc: Json, pointer: str) -> Any:
    node: Any = doc
    for raw in pointer.lstrip("/").split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def refs(node: Any) -> Iterator[dict[str, Any]]:
    """Every object holding a ``$ref`` in ``node``, depth first."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def _set(pointer: str, key: str, value: Any) -> Callable[[Json], None]:
    def apply(doc: Json) -> None:
        at(doc, pointer)[key] = value

    return apply


def _rename(pointer: str, old: str, new: str) -> Callable[[Json], None]:
    def apply(doc: Json) -> None:
        node = at(doc, pointer)
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
            node = at(doc, target[1:])
        try:
            node = node[int(key)] if isinstance(node, list) else node[key]
        except (KeyError, IndexError, ValueError, TypeError):
            return None
        where.append(raw)
    return "/" + "/".join(where)


def _reroute_refs(doc: Json) -> None:
    for holder in refs(doc):
        ref = holder["$ref"]
        if not ref.startswith("#/"):
            continue
        try:
            at(doc, ref[1:])
        except (KeyError, IndexError, ValueError, TypeError):
            target = _walk(doc, ref[1:])
            if target is None:
                raise ValueError(f"unresolvable reference {ref}") from None
            holder["$ref"] = "#" + target


def _add_enum(pointer: str, value: str) -> Callable[[Json], None]:
    def apply(doc: Json) -> None:
        node = at(doc, pointer)
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
        node = at(doc, pointer)
        node["anyOf"] = node.pop("oneOf")
        old, new = f"#{pointer}/oneOf/", f"#{pointer}/anyOf/"
        for holder in refs(doc):  # references into the renamed list follow it
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


def raw(document: Document) -> Json:
    """A DCI file exactly as released."""
    text = (resources.files("nexo.dci") / "spec" / document.value).read_text(encoding="utf-8")
    return cast(Json, yaml.safe_load(text))
