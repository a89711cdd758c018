"""Consent and objections: an append-only history per person, purpose and recipient.

The state at any moment is rebuilt by folding the events up to it; nothing is ever updated in
place, so the history shows who changed what, when, through which channel and under which
version of the information notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from nexo.policy.domain import Slug


class ConsentKind(StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    OBJECTED = "objected"
    OBJECTION_WITHDRAWN = "objection_withdrawn"


class Channel(StrEnum):
    PORTAL = "portal"
    CASEWORKER = "caseworker"
    PAPER = "paper"
    PHONE = "phone"
    API = "api"


class ConsentStatus(StrEnum):
    NONE = "none"
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class ConsentEvent(BaseModel):
    """One change of a person's consent (or objection) for a purpose and a recipient."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person_id: str = Field(min_length=1, max_length=32)
    purpose: Slug
    recipient: Slug
    kind: ConsentKind
    at: AwareDatetime = Field(description="When the change takes effect.")
    channel: Channel
    notice_version: str = Field(min_length=1, max_length=32)
    expires_at: AwareDatetime | None = Field(
        default=None, description="For a grant: when it lapses on its own."
    )
    recorded_at: AwareDatetime
    recorded_by: str = Field(min_length=1, max_length=64)
    seq: int = Field(default=0, ge=0, description="Order of recording (ties on 'at').")

    @model_validator(mode="after")
    def _coherent(self) -> ConsentEvent:
        if self.expires_at is not None:
            if self.kind is not ConsentKind.GRANTED:
                raise ValueError("only a grant can carry expires_at")
            if self.expires_at <= self.at:
                raise ValueError("expires_at must be after the grant takes effect")
        return self


@dataclass(frozen=True, slots=True)
class ConsentState:
    status: ConsentStatus = ConsentStatus.NONE
    objection: bool = False
    since: datetime | None = None
    notice_version: str | None = None
    channel: str | None = None

    @property
    def granted(self) -> bool:
        return self.status is ConsentStatus.GRANTED


NO_CONSENT = ConsentState()

ConsentView = Mapping[tuple[str, str], ConsentState]
"""(purpose, recipient) → the state for one person at one moment."""


def state_at(
    events: Iterable[ConsentEvent], at: datetime, *, known_at: datetime | None = None
) -> dict[tuple[str, str], ConsentState]:
    """The consent state of one person at ``at``.

    By default every recorded event counts (what we know now about that moment); ``known_at``
    leaves out events recorded later, so a past decision is replayed with exactly what was
    known when it was taken.
    """
    relevant = sorted(
        (e for e in events if e.at <= at and (known_at is None or e.recorded_at <= known_at)),
        key=lambda e: (e.at, e.seq),
    )
    out: dict[tuple[str, str], ConsentState] = {}
    expiry: dict[tuple[str, str], datetime | None] = {}
    for e in relevant:
        key = (e.purpose, e.recipient)
        s = out.get(key, NO_CONSENT)
        if e.kind is ConsentKind.GRANTED:
            s = ConsentState(ConsentStatus.GRANTED, s.objection, e.at, e.notice_version, e.channel)
            expiry[key] = e.expires_at
        elif e.kind in (ConsentKind.WITHDRAWN, ConsentKind.EXPIRED):
            status = ConsentStatus(e.kind.value)
            s = ConsentState(status, s.objection, e.at, e.notice_version, e.channel)
            expiry[key] = None
        elif e.kind is ConsentKind.OBJECTED:
            s = ConsentState(s.status, True, s.since, s.notice_version, s.channel)
        elif e.kind is ConsentKind.OBJECTION_WITHDRAWN:
            s = ConsentState(s.status, False, s.since, s.notice_version, s.channel)
        out[key] = s
    for key, until in expiry.items():
        s = out[key]
        if until is not None and s.granted and until <= at:
            out[key] = ConsentState(
                ConsentStatus.EXPIRED, s.objection, until, s.notice_version, s.channel
            )
    return out
