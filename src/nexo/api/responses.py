"""OpenAPI descriptions of the problem responses each endpoint can return."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response

_WHY = {
    400: "The request cannot be carried out as given (the detail says why).",
    401: "No valid bearer token: missing, expired, forged, or its client is disabled.",
    403: "The token lacks the scope, or no agreement lets your agency ask this for the purpose "
    "(the problem names the missing rule).",
    404: "No such person is shared with you for this purpose (unknown and not-allowed persons "
    "get the same answer).",
    413: "The request body is over the size limit.",
    422: "The request does not match the schema; errors lists every field to fix.",
    429: "Over your client's rate limit; retry after Retry-After seconds.",
    501: "Demographic search needs the person matcher, which is not configured.",
    503: "The audit trail could not be written, so the request was not carried out.",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Problem responses (RFC 9457) for the given status codes."""
    return {
        code: {
            "description": _WHY[code],
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for code in (*codes, 401, 413, 422, 429, 503)
    }


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    """A JSON response built directly (the shape is documented by the route's response model;
    validating it again on the hottest endpoints would cost a fifth of their time)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json")
