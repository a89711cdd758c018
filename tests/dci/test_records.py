"""Views → DCI Member and Group records: field by field, nothing added (pure)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from nexo.dci import records
from nexo.dci.ports import (
    AddressView,
    EnrolmentView,
    GroupView,
    IdentifierView,
    MemberView,
    PersonView,
)
from nexo.dci.standard import Document, problems

FULL = PersonView(
    ref="NX-1",
    given_names="Ana María",
    family_name="Pérez",
    second_family_name="Soto",
    birth_date=date(1985, 5, 20),
    sex="female",
    identifiers=(IdentifierView("cl-run", "123456785"),),
    phone="+56 9 1111 1111",
    email="a@example.org",
    address=AddressView(line="Calle 1", locality="Valparaíso", postcode="2340000", country="CL"),
    enrolments=(
        EnrolmentView(
            "SUF", "Subsidio Familiar", "active", date(2024, 2, 2), None, Decimal("21243"), "CLP"
        ),
    ),
    updated_on=date(2026, 5, 1),
)


def test_a_full_member() -> None:
    member = records.member(FULL, MemberView(FULL, "head", date(2020, 1, 15)))
    assert member == {
        "@type": "Member",
        "@id": "urn:nexo:person:NX-1",
        "member_identifier": [
            {"@type": "Identifier", "identifier_type": "nexo-id", "identifier_value": "NX-1"}
        ],
        "demographic_info": {
            "@type": "SRPerson",
            "identifier": [
                {
                    "@type": "Identifier",
                    "identifier_type": "cl-run",
                    "identifier_value": "123456785",
                }
            ],
            "name": {"@type": "Name", "surname": "Pérez Soto", "given_name": "Ana María"},
            "sex": "female",
            "birth_date": "1985-05-20",
            "address": {
                "@type": "Address",
                "street_address": "Calle 1",
                "city": "Valparaíso",
                "postal_code": "2340000",
                "country": "CL",
            },
            "phone_number": "+56 9 1111 1111",
            "email": "a@example.org",
        },
        "relationship_head": "head",
        "registration_date": "2020-01-15",
        "enrolments": [
            {
                "programme": {"programme_identifier": "SUF", "programme_name": "Subsidio Familiar"},
                "enrolment_date": "2024-02-02",
                "enrolment_status": "active",
                "benefits": {
                    "benefit_type": "Cash",
                    "benefit_value": "CLP 21243",
                    "benefit_frequency": "Monthly",
                },
            }
        ],
        "last_updated": "2026-05-01",
    }


def test_an_empty_view_gives_only_the_reference() -> None:
    assert records.member(PersonView(ref="NX-2")) == {
        "@type": "Member",
        "@id": "urn:nexo:person:NX-2",
        "member_identifier": [
            {"@type": "Identifier", "identifier_type": "nexo-id", "identifier_value": "NX-2"}
        ],
        "demographic_info": {"@type": "SRPerson"},
    }


def test_a_group_and_its_head() -> None:
    child = PersonView(ref="NX-3", given_names="Sofía")
    group = GroupView(
        ref="social:beneficiaries:H1",
        size=2,
        members=(MemberView(FULL, "head"), MemberView(child, "child")),
        address=AddressView(locality="Valparaíso"),
    )
    out = records.group(group)
    assert out["group_head_info"]["@id"] == "urn:nexo:person:NX-1"
    assert [m["relationship_head"] for m in out["member_list"]] == ["head", "child"]
    assert out["place"] == {"@type": "Place", "address": {"@type": "Address", "city": "Valparaíso"}}
    assert out["group_size"] == 2 and out["group_type"] == "household"
    assert "registration_date" not in out
    response = {
        "transaction_id": "t",
        "correlation_id": "c",
        "search_response": [
            {
                "reference_id": "r",
                "timestamp": "2026-06-30T10:00:00Z",
                "status": "succ",
                "data": {"reg_records": records.records((group,))},
            }
        ],
    }
    assert problems(Document.SOCIAL, "/components/schemas/SearchResponse", response) == []
