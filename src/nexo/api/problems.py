"""RFC 9457 problem documents: one shape for every error the API returns.

Errors carry meaning (``NexoError`` subclasses); this module alone maps them to HTTP status codes
and writes documents that say what went wrong (``detail``) and what to do (``hint``).
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from nexo.audit.domain import AuditUnavailable
from nexo.auth.domain import AuthenticationFailed, OAuthError, ScopeMissing
from nexo.errors import (
    ConfigurationError,
    NexoError,
    NotFound,
    StoreError,
    TransientError,
    UsageError,
)
from nexo.exchange.domain import AccessDenied, MatcherUnavailable, PersonNotFound

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "/problems/"


class RateLimited(NexoError):
    """Too many requests from one client; ``retry_after`` seconds until the next is accepted."""

    code = "rate-limited"

    def __init__(self, message: str, *, retry_after: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


#: problem code → (HTTP status, title)
PROBLEMS: dict[str, tuple[int, str]] = {
    "bad-request": (400, "The request is malformed"),
    "unauthenticated": (401, "Authentication required"),
    "insufficient-scope": (403, "The token lacks a scope"),
    "access-denied": (403, "No agreement allows this"),
    "person-not-found": (404, "Person not found"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "payload-too-large": (413, "Request too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "validation": (422, "The request is not valid"),
    "rate-limited": (429, "Too many requests"),
    "server-error": (500, "Internal error"),
    "matcher-unavailable": (501, "Demographic search is not available"),
    "audit-unavailable": (503, "The audit trail cannot be written"),
    "unavailable": (503, "Service unavailable"),
    "oauth": (400, "Token request refused"),
}

_CODE_OF: list[tuple[type[NexoError], str]] = [
    (AuthenticationFailed, "unauthenticated"),
    (ScopeMissing, "insufficient-scope"),
    (AccessDenied, "access-denied"),
    (PersonNotFound, "person-not-found"),
    (NotFound, "not-found"),
    (RateLimited, "rate-limited"),
    (MatcherUnavailable, "matcher-unavailable"),
    (AuditUnavailable, "audit-unavailable"),
    (OAuthError, "oauth"),
    (UsageError, "bad-request"),
    (StoreError, "unavailable"),
    (TransientError, "unavailable"),
    (ConfigurationError, "server-error"),
]


class ProblemItem(BaseModel):
    location: str = Field(description="Where the problem is: body.identifier.value, query.purpose")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/access-denied",
                    "title": "No agreement allows this",
                    "status": 403,
                    "detail": "no agreement lets agency 'social' use data for purpose "
                    "'fraud-detection'; its agreements cover: benefit-eligibility",
                    "instance": "urn:nexo:request:4f6c0e1a9b2d4c3e",
                    "hint": "GET /v1/agreements lists what you may ask",
                    "rule": "agreement.purpose",
                    "request_id": "4f6c0e1a9b2d4c3e",
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    hint: str | None = None
    request_id: str | None = None
    rule: str | None = Field(default=None, description="The policy rule that was missing.")
    errors: list[ProblemItem] | None = None


def error_fields(exc: BaseException) -> dict[str, Any]:
    """An exception for a log line without its message: messages of database errors carry the
    statement's parameters, which can be personal data. The traceback shows code, not data."""
    return {"error": type(exc).__name__, "where": "".join(traceback.format_tb(exc.__traceback__))}


def code_of(error: NexoError) -> str:
    return next((code for cls, code in _CODE_OF if isinstance(error, cls)), "server-error")


def problem(
    code: str,
    detail: str,
    *,
    request_id: str | None = None,
    hint: str | None = None,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    default_status, title = PROBLEMS.get(code, PROBLEMS["server-error"])
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status or default_status,
        "detail": detail,
    }
    if request_id:
        body["instance"] = f"urn:nexo:request:{request_id}"
        body["request_id"] = request_id
    if hint:
        body["hint"] = hint
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=body["status"],
        media_type=PROBLEM_TYPE,
        headers=headers,
    )


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def nexo_error_response(request: Request, error: NexoError) -> Response:
    code = code_of(error)
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    status = None
    if isinstance(error, AuthenticationFailed):
        headers["WWW-Authenticate"] = 'Bearer realm="nexo", error="invalid_token"'
    elif isinstance(error, ScopeMissing):
        headers["WWW-Authenticate"] = 'Bearer realm="nexo", error="insufficient_scope"'
    elif isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
        extra["retry_after"] = error.retry_after
    elif isinstance(error, AccessDenied):
        extra["rule"] = error.denial.rule.value
        if error.denial.agreement:
            extra["agreement"] = error.denial.agreement
    elif isinstance(error, OAuthError):
        extra["error"] = error.error
        extra["error_description"] = error.message
        if error.error == "invalid_client":
            status = 401
            headers["WWW-Authenticate"] = 'Basic realm="nexo"'
    return problem(
        code,
        error.message,
        request_id=_request_id(request),
        hint=error.hint,
        status=status,
        headers=headers or None,
        **extra,
    )


def validation_response(request: Request, error: RequestValidationError) -> Response:
    items = []
    for e in error.errors():
        loc = ".".join(str(p) for p in e.get("loc", ()))
        items.append({"location": loc, "message": str(e.get("msg", "invalid"))})
    first = items[0] if items else {"location": "request", "message": "invalid"}
    n = len(items)
    return problem(
        "validation",
        f"{n} problem{'s' if n != 1 else ''} in the request; first: "
        f"{first['location']}: {first['message']}",
        request_id=_request_id(request),
        hint="fix the fields listed in errors; the schema is at /openapi.json",
        errors=items,
    )


def http_response(request: Request, error: StarletteHTTPException) -> Response:
    status = error.status_code
    rid = _request_id(request)
    if status == 404:
        return problem(
            "not-found",
            f"there is no endpoint at {request.url.path}",
            request_id=rid,
            hint="the endpoints are listed at /openapi.json and /docs",
        )
    if status == 405:
        allowed = (error.headers or {}).get("allow") or (error.headers or {}).get("Allow", "")
        return problem(
            "method-not-allowed",
            f"{request.method} is not allowed on {request.url.path}",
            request_id=rid,
            hint=f"use {allowed}" if allowed else "see /openapi.json",
            headers={"Allow": allowed} if allowed else None,
        )
    if status == 413:
        return problem(
            "payload-too-large",
            str(error.detail),
            request_id=rid,
            hint="send a smaller request; search one person at a time",
        )
    if status == 415:
        return problem("unsupported-media-type", str(error.detail), request_id=rid)
    code = "bad-request" if 400 <= status < 500 else "server-error"
    return problem(code, str(error.detail), request_id=rid, status=status)
