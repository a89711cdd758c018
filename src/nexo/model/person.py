"""Persons, their identifiers, contact, address, and households."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from nexo.model.base import AdminAreaCode, CanonicalModel
from nexo.model.codes import Relationship, Sex
from nexo.model.identifier import IdentifierScheme, is_valid_identifier


class Identifier(CanonicalModel):
    """An identifier of a person under a scheme.

    ``verified`` means the agency checked it against an authoritative source (a civil registry or
    the document), not merely that the check digit is right.
    """

    scheme: IdentifierScheme
    value: str = Field(min_length=1, max_length=64)
    verified: bool = False

    @property
    def check_digit_ok(self) -> bool:
        return is_valid_identifier(self.scheme, self.value)


class Contact(CanonicalModel):
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)


class Address(CanonicalModel):
    line: str | None = Field(default=None, max_length=200, description="Street and number.")
    locality: str | None = Field(default=None, max_length=100, description="Town or commune.")
    postcode: str | None = Field(default=None, max_length=16)
    region: str | None = Field(default=None, max_length=100)
    admin_area_code: AdminAreaCode | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1.")


class Person(CanonicalModel):
    """A person as one agency knows them (one source record).

    Hispanic naming: ``family_name`` is the first (paternal) family name and
    ``second_family_name`` the second (maternal); elsewhere ``second_family_name`` is empty.
    """

    given_names: str | None = Field(default=None, max_length=120)
    family_name: str | None = Field(default=None, max_length=80)
    second_family_name: str | None = Field(default=None, max_length=80)
    birth_date: date | None = None
    sex: Sex | None = None
    identifiers: tuple[Identifier, ...] = ()
    contact: Contact | None = None
    address: Address | None = None

    def identifier(self, scheme: IdentifierScheme) -> Identifier | None:
        return next((i for i in self.identifiers if i.scheme == scheme), None)


class Household(CanonicalModel):
    """A household as the social protection agency registers it."""

    address: Address | None = None
    registered_on: date | None = None
    size: int | None = Field(default=None, ge=1, le=99)


class HouseholdMembership(CanonicalModel):
    """A person's membership of a household (both named by the agency's record ids)."""

    household_id: str = Field(min_length=1, max_length=64)
    person_record_id: str = Field(min_length=1, max_length=64)
    relationship: Relationship
    start_date: date | None = None
    end_date: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> HouseholdMembership:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self
