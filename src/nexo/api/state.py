"""What the app holds for its lifetime: settings, store, policy, keys, limiter, metrics.

``ApiState.run`` is the one path of an audited use case: run it in a transaction, then append
its audit record and commit that before the response leaves. A refusal raised by the use case
carries its own audit record, which the middleware appends with the final status.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import TypeVar

import anyio
from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from nexo.api.metrics import Metrics
from nexo.api.problems import error_fields
from nexo.api.ratelimit import RateLimiter
from nexo.audit import service as audit
from nexo.audit.domain import AuditRecord, AuditUnavailable
from nexo.audit.service import Appended, AuditWriter, LeafCache
from nexo.auth.domain import AuthenticationFailed, Client
from nexo.auth.keys import KeyStore
from nexo.auth.service import get_client
from nexo.auth.tokens import TokenClaims, verify_access_token
from nexo.config import ApiSettings
from nexo.exchange.domain import ExchangeError
from nexo.exchange.gate import Exchange
from nexo.logging import get_logger
from nexo.policy.decision import Requester
from nexo.store.base import utc_now
from nexo.store.engine import transaction

T = TypeVar("T")
log = get_logger("nexo.api")

#: how long a client's record (active, rate limit) is reused before it is read again
CLIENT_TTL_SECONDS = 2.0
#: verified tokens remembered (cleared when full)
TOKEN_CACHE_SIZE = 10_000


@dataclass
class ApiState:
    settings: ApiSettings
    factory: sessionmaker[Session]
    exchange: Exchange
    clock: Callable[[], datetime] = utc_now
    inline: bool = False
    metrics: Metrics = field(default_factory=Metrics)
    leaves: LeafCache = field(default_factory=LeafCache)
    limiter: RateLimiter = field(init=False)
    token_limiter: RateLimiter = field(init=False)
    writer: AuditWriter = field(init=False)
    _clients: dict[str, tuple[Client, float]] = field(default_factory=dict)
    _tokens: dict[str, TokenClaims] = field(default_factory=dict)
    _pending: list[tuple[AuditRecord, asyncio.Future[Appended]]] = field(default_factory=list)
    _flushing: bool = False

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings.rate_per_second, self.settings.burst)
        self.writer = AuditWriter(
            self.factory,
            keys=self.exchange.keys,
            origin=self.settings.origin,
            checkpoint_every=self.settings.checkpoint_every,
        )
        self.token_limiter = RateLimiter(1.0, 10)

    @property
    def keys(self) -> KeyStore:
        return self.exchange.keys

    def now(self) -> datetime:
        return self.clock()

    # ------------------------------------------------------------ clients

    def verify_token(self, token: str) -> TokenClaims:
        """Verify a bearer token; a token seen before skips the signature check until it
        expires (the client's status is still checked on every request)."""
        claims = self._tokens.get(token)
        if claims is None or claims.expires_at <= time.time():
            claims = verify_access_token(
                self.keys, token, issuer=self.settings.issuer, audience=self.settings.audience
            )
            if len(self._tokens) >= TOKEN_CACHE_SIZE:
                self._tokens.clear()
            self._tokens[token] = claims
        return claims

    def requester(self, session: Session, claims: TokenClaims) -> Requester:
        """The token's client as a requester of the policy (see :meth:`client`)."""
        client = self.client(session, claims)
        return Requester(client.client_id, client.agency)

    def client(self, session: Session, claims: TokenClaims) -> Client:
        """The token's client, checked to be still active (at most CLIENT_TTL_SECONDS old)."""
        cached = self._clients.get(claims.client_id)
        now = time.monotonic()
        if cached is None or now - cached[1] > CLIENT_TTL_SECONDS:
            client = get_client(session, claims.client_id)
            if client is None:
                self._clients.pop(claims.client_id, None)
                raise AuthenticationFailed("the client of this token no longer exists")
            self._clients[claims.client_id] = (client, now)
            self.limiter.configure(client.client_id, client.rate_per_second, client.burst)
        else:
            client = cached[0]
        if not client.active or client.agency != claims.agency:
            raise AuthenticationFailed(
                "the client of this token is disabled",
                hint="ask the Nexo operator to enable the client",
            )
        return client

    # ------------------------------------------------------------ audit

    def append(self, record: AuditRecord) -> Appended | None:
        """Append and commit one audit entry; None if audit is off."""
        if not self.settings.audit:
            return None
        try:
            appended = self.writer.append(record)
        except Exception as e:
            self.metrics.audit_failures.inc()
            log.error("audit append failed", extra={"fields": error_fields(e)})
            raise _unavailable(e) from e
        self.metrics.audit.labels(record.decision).inc()
        return appended

    async def append_async(self, record: AuditRecord) -> Appended | None:
        """Append one entry, committed together with those of the requests that arrive while
        the previous commit is under way (group commit); returns once it is committed."""
        if not self.settings.audit:
            return None
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self._pending.append((record, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(0)  # let the requests of this loop turn join the batch
            while self._pending:
                batch, self._pending = self._pending, []
                records = [r for r, _ in batch]
                try:
                    appended = await self._commit(records)
                except Exception as e:
                    self.metrics.audit_failures.inc(len(batch))
                    log.error("audit append failed", extra={"fields": error_fields(e)})
                    for _, future in batch:
                        if not future.done():  # a request whose client went away is done
                            future.set_exception(_unavailable(e))
                    continue
                for (record, future), a in zip(batch, appended, strict=True):
                    self.metrics.audit.labels(record.decision).inc()
                    if not future.done():
                        future.set_result(a)
        finally:
            self._flushing = False

    async def _commit(self, records: list[AuditRecord]) -> list[Appended]:
        """Commit a batch in a worker thread, whatever the store: a commit can wait on the
        disk, and the event loop keeps serving meanwhile; one hop per batch is cheap."""
        return await anyio.to_thread.run_sync(partial(self.writer.append_many, records))

    def _append(self, session: Session, record: AuditRecord) -> Appended:
        """Append inside the caller's transaction (a use case that writes)."""
        self.writer.head = None  # this append moves the head behind the writer's back
        return audit.append(
            session,
            keys=self.keys,
            record=record,
            at=utc_now(),
            origin=self.settings.origin,
            checkpoint_every=self.settings.checkpoint_every,
        )

    async def call(self, fn: Callable[[], T]) -> T:
        """Run store work: on the event loop for SQLite (embedded, sub-millisecond queries; a
        thread hop would cost more than the query), in the threadpool for a server database."""
        if self.inline:
            return fn()
        return await anyio.to_thread.run_sync(fn)

    async def run_async(
        self,
        request: Request,
        work: Callable[[Session], tuple[T, AuditRecord]],
        *,
        write: bool,
        status: int = 200,
    ) -> T:
        if write:
            return await self.call(lambda: self.run(request, work, write=True, status=status))
        result, record = await self.call(lambda: self._work(request, work))
        appended = await self.append_async(self._decorate(request, record, status))
        if appended is not None:
            request.state.audit_index = appended.index
        return result

    def _work(
        self, request: Request, work: Callable[[Session], tuple[T, AuditRecord]]
    ) -> tuple[T, AuditRecord]:
        with _keeping_refusal(request), transaction(self.factory) as s:
            return work(s)

    @staticmethod
    def _decorate(request: Request, record: AuditRecord, status: int) -> AuditRecord:
        return replace(
            record,
            action=action_of(request),
            status=status,
            request_id=getattr(request.state, "request_id", None),
        )

    def run(
        self,
        request: Request,
        work: Callable[[Session], tuple[T, AuditRecord]],
        *,
        write: bool,
        status: int = 200,
    ) -> T:
        """Run a use case; its audit entry is committed before this returns.

        Reads run in their own transaction and the entry is appended after it; a use case that
        writes (``write=True``) commits its change and its audit entry together.
        """
        if write:
            lock = self.writer.lock if self.settings.audit else nullcontext()
            with _keeping_refusal(request), lock, transaction(self.factory) as s:
                result, record = work(s)
                appended = self._append_in(request, s, record, status)
        else:
            result, record = self._work(request, work)
            appended = self._append_in(request, None, record, status)
        if appended is not None:
            request.state.audit_index = appended.index
        return result

    def _append_in(
        self, request: Request, session: Session | None, record: AuditRecord, status: int
    ) -> Appended | None:
        record = self._decorate(request, record, status)
        if session is None:
            return self.append(record)
        if not self.settings.audit:
            return None
        try:
            appended = self._append(session, record)
        except Exception as e:
            self.metrics.audit_failures.inc()
            raise AuditUnavailable(
                "the change was not made because its audit entry could not be written",
                hint="retry later; the operator should check the store",
            ) from e
        self.metrics.audit.labels(record.decision).inc()
        return appended


@contextmanager
def _keeping_refusal(request: Request) -> Iterator[None]:
    """A refusal raised inside carries its own audit record: keep it for the middleware."""
    try:
        yield
    except ExchangeError as e:
        if e.audit is not None:
            request.state.audit = e.audit
        raise


def _unavailable(cause: Exception) -> AuditUnavailable:
    error = AuditUnavailable(
        "the request was not carried out because its audit entry could not be written",
        hint="retry later; the operator should check the store",
    )
    error.__cause__ = cause
    return error


def action_of(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None) or "(no route)"
    return f"{request.method} {path}"
