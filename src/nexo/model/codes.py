"""Closed code lists of the canonical model.

Values are lower-case English words so that they read well in JSON, CSV exports and the console.
Legacy agency codes are translated to these by mappings (see ``docs/mapping.md``).
"""

from __future__ import annotations

from enum import StrEnum


class Sex(StrEnum):
    """Sex as recorded by the agency (ISO/IEC 5218 categories)."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class EntityType(StrEnum):
    PERSON = "person"
    HOUSEHOLD = "household"
    HOUSEHOLD_MEMBERSHIP = "household_membership"
    JOB_SEEKER_REGISTRATION = "job_seeker_registration"
    EMPLOYMENT_EPISODE = "employment_episode"
    PROGRAMME_PARTICIPATION = "programme_participation"
    BENEFIT_ENROLMENT = "benefit_enrolment"


class RegistrationStatus(StrEnum):
    ACTIVE = "active"
    PLACED = "placed"  # ended because the person found work
    INACTIVE = "inactive"  # ended for another reason (moved, no contact, withdrew)


class ContractType(StrEnum):
    PERMANENT = "permanent"
    FIXED_TERM = "fixed_term"
    TEMPORARY_AGENCY = "temporary_agency"
    APPRENTICESHIP = "apprenticeship"
    SELF_EMPLOYED = "self_employed"
    INFORMAL = "informal"
    OTHER = "other"


class ProgrammeType(StrEnum):
    TRAINING = "training"
    JOB_SEARCH_ASSISTANCE = "job_search_assistance"
    WAGE_SUBSIDY = "wage_subsidy"


class ParticipationStatus(StrEnum):
    ENROLLED = "enrolled"
    COMPLETED = "completed"
    DROPPED_OUT = "dropped_out"


class BenefitStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ENDED = "ended"


class Relationship(StrEnum):
    """Relationship of a member to the head of the household."""

    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    GRANDCHILD = "grandchild"
    OTHER_RELATIVE = "other_relative"
    NON_RELATIVE = "non_relative"
