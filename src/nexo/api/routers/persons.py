"""Person search, person views and verification questions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from nexo.api.deps import api_state, require
from nexo.api.responses import json_response, problems
from nexo.audit.domain import AuditRecord
from nexo.auth.domain import Scope
from nexo.auth.tokens import TokenClaims
from nexo.errors import UsageError
from nexo.exchange import service
from nexo.exchange.domain import Question
from nexo.exchange.schemas import (
    DemographicSearch,
    IdentifierSearch,
    MatchHit,
    MatchRead,
    PersonRead,
    SearchRead,
    VerificationAsk,
    VerificationRead,
)
from nexo.model import Person
from nexo.policy.fields import all_refs, expand

router = APIRouter(prefix="/v1/persons", tags=["persons"])
Claims = Annotated[TokenClaims, Depends(require(Scope.PERSONS_READ))]


@router.post(
    "/search",
    response_model=SearchRead,
    summary="Find persons by identifier",
    responses=problems(400, 403),
)
async def search(body: IdentifierSearch, request: Request, claims: Claims) -> Response:
    """Persons carrying the identifier whom your agreements for the purpose let you see.

    A person outside your agreements is simply not in the results: an empty list means
    "no person you may see", never "no such person".
    """
    api = api_state(request)

    def work(s: Session) -> tuple[Response, AuditRecord]:
        hits, record = service.search_by_identifier(
            s,
            exchange=api.exchange,
            requester=api.requester(s, claims),
            purpose=body.purpose,
            scheme=body.identifier.scheme,
            value=body.identifier.value,
            at=api.now(),
        )
        version = api.exchange.policy.version
        read = {"purpose": body.purpose, "policy_version": version, "results": hits}
        return json_response(read), record

    return await api.run_async(request, work, write=False)


@router.post(
    "/match",
    response_model=MatchRead,
    summary="Find persons by name and birth date",
    responses=problems(403, 501),
)
async def match(body: DemographicSearch, request: Request, claims: Claims) -> MatchRead:
    """Persons the matcher finds above the confidence threshold that you may see."""
    api = api_state(request)
    person = Person(
        given_names=body.given_names,
        family_name=body.family_name,
        second_family_name=body.second_family_name,
        birth_date=body.birth_date,
        sex=body.sex,
    )

    def work(s: Session) -> tuple[MatchRead, AuditRecord]:
        hits, record = service.match_demographics(
            s,
            exchange=api.exchange,
            requester=api.requester(s, claims),
            purpose=body.purpose,
            person=person,
            at=api.now(),
        )
        read = MatchRead(
            purpose=body.purpose,
            policy_version=api.exchange.policy.version,
            threshold=api.exchange.match_threshold,
            results=[MatchHit(**h) for h in hits],
        )
        return read, record

    return await api.run_async(request, work, write=False)


@router.get(
    "/{person_id}",
    response_model=PersonRead,
    summary="A person's records, minimised to your agreements",
    responses=problems(400, 403, 404),
)
async def person(
    request: Request,
    claims: Claims,
    person_id: Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")],
    purpose: Annotated[
        str,
        Query(
            min_length=1,
            max_length=64,
            pattern=r"^[a-z0-9][a-z0-9_.\-]*$",
            description="Why you ask (GET /v1/purposes).",
        ),
    ],
    fields: Annotated[
        str | None,
        Query(
            max_length=2000,
            pattern=r"^[a-z0-9_.:,\- ]*$",
            description="Comma-separated: agency:entity.field, "
            "agency:entity or entity.field (default: all allowed).",
        ),
    ] = None,
) -> Response:
    """Facts from both agencies (person, registrations, episodes, programmes, enrolments,
    household), keeping only the fields agreements in force grant for the purpose."""
    api = api_state(request)
    requested = None
    if fields is not None and fields.strip():
        try:
            requested = expand(fields.split(","), all_refs(api.exchange.policy.agencies()))
        except ValueError as e:
            raise UsageError(f"fields: {e}", hint="e.g. fields=social:benefit_enrolment") from e

    def work(s: Session) -> tuple[Response, AuditRecord]:
        payload, record = service.person_view(
            s,
            exchange=api.exchange,
            requester=api.requester(s, claims),
            purpose=purpose,
            person_id=person_id,
            requested=requested,
            at=api.now(),
        )
        version = api.exchange.policy.version
        return json_response({**payload, "purpose": purpose, "policy_version": version}), record

    return await api.run_async(request, work, write=False)


@router.post(
    "/{person_id}/verify",
    response_model=VerificationRead,
    summary="Ask a yes/no question about a person",
    responses=problems(403, 404),
)
async def verify(
    request: Request,
    claims: Claims,
    person_id: Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")],
    body: VerificationAsk,
) -> VerificationRead:
    """Answered yes or no from the agencies your agreements allow; nothing else is disclosed."""
    api = api_state(request)
    now = api.now()
    question = Question(
        body.question, body.on or now.date(), amount=body.amount, programme=body.programme
    )

    def work(s: Session) -> tuple[VerificationRead, AuditRecord]:
        result, record = service.verify(
            s,
            exchange=api.exchange,
            requester=api.requester(s, claims),
            purpose=body.purpose,
            person_id=person_id,
            question=question,
            at=now,
        )
        read = VerificationRead(
            person_id=person_id,
            purpose=body.purpose,
            question=body.question,
            on=question.on,
            answer=result,
            policy_version=api.exchange.policy.version,
        )
        return read, record

    return await api.run_async(request, work, write=False)
