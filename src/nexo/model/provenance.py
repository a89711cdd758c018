"""Where a canonical record came from, and the envelope that binds a record to its origin."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, Field

from nexo.model.base import CanonicalModel
from nexo.model.codes import EntityType
from nexo.model.facts import (
    BenefitEnrolment,
    EmploymentEpisode,
    JobSeekerRegistration,
    ProgrammeParticipation,
)
from nexo.model.person import Household, HouseholdMembership, Person

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")]
"""Agency and source names: lower-case letters, digits, ``_ . -``."""

Entity = (
    Person
    | Household
    | HouseholdMembership
    | JobSeekerRegistration
    | EmploymentEpisode
    | ProgrammeParticipation
    | BenefitEnrolment
)

ENTITY_MODELS: dict[EntityType, type[CanonicalModel]] = {
    EntityType.PERSON: Person,
    EntityType.HOUSEHOLD: Household,
    EntityType.HOUSEHOLD_MEMBERSHIP: HouseholdMembership,
    EntityType.JOB_SEEKER_REGISTRATION: JobSeekerRegistration,
    EntityType.EMPLOYMENT_EPISODE: EmploymentEpisode,
    EntityType.PROGRAMME_PARTICIPATION: ProgrammeParticipation,
    EntityType.BENEFIT_ENROLMENT: BenefitEnrolment,
}


class SourceRecord(CanonicalModel):
    """Provenance of one version of one record."""

    agency: Name
    source: Name
    source_record_id: str = Field(min_length=1, max_length=128)
    entity_type: EntityType
    version: int = Field(default=1, ge=1)
    ingest_batch: str = Field(min_length=1, max_length=64)
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the content.")
    received_at: AwareDatetime
    mapping_version: str | None = Field(default=None, max_length=64)
    source_updated_on: date | None = Field(
        default=None, description="When the agency last updated the record, if it says."
    )


class CanonicalRecord(CanonicalModel):
    """One entity with its provenance: the unit the store keeps and versions."""

    provenance: SourceRecord
    entity: Entity

    @classmethod
    def entity_from(cls, entity_type: EntityType, data: dict[str, Any]) -> CanonicalModel:
        return ENTITY_MODELS[entity_type].model_validate(data)
