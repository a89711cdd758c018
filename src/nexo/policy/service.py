"""Use cases of the policy part: consent history and stored policy versions. Never commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from nexo.errors import NotFound, UsageError
from nexo.policy.consent import ConsentEvent, ConsentKind, ConsentState, state_at
from nexo.policy.domain import AgreementSet
from nexo.policy.repository import ConsentRepository, PolicyVersionRepository
from nexo.policy.tables import PolicyVersionRow

CLOCK_SKEW = timedelta(minutes=5)


def consent_event(**fields: Any) -> ConsentEvent:
    """A consent event from what a caller gave; an invalid one is a usage error saying why."""
    try:
        return ConsentEvent(**fields)
    except ValueError as e:
        raise UsageError(f"not a valid consent event: {e}") from e


def record_consent(session: Session, *, event: ConsentEvent) -> ConsentEvent:
    """Append one consent event. Events take effect now or in the past, never in the future."""
    if event.at > event.recorded_at + CLOCK_SKEW:
        raise UsageError(
            "a consent change cannot take effect in the future",
            hint="record it when it happens; a grant can carry expires_at",
        )
    if event.kind is ConsentKind.EXPIRED and event.expires_at is not None:
        raise UsageError("an expiry event carries no expires_at")
    return ConsentRepository(session).add(event)


def consent_history(session: Session, *, person_id: str) -> list[ConsentEvent]:
    return ConsentRepository(session).events(person_id)


def consent_view(
    session: Session, *, person_id: str, at: datetime, known_at: datetime | None = None
) -> dict[tuple[str, str], ConsentState]:
    """The person's consent and objections at ``at``, read fresh (never cached)."""
    return state_at(ConsentRepository(session).events(person_id), at, known_at=known_at)


def remember_policy(session: Session, *, policy: AgreementSet, now: datetime) -> str:
    """Store the policy document under its version (once), so decisions can be replayed."""
    repo = PolicyVersionRepository(session)
    if not repo.known(policy.version):
        repo.add(
            PolicyVersionRow(version=policy.version, first_used_at=now, document=policy.document())
        )
    return policy.version


def policy_at_version(session: Session, *, version: str) -> AgreementSet:
    row = PolicyVersionRepository(session).get(version)
    if row is None:
        raise NotFound(
            f"policy version {version} is not stored",
            hint="decisions are replayable once the policy was loaded by nexo serve",
        )
    return AgreementSet.model_validate(row.document)
