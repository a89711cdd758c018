"""The JSON Schema of the mapping language, generated from the pydantic spec.

The generated schema ships with Nexo as ``nexo/mappings/mapping.schema.json`` (editors can
validate mappings with it: ``# yaml-language-server: $schema=...``); a test keeps the shipped
file equal to what the spec generates. ``nexo mapping schema`` prints it.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from nexo.adapters.spec import MappingSpec

SCHEMA_ID = "https://nexo.example.org/schemas/mapping-1.schema.json"
SCHEMA_FILE = "mapping.schema.json"


def _any_of(node: Any) -> Any:
    """A field value may match several alternatives (a string is a column name and would also
    be a valid constant), so the alternatives are ``anyOf``, not ``oneOf``."""
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): _any_of(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_any_of(v) for v in node]
    return node


def mapping_json_schema() -> dict[str, Any]:
    schema = MappingSpec.model_json_schema(by_alias=True, mode="validation")
    schema["$defs"]["FieldValue"] = _any_of(schema["$defs"]["FieldValue"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Nexo mapping",
        "description": "How one agency export becomes canonical records (docs/mapping.md).",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def schema_text() -> str:
    return json.dumps(mapping_json_schema(), indent=2, ensure_ascii=False) + "\n"


def shipped_schema_text() -> str:
    return resources.files("nexo.mappings").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
