"""Keys, metadata, health, metrics, the purpose catalogue and the client's agreements."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.orm import Session

from nexo.api.deps import api_state, require
from nexo.api.problems import PROBLEMS
from nexo.api.responses import problems
from nexo.audit.domain import AuditRecord
from nexo.auth.domain import Scope
from nexo.auth.tokens import TokenClaims
from nexo.errors import NotFound
from nexo.policy.schemas import AgreementRead, AgreementsRead, PurposeRead, PurposesRead

router = APIRouter()
Claims = Annotated[TokenClaims, Depends(require(Scope.PERSONS_READ))]


@router.get("/healthz", tags=["meta"], summary="Liveness")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/.well-known/jwks.json", tags=["oauth"], summary="Keys that sign access tokens")
def jwks(request: Request) -> dict[str, Any]:
    return api_state(request).keys.jwks()


@router.get(
    "/.well-known/oauth-authorization-server",
    tags=["oauth"],
    summary="Authorization server metadata (RFC 8414)",
)
def metadata(request: Request) -> dict[str, Any]:
    api = api_state(request)
    return {
        "issuer": api.settings.issuer,
        "token_endpoint": str(request.url_for("token")),
        "jwks_uri": str(request.url_for("jwks")),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA", "ES256", "PS256", "RS256"],
        "scopes_supported": [s.value for s in Scope],
    }


@router.get(
    "/metrics", tags=["meta"], summary="Prometheus metrics", response_class=PlainTextResponse
)
def metrics(request: Request) -> PlainTextResponse:
    data = generate_latest(api_state(request).metrics.registry)
    return PlainTextResponse(data.decode(), media_type=CONTENT_TYPE_LATEST)


@router.get("/problems/{code}", tags=["meta"], summary="What a problem type means")
def problem_type(
    code: Annotated[str, Path(max_length=64, pattern=r"^[a-z\-]+$")],
) -> dict[str, Any]:
    if code not in PROBLEMS:
        raise NotFound(f"no problem type {code!r}", hint="see the type of the problem you got")
    status, title = PROBLEMS[code]
    return {"type": f"/problems/{code}", "title": title, "status": status}


async def _audited_read(request: Request, claims: TokenClaims, detail: str) -> None:
    api = api_state(request)

    def work(s: Session) -> tuple[None, AuditRecord]:
        who = api.requester(s, claims)
        record = AuditRecord(
            kind="request",
            action="",
            decision="allow",
            client_id=who.client_id,
            agency=who.agency,
            policy_version=api.exchange.policy.version,
            detail={"read": detail},
        )
        return None, record

    await api.run_async(request, work, write=False)


@router.get(
    "/v1/purposes",
    response_model=PurposesRead,
    tags=["policy"],
    summary="The purpose catalogue",
    responses=problems(),
)
async def purposes(request: Request, claims: Claims) -> PurposesRead:
    """Every request states one of these purposes."""
    await _audited_read(request, claims, "purposes")
    catalogue = api_state(request).exchange.policy.catalogue
    return PurposesRead(
        version=catalogue.version,
        purposes=[PurposeRead(**p.model_dump()) for p in catalogue.purposes],
    )


@router.get(
    "/v1/agreements",
    response_model=AgreementsRead,
    tags=["policy"],
    summary="The agreements your agency is party to",
    responses=problems(),
)
async def agreements(request: Request, claims: Claims) -> AgreementsRead:
    """What your agency may ask, for which purpose, on which basis, until when."""
    await _audited_read(request, claims, "agreements")
    api = api_state(request)
    now = api.now()
    out = [
        AgreementRead(
            id=a.id,
            version=a.version,
            title=a.title,
            provider=a.parties.provider,
            recipient=a.parties.recipient,
            accountable=a.accountable,
            purpose=a.purpose,
            legal_basis=a.legal_basis.value,
            legal_reference=a.legal_reference,
            valid_from=a.valid_from,
            valid_until=a.valid_until,
            in_force=a.in_force(now),
            consent_required=a.consent_required,
            retention=a.retention,
            known_to=sorted(a.known_to()),
            fields=sorted(str(r) for r in a.refs()),
        )
        for a in api.exchange.policy.agreements
        if claims.agency in (a.parties.provider, a.parties.recipient)
    ]
    return AgreementsRead(policy_version=api.exchange.policy.version, agreements=out)
