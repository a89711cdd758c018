"""A tiny country for exchange tests: four persons, both agencies, every kind of fact.

| label | employment (jobseekers) | social (beneficiaries) | facts |
| --- | --- | --- | --- |
| both | E1 (RUN A) | S1 (RUN A) | active registration, job, income support, household of 3 |
| employment_only | E2 (RUN B) | - | placed registration, programme |
| social_only | - | S3 (RUN C) | child allowance |
| twin | E4 (RUN D, unverified) | - | none |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nexo.exchange.mpi_seed import seed_mpi_from_identifiers
from nexo.linkage.tables import MpiLinkRow
from nexo.model import (
    BenefitEnrolment,
    EmploymentEpisode,
    EntityType,
    Household,
    HouseholdMembership,
    Identifier,
    IdentifierScheme,
    JobSeekerRegistration,
    Person,
    ProgrammeParticipation,
)
from nexo.model.codes import (
    BenefitStatus,
    ParticipationStatus,
    ProgrammeType,
    RegistrationStatus,
    Relationship,
    Sex,
)
from nexo.model.identifier import run_check_digit
from nexo.store.engine import transaction
from nexo.store.repository import NewRecord, RecordRepository

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def run(body: str) -> str:
    return body + run_check_digit(body)


RUN_A, RUN_B, RUN_C, RUN_D = run("11111111"), run("22222222"), run("13333333"), run("14444444")


def _person(given: str, family: str, born: date, value: str, verified: bool = True) -> Person:
    return Person(
        given_names=given,
        family_name=family,
        second_family_name="Soto",
        birth_date=born,
        sex=Sex.FEMALE,
        identifiers=(Identifier(scheme=IdentifierScheme.CL_RUN, value=value, verified=verified),),
    )


def _write(s: Session, agency: str, source: str, *records: NewRecord) -> None:
    RecordRepository(s).write(
        agency=agency,
        source=source,
        batch_id="test",
        mapping_version="1",
        received_at=T0,
        records=list(records),
    )


@dataclass(frozen=True)
class World:
    pid: dict[str, str]


def build_world(factory: sessionmaker[Session]) -> World:
    P, R = EntityType.PERSON, NewRecord.of
    with transaction(factory) as s:
        _write(
            s,
            "employment",
            "jobseekers",
            R(P, "E1", _person("Ana", "Rojas", date(1990, 5, 17), RUN_A)),
            R(P, "E2", _person("Berta", "Diaz", date(1985, 1, 2), RUN_B)),
            R(P, "E4", _person("Dora", "Vega", date(1999, 9, 9), RUN_D, verified=False)),
            R(
                EntityType.JOB_SEEKER_REGISTRATION,
                "R1",
                JobSeekerRegistration(
                    person_record_id="E1",
                    start_date=date(2026, 2, 1),
                    status=RegistrationStatus.ACTIVE,
                    office_code="O-12",
                ),
            ),
            R(
                EntityType.JOB_SEEKER_REGISTRATION,
                "R2",
                JobSeekerRegistration(
                    person_record_id="E2",
                    start_date=date(2025, 1, 1),
                    end_date=date(2025, 6, 30),
                    status=RegistrationStatus.PLACED,
                ),
            ),
        )
        _write(
            s,
            "employment",
            "episodes",
            R(
                EntityType.EMPLOYMENT_EPISODE,
                "EP1",
                EmploymentEpisode(
                    person_record_id="E1",
                    person_source="jobseekers",
                    start_date=date(2025, 1, 1),
                    end_date=date(2026, 1, 31),
                    employer_name="Acme",
                    monthly_wage=Decimal("500000"),
                    currency="CLP",
                ),
            ),
        )
        _write(
            s,
            "employment",
            "programmes",
            R(
                EntityType.PROGRAMME_PARTICIPATION,
                "PP1",
                ProgrammeParticipation(
                    person_record_id="E2",
                    person_source="jobseekers",
                    start_date=date(2025, 2, 1),
                    programme_type=ProgrammeType.TRAINING,
                    status=ParticipationStatus.COMPLETED,
                ),
            ),
        )
        _write(
            s,
            "social",
            "beneficiaries",
            R(P, "S1", _person("Ana", "Rojas", date(1990, 5, 17), RUN_A)),
            R(P, "S3", _person("Carla", "Mora", date(1970, 7, 7), RUN_C)),
            R(EntityType.HOUSEHOLD, "H1", Household(registered_on=date(2020, 1, 1), size=3)),
            R(
                EntityType.HOUSEHOLD_MEMBERSHIP,
                "M1",
                HouseholdMembership(
                    household_id="H1", person_record_id="S1", relationship=Relationship.HEAD
                ),
            ),
        )
        _write(
            s,
            "social",
            "benefit-events",
            R(
                EntityType.BENEFIT_ENROLMENT,
                "BE1",
                BenefitEnrolment(
                    person_record_id="S1",
                    person_source="beneficiaries",
                    start_date=date(2026, 1, 1),
                    programme_code="income-support",
                    means_tested=True,
                    status=BenefitStatus.ACTIVE,
                    monthly_amount=Decimal("120000"),
                    currency="CLP",
                ),
            ),
            R(
                EntityType.BENEFIT_ENROLMENT,
                "BE3",
                BenefitEnrolment(
                    person_record_id="S3",
                    person_source="beneficiaries",
                    start_date=date(2019, 1, 1),
                    programme_code="child-allowance",
                    means_tested=False,
                    status=BenefitStatus.ACTIVE,
                ),
            ),
        )
        seed_mpi_from_identifiers(s, now=T0)
    with transaction(factory) as s:
        links = {r: p for r, p in s.execute(select(MpiLinkRow.record_id, MpiLinkRow.person_id))}
    return World(
        pid={
            "both": links["E1"],
            "employment_only": links["E2"],
            "social_only": links["S3"],
            "twin": links["E4"],
        }
    )
