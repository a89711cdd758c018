"""The in-process DCI demonstration: what ``nexo demo`` can show once the ports are bound."""

from __future__ import annotations

from dci_http import OPERATIONS, Registry, assert_request
from dci_support import ANA, PURPOSE, SOCIAL_CLIENT

from nexo.dci.demo import demo_search
from nexo.dci.ports import Client
from nexo.dci.standard import problems, response_pointer


def test_demo_search_is_a_signed_conforming_round_trip(registry: Registry) -> None:
    demo = demo_search(
        registry.runtime, client=Client(SOCIAL_CLIENT), identifier=ANA.run, purpose=PURPOSE
    )
    assert_request("/registry/sync/search", demo.request)
    document = OPERATIONS["/registry/sync/search"]
    pointer = response_pointer(document, "/registry/sync/search", 200)
    assert problems(document, pointer, demo.reply) == []
    assert demo.signature_ok
    [record] = demo.records
    assert record["member_identifier"][0]["identifier_value"] == ANA.person_id
    [call] = registry.disclosure.calls
    assert call.purpose == PURPOSE and call.context.sender_id == demo.sender_id


def test_demo_without_purpose_shows_the_rejection(registry: Registry) -> None:
    demo = demo_search(registry.runtime, client=Client(SOCIAL_CLIENT), identifier=ANA.run)
    assert demo.records == []
    answer = demo.reply["message"]["search_response"][0]
    assert answer["status_reason_code"] == "rjct.search_criteria.invalid"
