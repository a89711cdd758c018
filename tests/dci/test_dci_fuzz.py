"""Whatever arrives, the reply is a DCI document the standard allows, never a server error, and
never personal data unless the request was a proper, authorised search."""

from __future__ import annotations

import copy
import json
from typing import Any

from dci_http import Registry, search_envelope, search_item, signed
from dci_support import ANA, SENDER, personal_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PATHS = [
    "/registry/sync/search",
    "/registry/search",
    "/registry/sync/txn/status",
    "/registry/subscribe",
]
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["2026-06-30T10:00:00Z", "1.0.0", "search", "UIN", ANA.run, "eng", "rcvd"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@SETTINGS
@given(path=st.sampled_from(PATHS), body=json_values)
def test_any_json_body_is_refused_properly(shared: Registry, path: str, body: Any) -> None:
    status, reply = shared.client.post(path, body, valid=False)  # the reply is schema-checked
    assert 400 <= status < 500
    assert reply["errors"][0]["code"].startswith("err.")


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@SETTINGS
@given(pick=st.integers(0, 10**6), replacement=json_values, sign=st.booleans())
def test_a_damaged_search_is_refused_or_answered(
    shared: Registry, pick: int, replacement: Any, sign: bool
) -> None:
    body = search_envelope(search_item({"type": "UIN", "value": ANA.run}))
    paths = _paths(body)[1:]
    where = paths[pick % len(paths)]
    damaged = copy.deepcopy(body)
    node = damaged
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = replacement
    if sign:
        damaged = signed(damaged, shared.keys[SENDER])
    status, reply = shared.client.post("/registry/sync/search", damaged, valid=False)
    assert status < 500, reply
    if status != 200:
        assert not [v for v in personal_values() if v in json.dumps(reply, ensure_ascii=False)]
