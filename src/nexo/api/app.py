"""The FastAPI application of the exchange (``nexo serve``)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from nexo import __version__
from nexo.api.dci import ExchangeAuthenticator, ExchangeDisclosure
from nexo.api.middleware import NexoMiddleware
from nexo.api.problems import Problem, http_response, nexo_error_response, validation_response
from nexo.api.routers import audit, consent, meta, oauth, persons
from nexo.api.state import ApiState
from nexo.auth.keys import keystore
from nexo.config import Settings, get_settings
from nexo.dci.keys import key_dir, load_keyring
from nexo.dci.router import dci_router
from nexo.dci.service import DciRuntime
from nexo.dci.worker import DciWorker
from nexo.errors import NexoError
from nexo.exchange.gate import Exchange
from nexo.exchange.matching import Matcher, StoreMatcher
from nexo.logging import get_logger
from nexo.policy.domain import AgreementSet
from nexo.policy.loader import load_policy
from nexo.policy.service import remember_policy
from nexo.store.base import utc_now
from nexo.store.engine import make_engine, session_factory, transaction

log = get_logger("nexo.api")

DESCRIPTION = """
Nexo's exchange API between the public employment service and the social protection agency.

* **Authenticate** with OAuth 2.0 client credentials at `POST /oauth/token` (client secret or
  `private_key_jwt`) and send the token as `Authorization: Bearer ...`.
* **State your purpose** in every request: the purpose catalogue is at `GET /v1/purposes`, the
  agreements your agency is party to at `GET /v1/agreements`.
* **Deny by default**: you see only what an agreement in force grants for the purpose, for
  persons its row filter covers, with consent where it requires consent.
* **Everything is audited** before the response leaves (header `Nexo-Audit-Entry`); ask for
  inclusion and consistency proofs under `/v1/audit`.
* **Errors** are RFC 9457 problem documents (`application/problem+json`) with a `hint`.
"""


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=[
                {"name": "persons", "description": "Search, person views, verification"},
                {"name": "consent", "description": "Consent and objections"},
                {"name": "audit", "description": "Checkpoints and proofs of the audit trail"},
                {"name": "policy", "description": "Purposes and agreements"},
                {"name": "oauth", "description": "Tokens and keys"},
                {"name": "meta", "description": "Health and metrics"},
                {"name": "DCI registry", "description": "DCI Social Registry API"},
            ],
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
        for path in schema.get("paths", {}).values():
            for op in path.values():
                responses = op.get("responses", {})
                # FastAPI's own 422 entry points at its HTTPValidationError shape; ours is a problem
                if "422" in responses:
                    responses["422"] = {
                        "description": "The request does not match the schema; errors lists every "
                        "field to fix.",
                        "content": {
                            "application/problem+json": {
                                "schema": {"$ref": "#/components/schemas/Problem"}
                            }
                        },
                    }
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = schema
        return schema

    return build


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # everything built at start-up lives as long as the app: keep it out of the garbage
    # collector's full passes, which would otherwise pause requests for tens of milliseconds
    gc.collect()
    gc.freeze()
    worker: DciWorker = app.state.dci_worker
    worker.start()
    try:
        yield
    finally:
        worker.close()


def _mount_dci(app: FastAPI, state: ApiState, settings: Settings) -> None:
    """The DCI registry API under /dci, on the same clients, policy, consent and audit trail;
    its worker answers asynchronous searches and delivers callbacks while the app runs."""
    runtime = DciRuntime(
        factory=state.factory,
        authenticator=ExchangeAuthenticator(state),
        disclosure=ExchangeDisclosure(state, max_scan=settings.dci.max_scan),
        keys=load_keyring(key_dir(settings)),
        settings=settings.dci,
        clock=state.now,
    )
    worker = DciWorker(runtime)
    runtime.on_accept = worker.wake
    app.include_router(dci_router(runtime))
    app.state.dci = runtime
    app.state.dci_worker = worker


def create_app(
    *,
    settings: Settings | None = None,
    factory: sessionmaker[Session] | None = None,
    policy: AgreementSet | None = None,
    matcher: Matcher | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build the app. Tests pass a store, a policy, a matcher and a clock; ``nexo serve`` passes
    nothing and everything comes from the settings (demographic search then uses the linkage
    part's online matcher over the store, loaded on first use)."""
    settings = settings or get_settings()
    if factory is None:
        factory = session_factory(make_engine(settings.effective_database_url))
    policy = policy or load_policy(settings.api.policy_dir)
    with transaction(factory) as s:
        remember_policy(s, policy=policy, now=utc_now())
    exchange = Exchange(
        policy=policy,
        keys=keystore(settings.home),
        matcher=matcher if matcher is not None else StoreMatcher(factory),
        match_threshold=settings.api.match_threshold,
    )
    engine = factory.kw.get("bind")
    inline = getattr(getattr(engine, "dialect", None), "name", "") == "sqlite"
    state = ApiState(settings=settings.api, factory=factory, exchange=exchange, inline=inline)
    if clock is not None:
        state.clock = clock
    if not settings.api.audit:
        log.warning("auditing is OFF: requests are not recorded (use only to measure its cost)")
    app = FastAPI(
        title="Nexo exchange API",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.nexo = state
    for router in (persons.router, consent.router, audit.router, oauth.router, meta.router):
        app.include_router(router)
    _mount_dci(app, state, settings)

    @app.exception_handler(NexoError)
    async def _nexo(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NexoError)
        return nexo_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return validation_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return http_response(request, exc)

    app.add_middleware(NexoMiddleware, api=state)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers (``nexo serve --workers N``): everything from NEXO_ settings."""
    return create_app()
