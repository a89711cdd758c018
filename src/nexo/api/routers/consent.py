"""Consent and objections, recorded by an agency for the persons it serves."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.orm import Session

from nexo.api.deps import api_state, require
from nexo.api.responses import problems
from nexo.audit.domain import AuditRecord
from nexo.auth.domain import Scope
from nexo.auth.tokens import TokenClaims
from nexo.exchange import consent
from nexo.policy.schemas import ConsentEventCreate, ConsentEventRead, ConsentStateRead

router = APIRouter(prefix="/v1/persons", tags=["consent"])
Claims = Annotated[TokenClaims, Depends(require(Scope.CONSENT_WRITE))]
PersonPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")]


@router.post(
    "/{person_id}/consent-events",
    response_model=ConsentEventRead,
    status_code=201,
    summary="Record a consent or objection towards your agency",
    responses=problems(400, 403, 404),
)
async def record(
    request: Request, claims: Claims, person_id: PersonPath, body: ConsentEventCreate
) -> ConsentEventRead:
    """Appends to the person's consent history; a withdrawal applies to the very next request."""
    api = api_state(request)
    now = api.now()

    def work(s: Session) -> tuple[ConsentEventRead, AuditRecord]:
        event, audit = consent.record_for_client(
            s,
            exchange=api.exchange,
            requester=api.requester(s, claims),
            person_id=person_id,
            purpose=body.purpose,
            kind=body.kind,
            channel=body.channel,
            notice_version=body.notice_version,
            at=body.at,
            expires_at=body.expires_at,
            now=now,
        )
        return ConsentEventRead(**event.model_dump(exclude={"seq"})), audit

    return await api.run_async(request, work, write=True, status=201)


@router.get(
    "/{person_id}/consent",
    response_model=ConsentStateRead,
    summary="The person's consent towards your agency for a purpose",
    responses=problems(400, 403, 404),
)
async def state(
    request: Request,
    claims: Claims,
    person_id: PersonPath,
    purpose: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")],
) -> ConsentStateRead:
    api = api_state(request)
    now = api.now()

    def work(s: Session) -> tuple[ConsentStateRead, AuditRecord]:
        who = api.requester(s, claims)
        pid, st, audit = consent.state_for_client(
            s, exchange=api.exchange, requester=who, person_id=person_id, purpose=purpose, at=now
        )
        read = ConsentStateRead(
            person_id=pid,
            purpose=purpose,
            recipient=who.agency,
            status=st.status.value,
            objection=st.objection,
            since=st.since,
            notice_version=st.notice_version,
            at=now,
        )
        return read, audit

    return await api.run_async(request, work, write=False)
