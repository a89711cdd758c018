"""The canonical model: the one shape every agency's data is translated into."""

from nexo.model.base import CanonicalModel, IscoCode, Money
from nexo.model.codes import (
    BenefitStatus,
    ContractType,
    EntityType,
    ParticipationStatus,
    ProgrammeType,
    RegistrationStatus,
    Relationship,
    Sex,
)
from nexo.model.facts import (
    BenefitEnrolment,
    EmploymentEpisode,
    JobSeekerRegistration,
    ProgrammeParticipation,
)
from nexo.model.identifier import IdentifierScheme, is_valid_identifier, normalise_identifier
from nexo.model.person import Address, Contact, Household, HouseholdMembership, Identifier, Person
from nexo.model.provenance import ENTITY_MODELS, CanonicalRecord, SourceRecord

__all__ = [
    "ENTITY_MODELS",
    "Address",
    "BenefitEnrolment",
    "BenefitStatus",
    "CanonicalModel",
    "CanonicalRecord",
    "Contact",
    "ContractType",
    "EmploymentEpisode",
    "EntityType",
    "Household",
    "HouseholdMembership",
    "Identifier",
    "IdentifierScheme",
    "IscoCode",
    "JobSeekerRegistration",
    "Money",
    "ParticipationStatus",
    "Person",
    "ProgrammeParticipation",
    "ProgrammeType",
    "RegistrationStatus",
    "Relationship",
    "Sex",
    "SourceRecord",
    "is_valid_identifier",
    "normalise_identifier",
]
