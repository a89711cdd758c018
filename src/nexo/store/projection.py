"""From a canonical entity to the columns of its current-version table."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from nexo.model import (
    BenefitEnrolment,
    CanonicalModel,
    EmploymentEpisode,
    EntityType,
    Household,
    HouseholdMembership,
    JobSeekerRegistration,
    Person,
    ProgrammeParticipation,
)
from nexo.model.identifier import IdentifierScheme, is_valid_identifier
from nexo.store.base import Base
from nexo.store.tables import (
    BenefitEnrolmentRow,
    EmploymentEpisodeRow,
    HouseholdMembershipRow,
    HouseholdRow,
    JobSeekerRegistrationRow,
    PersonRecordRow,
    ProgrammeParticipationRow,
)

TABLES: dict[EntityType, type[Base]] = {
    EntityType.PERSON: PersonRecordRow,
    EntityType.HOUSEHOLD: HouseholdRow,
    EntityType.HOUSEHOLD_MEMBERSHIP: HouseholdMembershipRow,
    EntityType.JOB_SEEKER_REGISTRATION: JobSeekerRegistrationRow,
    EntityType.EMPLOYMENT_EPISODE: EmploymentEpisodeRow,
    EntityType.PROGRAMME_PARTICIPATION: ProgrammeParticipationRow,
    EntityType.BENEFIT_ENROLMENT: BenefitEnrolmentRow,
}


def _address(prefix: str, entity: Person | Household) -> dict[str, Any]:
    a = entity.address
    cols = {
        f"{prefix}address_line": a.line if a else None,
        "locality": a.locality if a else None,
        "postcode": a.postcode if a else None,
        "region": a.region if a else None,
        "admin_area_code": a.admin_area_code if a else None,
    }
    if isinstance(entity, Person):
        cols["country"] = a.country if a else None
    return cols


def columns(entity: CanonicalModel) -> dict[str, Any]:
    """The typed columns of an entity (without the shared key columns)."""
    if isinstance(entity, Person):
        return {
            "given_names": entity.given_names,
            "family_name": entity.family_name,
            "second_family_name": entity.second_family_name,
            "birth_date": entity.birth_date,
            "sex": entity.sex.value if entity.sex else None,
            "phone": entity.contact.phone if entity.contact else None,
            "email": entity.contact.email if entity.contact else None,
            **_address("", entity),
        }
    if isinstance(entity, Household):
        return {**_address("", entity), "registered_on": entity.registered_on, "size": entity.size}
    if isinstance(entity, HouseholdMembership):
        return entity.model_dump(mode="python") | {"relationship": entity.relationship.value}
    if isinstance(
        entity,
        JobSeekerRegistration | EmploymentEpisode | ProgrammeParticipation | BenefitEnrolment,
    ):
        data = entity.model_dump(mode="python")
        return {k: (v.value if hasattr(v, "value") else v) for k, v in data.items()}
    raise TypeError(f"no projection for {type(entity).__name__}")


@lru_cache(maxsize=1 << 15)
def check_digit_ok(scheme: IdentifierScheme, value: str) -> bool:
    """``Identifier.check_digit_ok``, remembered: ingest checks each identifier when it maps a
    row and again when it projects it."""
    return is_valid_identifier(scheme, value)


def identifiers(entity: CanonicalModel) -> list[dict[str, Any]]:
    if not isinstance(entity, Person):
        return []
    return [
        {
            "scheme": i.scheme.value,
            "value": i.value,
            "verified": i.verified,
            "check_digit_ok": check_digit_ok(i.scheme, i.value),
        }
        for i in entity.identifiers
    ]
