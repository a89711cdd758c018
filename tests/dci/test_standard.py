"""The DCI files as released, and the corrections Nexo applies when reading them (pure)."""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from nexo.dci.corrections import at, raw, refs
from nexo.dci.standard import CORRECTIONS, Document, is_date_time, load, problems

#: the released files (spdci/standards release/yaml, commit b4816e1): changing one is deliberate
RELEASED = {
    Document.SOCIAL: "691046e7613ba6b6af2ca220a358fc8cb20b3825b6d4255ea430ac18304c6728",
    Document.CORE: "e78dd6aa2a1e481e714f123b0152cbb3db29ace9c50cc59d87db448d9f2e06e8",
    Document.IBR: "31755d331229bde70022b2cf789c71160cc764bfb6c56d04669f264f8699cee6",
    Document.AUTHZ: "13fd442a97f291db8c66da160d0acf76b60115595af18e54b9a1a1e0779f2d06",
    Document.JWKS: "55887bb6f14afa462c5d5acbda5908b4048b998655bdc121c8a97b785d779dd9",
}


def test_files_are_the_released_ones_with_their_licence() -> None:
    folder = resources.files("nexo.dci") / "spec"
    for document, digest in RELEASED.items():
        assert hashlib.sha256((folder / document.value).read_bytes()).hexdigest() == digest
    assert "Apache License" in (folder / "LICENSE.txt").read_text(encoding="utf-8")
    assert "b4816e1" in (folder / "NOTICE.txt").read_text(encoding="utf-8")


def test_every_reference_resolves_after_the_corrections() -> None:
    for document in Document:
        doc = load(document)
        for holder in refs(doc):
            at(doc, holder["$ref"][1:])  # raises if it leads nowhere
    assert load(Document.SOCIAL)["info"]["version"] == "1.0.0"
    assert "securitySchemes" in load(Document.IBR)["components"]


def test_some_released_references_lead_nowhere() -> None:
    released = raw(Document.SOCIAL)
    broken = []
    for holder in refs(released):
        try:
            at(released, holder["$ref"][1:])
        except (KeyError, IndexError, ValueError, TypeError):
            broken.append(holder["$ref"])
    assert len(broken) == 3


def _raw_validator(document: Document, pointer: str) -> Draft4Validator:
    uri = f"urn:raw:{document.name}"
    resource = Resource.from_contents(raw(document), default_specification=DRAFT4)
    return Draft4Validator(
        {"$ref": f"{uri}#{pointer}"}, registry=Registry().with_resource(uri, resource)
    )


@pytest.mark.parametrize(
    ("document", "pointer", "instance"),
    [
        (Document.CORE, "/components/schemas/AttributeValue", 1980),
        (Document.CORE, "/components/schemas/UnSubscribeRequest",
         {"transaction_id": "t", "timestamp": "2026-01-01T00:00:00Z", "subscription_codes": ["c"]}),
        (Document.CORE, "/components/schemas/SubscriptionInfo",
         {"code": "c", "status": "subscribe", "timestamp": "2026-01-01T00:00:00Z"}),
        (Document.CORE, "/components/schemas/TxnStatusRequest",
         {"transaction_id": "t", "txnstatus_request": {"reference_id": "r", "txn_type": "search",
          "attribute_type": "transaction_id", "attribute_value": "t-1"}}),
        (Document.SOCIAL, "/components/schemas/TxnStatusRequest",
         {"transaction_id": "t", "txnstatus_request": {"reference_id": "r", "txn_type": "subscribe",
          "attribute_type": "reference_id_list", "attribute_value": ["r-1"]}}),
    ],
)  # fmt: skip
def test_each_correction_lets_a_proper_message_through(
    document: Document, pointer: str, instance: Any
) -> None:
    assert not _raw_validator(document, pointer).is_valid(instance)
    assert problems(document, pointer, instance) == []


def test_every_correction_says_why() -> None:
    assert len(CORRECTIONS) >= 10
    assert all(len(c.reason) > 20 for c in CORRECTIONS)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2022-12-04T17:20:07-04:00", True),
        ("2026-06-30T10:00:00Z", True),
        ("2026-06-30T10:00:00.123456+05:30", True),
        ("2026-06-30T10:00:00", False),
        ("2026-06-30", False),
        ("2026-13-30T10:00:00Z", False),
        ("30/06/2026 10:00 +00:00", False),
        (1750000000, False),
    ],
)
def test_time_stamps_need_their_time_zone(value: object, ok: bool) -> None:
    assert is_date_time(value) is ok
