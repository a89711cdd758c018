"""Synchronous search: what a social protection MIS sees, checked against the DCI schemas."""

from __future__ import annotations

from dci_support import ANA, PURPOSE, SENDER, search_envelope, search_item, signed


def test_search_by_identifier_answers_a_member(registry) -> None:  # type: ignore[no-untyped-def]
    env = signed(search_envelope(search_item({"type": "UIN", "value": ANA.run})), registry.keys[SENDER])
    status, body = registry.client.post("/registry/sync/search", env)
    assert status == 200, body
    print(body)
