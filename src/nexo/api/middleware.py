"""One pure ASGI middleware around the whole app.

For every HTTP request it: gives the request an id; refuses bodies over the size limit (413);
appends the request's audit entry *before* the response starts, replacing the response by a
503 problem if that fails (no response leaves unaudited); turns unhandled errors into a 500
problem; adds security headers; and records metrics.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nexo.api.problems import PROBLEM_TYPE, PROBLEMS, TYPE_BASE, error_fields
from nexo.api.state import ApiState
from nexo.audit.domain import AuditRecord
from nexo.logging import get_logger
from nexo.policy.decision import Requester

log = get_logger("nexo.api")

AUDITED_PREFIXES = ("/v1/", "/oauth/")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
]
CSP_API = b"default-src 'none'; frame-ancestors 'none'"
CSP_DOCS = (
    b"default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
    b"https://fastapi.tiangolo.com; connect-src 'self'; frame-ancestors 'none'"
)


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k == name:
            return str(v.decode("latin-1"))
    return None


def _problem_bytes(code: str, detail: str, request_id: str, hint: str | None = None) -> bytes:
    status, title = PROBLEMS[code]
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": f"urn:nexo:request:{request_id}",
        "request_id": request_id,
    }
    if hint:
        body["hint"] = hint
    return json.dumps(body).encode()


class NexoMiddleware:
    def __init__(self, app: ASGIApp, api: ApiState) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await _Exchange(self, scope, receive, send).run()


class _Exchange:
    """The life of one request through the middleware."""

    def __init__(self, mw: NexoMiddleware, scope: Scope, receive: Receive, send: Send) -> None:
        self.api = mw.api
        self.app = mw.app
        self.scope = scope
        self.receive = receive
        self.send = send
        self.state: dict[str, Any] = scope.setdefault("state", {})
        given = _header(scope, b"x-request-id")
        self.request_id = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
        self.state["request_id"] = self.request_id
        path: str = scope.get("path", "")
        self.audited = path.startswith(AUDITED_PREFIXES)
        self.docs = path in ("/docs", "/redoc") or path.startswith("/docs/")
        self.started = False
        self.swallow = False
        self.status = 500
        self.received = 0
        self.t0 = time.perf_counter()

    async def run(self) -> None:
        limit = self.api.settings.max_body_bytes
        length = _header(self.scope, b"content-length")
        try:
            if length is not None and (not length.isdigit() or int(length) > limit):
                raise HTTPException(413, f"the request body is over the limit of {limit} bytes")
            await self.app(self.scope, self._receive, self._send)
        except Exception as exc:
            if self.started:
                raise
            await self._fail(exc)
        finally:
            self._observe()

    async def _fail(self, exc: Exception) -> None:
        if isinstance(exc, HTTPException) and exc.status_code == 413:
            code, detail, hint = "payload-too-large", str(exc.detail), "send a smaller request"
        else:
            log.error(
                "unhandled error",
                extra={"fields": {**error_fields(exc), "request_id": self.request_id}},
            )
            code, detail = "server-error", "the request failed on the server"
            hint = "retry later; report the request_id to the operator if it persists"
        status = PROBLEMS[code][0]
        await self._send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", PROBLEM_TYPE.encode())],
            }
        )
        body = _problem_bytes(code, detail, self.request_id, hint)
        await self._send({"type": "http.response.body", "body": body})

    async def _receive(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            limit = self.api.settings.max_body_bytes
            if self.received > limit:
                raise HTTPException(413, f"the request body is over the limit of {limit} bytes")
        return message

    async def _send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.status = int(message["status"])
            headers = list(message.get("headers", []))
            if self.audited:
                index = self.state.get("audit_index")
                if index is None and self.api.settings.audit:
                    try:
                        appended = await self.api.append_async(self._record())
                    except Exception:
                        await self._unaudited()
                        return
                    index = appended.index if appended else None
                if index is not None:
                    headers.append((b"nexo-audit-entry", str(index).encode()))
                if not self.api.settings.audit:
                    headers.append((b"nexo-audit", b"off"))
            message = {**message, "headers": self._secure(headers)}
        elif self.swallow:
            return
        await self.send(message)

    def _secure(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        out = [h for h in headers if h[0].lower() != b"cache-control"]
        present = {k.lower() for k, _ in out}
        out += [h for h in SECURITY_HEADERS if h[0] not in present]
        out.append((b"content-security-policy", CSP_DOCS if self.docs else CSP_API))
        out.append((b"x-request-id", self.request_id.encode()))
        return out

    async def _unaudited(self) -> None:
        """The audit write failed: send 503 instead of the response, and drop its body."""
        self.swallow = True
        self.status = 503
        body = _problem_bytes(
            "audit-unavailable",
            "the request was not carried out because its audit entry could not be written",
            self.request_id,
            "retry later; the operator should check the store",
        )
        headers = [(b"content-type", PROBLEM_TYPE.encode()), (b"retry-after", b"5")]
        await self.send(
            {"type": "http.response.start", "status": 503, "headers": self._secure(headers)}
        )
        await self.send({"type": "http.response.body", "body": body})

    def _record(self) -> AuditRecord:
        partial: AuditRecord | None = self.state.get("audit")
        who: Requester | None = self.state.get("client")
        route = self.scope.get("route")
        action = f"{self.scope.get('method')} {getattr(route, 'path', None) or '(no route)'}"
        if partial is None:
            decision = "allow" if self.status < 400 else "deny" if self.status < 500 else "error"
            partial = AuditRecord(kind="request", action=action, decision=decision)
        record = AuditRecord(
            **{
                **partial.__dict__,
                "action": action,
                "status": self.status,
                "request_id": self.request_id,
                "client_id": partial.client_id or (who.client_id if who else None),
                "agency": partial.agency or (who.agency if who else None) or None,
            }
        )
        if self.status >= 400 and record.decision == "allow":
            record = AuditRecord(**{**record.__dict__, "decision": "deny"})
        return record

    def _observe(self) -> None:
        route = self.scope.get("route")
        name = getattr(route, "path", None) or "(no route)"
        m = self.api.metrics
        m.requests.labels(name, self.scope.get("method", ""), str(self.status)).inc()
        m.latency.labels(name).observe(time.perf_counter() - self.t0)
