"""FastAPI dependencies: the app state, bearer authentication with scope and rate limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from nexo.api.problems import RateLimited
from nexo.api.state import ApiState
from nexo.auth.domain import AuthenticationFailed, Scope, ScopeMissing
from nexo.auth.tokens import TokenClaims
from nexo.exchange.matching import Matcher
from nexo.policy.decision import Requester

bearer_scheme = HTTPBearer(
    bearerFormat="JWT",
    description="An access token from POST /oauth/token (client credentials), or a long-lived "
    "token from `nexo clients token`.",
    auto_error=False,
)


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.nexo
    return state


def get_matcher(request: Request) -> Matcher | None:
    """The demographic matcher (None until the linkage part provides one)."""
    return api_state(request).exchange.matcher


def require(scope: Scope) -> Callable[..., Awaitable[TokenClaims]]:
    """A valid access token carrying ``scope``, within its client's rate limit."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> TokenClaims:
        api = api_state(request)
        if credentials is None:
            raise AuthenticationFailed(
                "this endpoint needs a bearer token",
                hint="send 'Authorization: Bearer <token>'; get a token from POST /oauth/token",
            )
        claims = api.verify_token(credentials.credentials)
        request.state.client = Requester(claims.client_id, claims.agency)
        if scope.value not in claims.scopes:
            raise ScopeMissing(
                f"this endpoint needs the scope {scope.value!r}",
                hint="ask for a token with that scope, or have the operator grant it",
            )
        wait = api.limiter.check(claims.client_id)
        if wait is not None:
            raise RateLimited(
                f"client {claims.client_id!r} is over its rate limit",
                retry_after=wait,
                hint=f"wait {wait} s before the next request",
            )
        return claims

    return dependency
