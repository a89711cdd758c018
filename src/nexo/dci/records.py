"""Nexo's (minimised) views → DCI Social Registry ``Member`` and ``Group`` records.

Pure and field by field: a value the disclosure port left out (None or empty) is left out of the
record too; nothing is looked up, derived or defaulted. The shapes follow the Group, Member and
SRPerson examples of ``social_api_v1.0.0.yaml`` and the enrolment example of the IBR API; see
docs/dci.md for the table.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nexo.dci.ports import AddressView, EnrolmentView, GroupView, MemberView, PersonView
from nexo.dci.query import SUBJECT_TYPE

Record = dict[str, Any]


def _compact(record: Record) -> Record:
    """Drop absent values (None, empty text, empty lists/objects); keep false and zero."""
    return {k: v for k, v in record.items() if v is not None and v != "" and v != [] and v != {}}


def _date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _identifier(kind: str, value: str) -> Record:
    return {"@type": "Identifier", "identifier_type": kind, "identifier_value": value}


def address(view: AddressView | None) -> Record | None:
    if view is None:
        return None
    out = _compact(
        {
            "street_address": view.line,
            "city": view.locality,
            "postal_code": view.postcode,
            "region": view.region,
            "admin_area_code": view.admin_area_code,
            "country": view.country,
        }
    )
    return {"@type": "Address", **out} if out else None


def _name(person: PersonView) -> Record | None:
    surnames = " ".join(n for n in (person.family_name, person.second_family_name) if n)
    out = _compact({"surname": surnames or None, "given_name": person.given_names})
    return {"@type": "Name", **out} if out else None


def _enrolment(view: EnrolmentView) -> Record:
    benefits = None
    if view.monthly_amount is not None:
        value = (
            f"{view.currency} {view.monthly_amount}" if view.currency else str(view.monthly_amount)
        )
        benefits = {"benefit_type": "Cash", "benefit_value": value, "benefit_frequency": "Monthly"}
    programme = _compact(
        {"programme_identifier": view.programme_code, "programme_name": view.programme_name}
    )
    return _compact(
        {
            "programme": programme,
            "enrolment_date": _date(view.start_date),
            "enrolment_status": view.status,
            "status_change_date": _date(view.end_date),
            "benefits": benefits,
        }
    )


def person(view: PersonView) -> Record:
    """``SRPerson`` (the member's ``demographic_info``)."""
    return {
        "@type": "SRPerson",
        **_compact(
            {
                "identifier": [_identifier(i.scheme, i.value) for i in view.identifiers],
                "name": _name(view),
                "sex": view.sex,
                "birth_date": _date(view.birth_date),
                "address": address(view.address),
                "phone_number": view.phone,
                "email": view.email,
            }
        ),
    }


def member(view: PersonView, membership: MemberView | None = None) -> Record:
    """A DCI ``Member``: the person, their household role, their benefit enrolments."""
    return {
        "@type": "Member",
        "@id": f"urn:nexo:person:{view.ref}",
        **_compact(
            {
                "member_identifier": [_identifier(SUBJECT_TYPE, view.ref)],
                "demographic_info": person(view),
                "relationship_head": membership.relationship if membership else None,
                "registration_date": _date(membership.start_date) if membership else None,
                "enrolments": [_enrolment(e) for e in view.enrolments],
                "last_updated": _date(view.updated_on),
            }
        ),
    }


def group(view: GroupView) -> Record:
    """A DCI ``Group``: a household with its (disclosed) members."""
    members = [member(m.person, m) for m in view.members]
    head = next((member(m.person, m) for m in view.members if m.relationship == "head"), None)
    place = address(view.address)
    return {
        "@type": "Group",
        "@id": f"urn:nexo:household:{view.ref}",
        **_compact(
            {
                "group_identifier": [_identifier(SUBJECT_TYPE, view.ref)],
                "group_type": "household",
                "group_size": view.size,
                "place": {"@type": "Place", "address": place} if place else None,
                "registration_date": _date(view.registered_on),
                "group_head_info": head,
                "member_list": members,
                "last_updated": _date(view.updated_on),
            }
        ),
    }


def records(views: tuple[PersonView, ...] | tuple[GroupView, ...]) -> list[Record]:
    return [group(v) if isinstance(v, GroupView) else member(v) for v in views]
