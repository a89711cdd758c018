"""Schemathesis against /openapi.json: generated requests never cause a server error, and every
refusal is a problem document.

Bounded in time: a few valid and a few invalid examples per operation (set
NEXO_SCHEMATHESIS_EXAMPLES for a longer run). Driven through Hypothesis directly, because
Schemathesis' pytest plugin does not support this pytest version yet.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from api_support import Api, make_api
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from nexo.store.engine import make_engine, session_factory
from nexo.store.migrate import upgrade

PROBLEM = "application/problem+json"
EXAMPLES = int(os.environ.get("NEXO_SCHEMATHESIS_EXAMPLES", "10"))


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Api:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    engine = make_engine(f"sqlite:///{folder / 'fuzz.db'}")
    upgrade(engine)
    return make_api(session_factory(engine), folder / "home", api={"rate_per_second": 10_000})


def _operations(api: Api) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_causes_a_server_error(fuzzed: Api, mode: GenerationMode) -> None:
    headers = fuzzed.headers("soc-client")
    operations = _operations(fuzzed)
    assert len(operations) >= 12
    seen: set[int] = set()
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: Any) -> None:
            response = case.call(headers={**(case.headers or {}), **headers})
            seen.add(response.status_code)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)
            if response.status_code >= 400 and case.formatted_path.startswith(("/v1", "/oauth")):
                kind = response.headers["content-type"]
                assert kind in (PROBLEM, [PROBLEM]), response.text

        try:
            check()
        except Unsatisfiable:
            # an operation without parameters has no invalid input to generate
            assert mode is GenerationMode.NEGATIVE, operation.label
    assert any(code >= 400 for code in seen) or mode is GenerationMode.POSITIVE
