"""The DCI Social Registry API as a FastAPI router (mount it under ``/dci``).

Routes only translate: read the body (bounded), take the bearer token, call the intake and the
use cases, render the reply. Every failure becomes a DCI error document (never a crash): see
:mod:`nexo.dci.envelope` and decision 0051.
"""

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from nexo.dci import envelope
from nexo.dci.errors import DciRefused, ErrorCode
from nexo.dci.intake import (
    ENDPOINTS,
    Context,
    Endpoint,
    authenticate,
    receive,
)
from nexo.dci.ports import Authenticator
from nexo.dci.service import DciRuntime, answer_sync

log = logging.getLogger(__name__)

_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["header", "message"],
                "properties": {
                    "signature": {"type": "string"},
                    "header": {"type": "object"},
                    "message": {"type": "object"},
                },
            }
        }
    },
}
_DOC = "DCI {action} (see the DCI Social Registry API v1.0.0 and docs/dci.md)."
_ERROR = {"content": {"application/json": {"schema": {"type": "object"}}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Refused: err.request.bad and other err.* codes", **_ERROR},
    401: {"description": "err.request.unauthorized, err.signature.missing/invalid", **_ERROR},
    403: {"description": "err.sender_id.invalid", **_ERROR},
    500: {"description": "err.service.unavailable (nothing disclosed)", **_ERROR},
}


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, credentials = value.partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise DciRefused(ErrorCode.REQUEST_BAD, f"the body is larger than {limit} bytes")
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise DciRefused(ErrorCode.REQUEST_BAD, "send the message as application/json")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DciRefused(ErrorCode.REQUEST_BAD, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _refusal(
    runtime: DciRuntime, endpoint: Endpoint, error: DciRefused, ctx: Context
) -> JSONResponse:
    now = runtime.clock()
    log.info(
        "dci: refused %s from %s: %s",
        endpoint.path,
        ctx.sender_id or "(unknown)",
        error.error.value,
    )
    if endpoint.mode == "async":
        status, body = envelope.error_ack(error, ctx.correlation_id, now)
    else:
        status, body = envelope.error_envelope(
            error,
            action=endpoint.reply_action,
            transaction_id=ctx.transaction_id,
            correlation_id=ctx.correlation_id,
            receiver_id=ctx.sender_id,
            keys=runtime.keys,
            registry_id=runtime.settings.registry_id,
            now=now,
        )
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _route(runtime: DciRuntime, endpoint: Endpoint) -> Any:
    def authenticator() -> Authenticator:
        return runtime.authenticator

    async def handle(
        request: Request, auth: Annotated[Authenticator, Depends(authenticator)]
    ) -> JSONResponse:
        ctx = Context(envelope.new_id())
        try:
            token = _bearer(request.headers.get("authorization"))
            client = await run_in_threadpool(authenticate, auth, token)
            body = await _body(request, runtime.settings.max_body_bytes)
            accepted = await run_in_threadpool(
                lambda: receive(
                    factory=runtime.factory,
                    endpoint=endpoint,
                    body=body,
                    client=client,
                    settings=runtime.settings,
                    ctx=ctx,
                    now=runtime.clock(),
                )
            )
            if endpoint.mode == "async":
                if runtime.on_accept is not None and not accepted.replayed:
                    runtime.on_accept()
                return JSONResponse(envelope.ack(accepted.correlation_id, runtime.clock()))
            reply = await run_in_threadpool(answer_sync, runtime, accepted)
            return JSONResponse(reply)
        except DciRefused as e:
            return _refusal(runtime, endpoint, e, ctx)
        except Exception:
            log.exception("dci: %s failed (correlation %s)", endpoint.path, ctx.correlation_id)
            status, failure = envelope.service_failure(ctx.correlation_id, runtime.clock())
            return JSONResponse(failure, status_code=status)

    return handle


def dci_router(runtime: DciRuntime, *, prefix: str = "/dci") -> APIRouter:
    """The DCI registry endpoints and Nexo's DCI signing keys (``{prefix}/.well-known/jwks.json``).

    Bind the ports by building ``runtime`` with them; the authenticator is also a FastAPI
    dependency of every route, so an application may override it per request.
    """
    router = APIRouter(prefix=prefix, tags=["DCI registry"])
    for endpoint in ENDPOINTS:
        router.add_api_route(
            endpoint.path,
            _route(runtime, endpoint),
            methods=["POST"],
            name=f"dci-{endpoint.mode}-{endpoint.action}",
            summary=f"DCI {endpoint.path} ({endpoint.mode})",
            description=_DOC.format(action=endpoint.path),
            openapi_extra={"requestBody": _BODY},
            response_model=None,
            responses=_RESPONSES,
        )

    @router.get("/.well-known/jwks.json", name="dci-jwks", summary="Nexo's DCI signing keys")
    def jwks() -> dict[str, Any]:
        return runtime.keys.jwks()

    return router
