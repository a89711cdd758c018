from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from nexo.model import (
    ENTITY_MODELS,
    Address,
    BenefitEnrolment,
    BenefitStatus,
    CanonicalRecord,
    Contact,
    EmploymentEpisode,
    EntityType,
    Identifier,
    IdentifierScheme,
    Person,
    Sex,
    SourceRecord,
)

PERSON = Person(
    given_names="María José",
    family_name="González",
    second_family_name="Muñoz",
    birth_date=date(1984, 3, 9),
    sex=Sex.FEMALE,
    identifiers=(Identifier(scheme=IdentifierScheme.CL_RUN, value="123456785", verified=True),),
    contact=Contact(phone="+56 9 12345678", email="mj@example.org"),
    address=Address(line="Calle Esmeralda 12", locality="Valparaíso", admin_area_code="05101"),
)


def test_person_round_trips_through_json() -> None:
    again = Person.model_validate_json(PERSON.model_dump_json())
    assert again == PERSON
    assert again.birth_date == date(1984, 3, 9)  # a real date, not a string
    assert again.identifier(IdentifierScheme.CL_RUN).check_digit_ok  # type: ignore[union-attr]


def test_every_entity_type_has_a_model() -> None:
    assert set(ENTITY_MODELS) == set(EntityType)


def test_isco_codes_are_checked() -> None:
    ok = EmploymentEpisode(person_record_id="E1", start_date=date(2020, 1, 1), occupation="2512")
    assert ok.occupation == "2512"
    with pytest.raises(ValidationError, match="not an ISCO-08 code"):
        EmploymentEpisode(person_record_id="E1", start_date=date(2020, 1, 1), occupation="2599")


def test_periods_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="end_date is before start_date"):
        BenefitEnrolment(
            person_record_id="B1",
            programme_code="SUF",
            means_tested=True,
            status=BenefitStatus.ENDED,
            start_date=date(2024, 5, 1),
            end_date=date(2024, 4, 1),
        )


def test_money_has_two_decimals_at_most() -> None:
    with pytest.raises(ValidationError):
        EmploymentEpisode(
            person_record_id="E1", start_date=date(2020, 1, 1), monthly_wage=Decimal("1.234")
        )


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        Person.model_validate({"given_names": "Ana", "nickname": "Anita"})


def test_canonical_record_round_trips() -> None:
    record = CanonicalRecord(
        provenance=SourceRecord(
            agency="social",
            source="beneficiaries",
            source_record_id="B1",
            entity_type=EntityType.PERSON,
            ingest_batch="b-1",
            content_hash="0" * 64,
            received_at="2026-01-01T10:00:00+00:00",  # type: ignore[arg-type]
        ),
        entity=PERSON,
    )
    again = CanonicalRecord.model_validate_json(record.model_dump_json())
    assert again == record
    assert again.provenance.received_at.tzinfo is not None


def test_source_record_needs_a_time_zone() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        SourceRecord(
            agency="social",
            source="b",
            source_record_id="1",
            entity_type=EntityType.PERSON,
            ingest_batch="x",
            content_hash="0" * 64,
            received_at="2026-01-01T10:00:00",  # type: ignore[arg-type]
        )


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40)


@given(
    given_names=names,
    family=names,
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 1, 1)),
    sex=st.sampled_from(Sex),
    wage=st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False),
)
def test_models_round_trip_for_any_value(
    given_names: str, family: str, birth: date, sex: Sex, wage: Decimal
) -> None:
    person = Person(given_names=given_names, family_name=family, birth_date=birth, sex=sex)
    assert Person.model_validate_json(person.model_dump_json()) == person
    episode = EmploymentEpisode(person_record_id="E1", start_date=birth, monthly_wage=wage)
    assert EmploymentEpisode.model_validate_json(episode.model_dump_json()) == episode
