"""Named code lists a validity rule can refer to (``check: {kind: allowed, code_list: sex}``)."""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from nexo.model.codes import (
    BenefitStatus,
    ContractType,
    ParticipationStatus,
    ProgrammeType,
    RegistrationStatus,
    Relationship,
    Sex,
)
from nexo.model.identifier import IdentifierScheme
from nexo.model.isco import isco08

_ENUMS: dict[str, type[StrEnum]] = {
    "sex": Sex,
    "contract_type": ContractType,
    "registration_status": RegistrationStatus,
    "participation_status": ParticipationStatus,
    "programme_type": ProgrammeType,
    "benefit_status": BenefitStatus,
    "relationship": Relationship,
    "identifier_scheme": IdentifierScheme,
}


def names() -> list[str]:
    return sorted([*_ENUMS, "isco08", "isco08_unit_group", "iso4217_common"])


@cache
def values(name: str) -> frozenset[str]:
    """The codes of a list; ``KeyError`` names the lists that exist."""
    if name in _ENUMS:
        return frozenset(e.value for e in _ENUMS[name])
    if name == "isco08":
        return frozenset(isco08())
    if name == "isco08_unit_group":
        return frozenset(code for code, g in isco08().items() if g.level == 4)
    if name == "iso4217_common":
        return frozenset(
            {"CLP", "EUR", "KRW", "USD", "GBP", "ARS", "BRL", "COP", "MXN", "PEN", "UYU", "CHF"}
        )
    raise KeyError(f"unknown code list {name!r}; known: {', '.join(names())}")
