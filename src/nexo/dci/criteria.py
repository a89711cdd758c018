"""Search criteria in Nexo's terms: what the DCI layer hands the disclosure port.

A DCI query (``idtype-value``, ``expression`` or ``predicate``) is parsed into these few pure
types (``nexo.dci.query``), so the exchange layer never needs to know DCI's query languages.
Pure: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Attribute(StrEnum):
    """What a criterion compares; values are canonical-model names."""

    SUBJECT = "subject"  # the subject reference the port gave out (PersonView.ref / GroupView.ref)
    IDENTIFIER = "identifier"  # an identifier value, optionally of given schemes
    GIVEN_NAMES = "given_names"
    FAMILY_NAME = "family_name"
    BIRTH_DATE = "birth_date"
    BIRTH_YEAR = "birth_year"
    SEX = "sex"
    POSTCODE = "postcode"
    LOCALITY = "locality"
    REGION = "region"
    ADMIN_AREA_CODE = "admin_area_code"
    HOUSEHOLD_SIZE = "household_size"
    PROGRAMME_CODE = "programme_code"  # enrolled (in any status) in this benefit programme

    @property
    def value_type(self) -> type:
        return _TYPES.get(self, str)

    @property
    def ordered(self) -> bool:
        """Whether ``gt``/``lt``/``ge``/``le`` make sense for it."""
        return self.value_type is not str


_TYPES: dict[Attribute, type] = {
    Attribute.BIRTH_DATE: date,
    Attribute.BIRTH_YEAR: int,
    Attribute.HOUSEHOLD_SIZE: int,
}


class Operator(StrEnum):
    EQ = "eq"
    GT = "gt"
    LT = "lt"
    GE = "ge"
    LE = "le"
    IN = "in"


Scalar = str | int | date


@dataclass(frozen=True, slots=True)
class Comparison:
    """``attribute operator value``; for ``in`` the value is a tuple of scalars.

    String comparisons are exact after the normalisation the store applies (identifiers by their
    scheme's rules, names and places case-insensitively). For :attr:`Attribute.IDENTIFIER`,
    ``schemes`` restricts the identifier schemes searched (empty: any scheme).
    """

    attribute: Attribute
    operator: Operator
    value: Scalar | tuple[Scalar, ...]
    schemes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Criteria, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Criteria, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Criteria


Criteria = Comparison | AllOf | AnyOf | Not


class Entity(StrEnum):
    """What the caller wants back: persons (DCI ``Member``) or households (DCI ``Group``)."""

    MEMBER = "member"
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class SortKey:
    attribute: Attribute
    descending: bool = False


@dataclass(frozen=True, slots=True)
class SubjectQuery:
    """A search: which entity, matching what, in which order (ties: by subject reference)."""

    entity: Entity
    criteria: Criteria
    sort: tuple[SortKey, ...] = ()


def comparisons(criteria: Criteria) -> list[Comparison]:
    """Every comparison in ``criteria``, depth first."""
    if isinstance(criteria, Comparison):
        return [criteria]
    if isinstance(criteria, Not):
        return comparisons(criteria.item)
    return [c for item in criteria.items for c in comparisons(item)]
