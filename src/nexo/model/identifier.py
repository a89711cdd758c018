"""Identifier schemes and their check-digit validators.

Each scheme knows how to normalise a written value (strip dots, dashes, spaces; upper-case) and
whether the normalised value is well formed. A bad check digit is data, not an exception: callers
decide whether it becomes a quality finding or a quarantine reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class IdentifierScheme(StrEnum):
    CL_RUN = "cl-run"  # Chile: Rol Único Nacional (persons), mod-11 check digit
    KR_RRN = "kr-rrn"  # South Korea: Resident Registration Number
    DE_STEUER_ID = "de-steuer-id"  # Germany: Steuerliche Identifikationsnummer (ISO 7064 MOD 11,10)
    AGENCY = "agency"  # an agency's own client number; no check digit
    OTHER = "other"


def run_check_digit(body: str) -> str:
    """Chile RUN/RUT check digit of the numeric body: mod 11 with weights 2..7 from the right."""
    total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(body)))
    rest = 11 - total % 11
    return {11: "0", 10: "K"}.get(rest, str(rest))


def rrn_check_digit(first12: str) -> str:
    """South Korea RRN check digit over the first 12 digits (weights 2..9,2..5)."""
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = sum(int(d) * w for d, w in zip(first12, weights, strict=True))
    return str((11 - total % 11) % 10)


def iso7064_mod11_10_check_digit(digits: str) -> str:
    """ISO 7064 MOD 11,10 check digit (German Steuer-ID)."""
    product = 10
    for d in digits:
        total = (int(d) + product) % 10 or 10
        product = (total * 2) % 11
    check = 11 - product
    return "0" if check == 10 else str(check)


def luhn_check_digit(digits: str) -> str:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2 == 0:
            n *= 2
            n -= 9 if n > 9 else 0
        total += n
    return str((10 - total % 10) % 10)


def luhn_valid(value: str) -> bool:
    return value.isdigit() and len(value) >= 2 and luhn_check_digit(value[:-1]) == value[-1]


def _normalise_run(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value).upper()


def _valid_run(value: str) -> bool:
    if not re.fullmatch(r"\d{6,8}[0-9K]", value):
        return False
    return run_check_digit(value[:-1]) == value[-1]


def format_run(value: str) -> str:
    """``12345678K`` → ``12.345.678-K`` (the way Chilean documents print it)."""
    body, dv = value[:-1], value[-1]
    groups: list[str] = []
    while body:
        groups.insert(0, body[-3:])
        body = body[:-3]
    return ".".join(groups) + "-" + dv


def _normalise_digits(value: str) -> str:
    return re.sub(r"[\s.\-/]", "", value)


def _valid_rrn(value: str) -> bool:
    if not re.fullmatch(r"\d{13}", value) or value[6] not in "1234567890":
        return False
    return rrn_check_digit(value[:12]) == value[12]


def _valid_steuer_id(value: str) -> bool:
    if not re.fullmatch(r"[1-9]\d{10}", value):
        return False
    counts = [value[:10].count(d) for d in set(value[:10])]
    # exactly one digit occurs twice or three times in the first ten digits
    if sorted(c for c in counts if c > 1) not in ([2], [3]):
        return False
    return iso7064_mod11_10_check_digit(value[:10]) == value[10]


@dataclass(frozen=True)
class SchemeRule:
    normalise: Callable[[str], str]
    is_valid: Callable[[str], bool]
    description: str


SCHEMES: dict[IdentifierScheme, SchemeRule] = {
    IdentifierScheme.CL_RUN: SchemeRule(
        _normalise_run, _valid_run, "Chile RUN, mod-11 check digit"
    ),
    IdentifierScheme.KR_RRN: SchemeRule(_normalise_digits, _valid_rrn, "Korea RRN, 13 digits"),
    IdentifierScheme.DE_STEUER_ID: SchemeRule(
        _normalise_digits, _valid_steuer_id, "Germany Steuer-ID, ISO 7064 MOD 11,10"
    ),
    IdentifierScheme.AGENCY: SchemeRule(str.strip, lambda v: bool(v), "agency client number"),
    IdentifierScheme.OTHER: SchemeRule(str.strip, lambda v: bool(v), "other identifier"),
}


def normalise_identifier(scheme: IdentifierScheme, value: str) -> str:
    return SCHEMES[scheme].normalise(value)


def is_valid_identifier(scheme: IdentifierScheme, value: str) -> bool:
    """True when the (normalised) value is well formed and its check digit is right."""
    return SCHEMES[scheme].is_valid(SCHEMES[scheme].normalise(value))
