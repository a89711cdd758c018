"""The audit trail for agencies: signed checkpoints, their own entries, Merkle proofs."""

from __future__ import annotations

import base64
from typing import Annotated

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.orm import Session

from nexo.api.deps import api_state, require
from nexo.api.responses import problems
from nexo.audit import service
from nexo.audit.domain import AuditRecord, Checkpoint
from nexo.audit.repository import AuditRepository
from nexo.audit.schemas import CheckpointRead, ConsistencyRead, EntryRead, InclusionRead
from nexo.auth.domain import Scope
from nexo.auth.tokens import TokenClaims
from nexo.errors import NotFound

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Claims = Annotated[TokenClaims, Depends(require(Scope.AUDIT_READ))]
Index = Annotated[int, Query(ge=0, le=2**53)]


def _record(api_detail: dict[str, object], claims: TokenClaims, version: str) -> AuditRecord:
    return AuditRecord(
        kind="request",
        action="",
        decision="allow",
        client_id=claims.client_id,
        agency=claims.agency,
        policy_version=version,
        detail=api_detail,
    )


@router.get(
    "/checkpoint",
    response_model=CheckpointRead,
    summary="The latest signed checkpoint (tree head)",
    responses=problems(),
)
def checkpoint(request: Request, claims: Claims) -> CheckpointRead:
    """Signs a new checkpoint when entries were added since the last one. Keep the ``note``:
    later checkpoints must be consistent with it (GET /v1/audit/proofs/consistency)."""
    api = api_state(request)

    def work(s: Session) -> tuple[Checkpoint, AuditRecord]:
        api.requester(s, claims)
        cp = service.make_checkpoint(s, keys=api.keys, origin=api.settings.origin)
        return cp, _record({"checkpoint": cp.tree_size}, claims, api.exchange.policy.version)

    cp = api.run(request, work, write=True)
    public = api.keys.audit_key.public_key()
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return CheckpointRead(
        origin=cp.origin,
        tree_size=cp.tree_size,
        root_hash=cp.root_hash.hex(),
        at=cp.at,
        key_id=api.keys.audit_kid,
        public_key=base64.b64encode(spki).decode(),
        note=cp.note(public),
    )


@router.get(
    "/entries/{index}",
    response_model=EntryRead,
    summary="One of your own audit entries",
    responses=problems(404),
)
def entry(
    request: Request, claims: Claims, index: Annotated[int, Path(ge=0, le=2**53)]
) -> EntryRead:
    """Entries of other clients are not shown (the same 404 as a missing entry)."""
    api = api_state(request)

    def work(s: Session) -> tuple[EntryRead, AuditRecord]:
        who = api.requester(s, claims)
        row = AuditRepository(s).entry(index)
        if row is None or row.client_id != who.client_id:
            raise NotFound(f"no audit entry {index} of client {who.client_id!r}")
        body = service.entry_body(s, index) or {}
        read = EntryRead(index=index, leaf_hash=row.leaf_hash, entry=body)
        return read, _record({"entry": index}, claims, api.exchange.policy.version)

    return api.run(request, work, write=False)


@router.get(
    "/proofs/inclusion",
    response_model=InclusionRead,
    summary="Proof that one of your entries is in the log (RFC 9162)",
    responses=problems(404),
)
def inclusion(request: Request, claims: Claims, index: Index, tree_size: Index) -> InclusionRead:
    api = api_state(request)

    def work(s: Session) -> tuple[InclusionRead, AuditRecord]:
        who = api.requester(s, claims)
        row = AuditRepository(s).entry(index)
        if row is None or row.client_id != who.client_id:
            raise NotFound(f"no audit entry {index} of client {who.client_id!r}")
        p = service.inclusion_proof(s, index=index, tree_size=tree_size, cache=api.leaves)
        read = InclusionRead(
            leaf_index=p.index,
            tree_size=p.tree_size,
            leaf_hash=p.leaf_hash.hex(),
            root_hash=p.root.hex(),
            audit_path=[h.hex() for h in p.path],
        )
        return read, _record({"inclusion": index}, claims, api.exchange.policy.version)

    return api.run(request, work, write=False)


@router.get(
    "/proofs/consistency",
    response_model=ConsistencyRead,
    summary="Proof that a later tree extends an earlier one (RFC 9162)",
    responses=problems(404),
)
def consistency(request: Request, claims: Claims, first: Index, second: Index) -> ConsistencyRead:
    api = api_state(request)

    def work(s: Session) -> tuple[ConsistencyRead, AuditRecord]:
        api.requester(s, claims)
        p = service.consistency_proof(s, first=first, second=second, cache=api.leaves)
        read = ConsistencyRead(
            first=p.first,
            second=p.second,
            first_root=p.first_root.hex(),
            second_root=p.second_root.hex(),
            consistency_path=[h.hex() for h in p.path],
        )
        return read, _record({"consistency": [first, second]}, claims, api.exchange.policy.version)

    return api.run(request, work, write=False)
