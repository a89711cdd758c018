"""API shapes of the policy: purposes, agreements, consent events and state."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from nexo.policy.consent import Channel, ConsentKind


class PurposeRead(BaseModel):
    id: str
    title: str
    description: str


class PurposesRead(BaseModel):
    version: str
    purposes: list[PurposeRead]


class AgreementRead(BaseModel):
    """An agreement the client's agency is party to (what it may ask, and on what basis)."""

    id: str
    version: int
    title: str
    provider: str
    recipient: str
    accountable: str
    purpose: str
    legal_basis: str
    legal_reference: str | None
    valid_from: datetime
    valid_until: datetime | None
    in_force: bool
    consent_required: bool
    retention: str
    known_to: list[str]
    fields: list[str]


class AgreementsRead(BaseModel):
    policy_version: str
    agreements: list[AgreementRead]


ConsentAction = Annotated[
    ConsentKind,
    Field(description="granted, withdrawn, expired, objected or objection_withdrawn"),
]


class ConsentEventCreate(BaseModel):
    """Record a change of the person's consent (or objection) towards your agency."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "purpose": "activation-support",
                    "kind": "granted",
                    "channel": "caseworker",
                    "notice_version": "2026-01",
                },
                {
                    "purpose": "activation-support",
                    "kind": "withdrawn",
                    "channel": "portal",
                    "notice_version": "2026-01",
                },
            ]
        },
    )

    purpose: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    kind: ConsentAction
    channel: Channel
    notice_version: str = Field(min_length=1, max_length=32)
    at: AwareDatetime | None = Field(default=None, description="When it took effect (default now).")
    expires_at: AwareDatetime | None = None


class ConsentEventRead(BaseModel):
    person_id: str
    purpose: str
    recipient: str
    kind: str
    at: datetime
    channel: str
    notice_version: str
    expires_at: datetime | None
    recorded_at: datetime
    recorded_by: str


class ConsentStateRead(BaseModel):
    person_id: str
    purpose: str
    recipient: str
    status: str
    objection: bool
    since: datetime | None
    notice_version: str | None
    at: datetime
