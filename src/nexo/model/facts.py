"""Facts about a person held by one agency: registrations, jobs, programmes, benefits.

Each fact names its person by ``person_record_id``: the id of the person's record in the same
agency (the master person index links it to persons of other agencies).
"""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from nexo.model.base import CanonicalModel, CurrencyCode, IscoCode, Money
from nexo.model.codes import (
    BenefitStatus,
    ContractType,
    ParticipationStatus,
    ProgrammeType,
    RegistrationStatus,
)


class _Period(CanonicalModel):
    start_date: date
    end_date: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> _Period:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self

    def active_on(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


class _PersonFact(_Period):
    person_record_id: str = Field(min_length=1, max_length=64)
    person_source: str | None = Field(
        default=None, max_length=64, description="Source of the person record, if not this one."
    )


class JobSeekerRegistration(_PersonFact):
    """Registration of a person as a job seeker with the employment service."""

    status: RegistrationStatus
    office_code: str | None = Field(default=None, max_length=32)
    desired_occupation: IscoCode | None = None


class EmploymentEpisode(_PersonFact):
    """A spell of employment."""

    employer_name: str | None = Field(default=None, max_length=200)
    employer_id: str | None = Field(default=None, max_length=64)
    occupation: IscoCode | None = None
    monthly_wage: Money | None = None
    currency: CurrencyCode | None = None
    contract_type: ContractType | None = None


class ProgrammeParticipation(_PersonFact):
    """Participation in an active labour-market programme."""

    programme_type: ProgrammeType
    programme_code: str | None = Field(default=None, max_length=32)
    status: ParticipationStatus


class BenefitEnrolment(_PersonFact):
    """Enrolment of a person in a social protection programme."""

    programme_code: str = Field(min_length=1, max_length=32)
    programme_name: str | None = Field(default=None, max_length=200)
    means_tested: bool
    status: BenefitStatus
    monthly_amount: Money | None = None
    currency: CurrencyCode | None = None
    household_id: str | None = Field(default=None, max_length=64)
