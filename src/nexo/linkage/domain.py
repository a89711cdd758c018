"""Plain types of the master person index (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from nexo.model import Person
from nexo.model.identifier import IdentifierScheme, normalise_identifier

#: identifier schemes that name a person nationally (an agency's own client number does not)
NATIONAL_SCHEMES = frozenset(
    {IdentifierScheme.CL_RUN, IdentifierScheme.KR_RRN, IdentifierScheme.DE_STEUER_ID}
)


@dataclass(frozen=True, slots=True, order=True)
class RecordKey:
    """A person record of an agency: (agency, source, record id)."""

    agency: str
    source: str
    record_id: str

    def __str__(self) -> str:
        return f"{self.agency}/{self.source}/{self.record_id}"


class LinkMethod(StrEnum):
    DETERMINISTIC = "deterministic"  # shares a verified identifier with a valid check digit
    PROBABILISTIC = "probabilistic"  # linked by the Fellegi–Sunter model
    MANUAL = "manual"  # a steward's decision
    SINGLETON = "singleton"  # alone in its person


class EventKind(StrEnum):
    CREATED = "created"
    MERGED = "merged"
    SPLIT = "split"
    RELINKED = "relinked"


class ReviewStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"  # the two records are one person
    REJECTED = "rejected"  # the two records are two persons


@dataclass(frozen=True, slots=True)
class Demographics:
    """What linkage reads of one person record, flat."""

    key: RecordKey
    given_names: str | None = None
    family_name: str | None = None
    second_family_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    id_scheme: str | None = None
    id_value: str | None = None  # normalised
    id_verified: bool = False
    id_check_ok: bool = False
    phone: str | None = None
    email: str | None = None
    address_line: str | None = None
    locality: str | None = None
    postcode: str | None = None
    region: str | None = None
    admin_area_code: str | None = None
    country: str | None = None
    updated_on: date | None = None

    @classmethod
    def of(cls, key: RecordKey, person: Person, updated_on: date | None = None) -> Demographics:
        ident = next((i for i in person.identifiers if i.scheme in NATIONAL_SCHEMES), None)
        a, c = person.address, person.contact
        return cls(
            key=key,
            given_names=person.given_names,
            family_name=person.family_name,
            second_family_name=person.second_family_name,
            birth_date=person.birth_date,
            sex=person.sex.value if person.sex else None,
            id_scheme=ident.scheme.value if ident else None,
            id_value=normalise_identifier(ident.scheme, ident.value) if ident else None,
            id_verified=bool(ident and ident.verified),
            id_check_ok=bool(ident and ident.check_digit_ok),
            phone=c.phone if c else None,
            email=c.email if c else None,
            address_line=a.line if a else None,
            locality=a.locality if a else None,
            postcode=a.postcode if a else None,
            region=a.region if a else None,
            admin_area_code=a.admin_area_code if a else None,
            country=a.country if a else None,
            updated_on=updated_on,
        )


@dataclass(frozen=True, slots=True)
class MatchCandidate:
    """A person who may be the one searched for, through their best-matching record."""

    person_id: str
    probability: float
    record: RecordKey
    #: comparison → match weight (log2 Bayes factor); positive is evidence for a match
    evidence: dict[str, float] = field(default_factory=dict)
    match_weight: float = 0.0


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Probabilities that decide links and the review band."""

    link: float = 0.9  # a pair at or above links its records
    review: float = 0.3  # pairs in [review, link) go to stewards
    predict: float = 0.01  # pairs below are not kept at all

    def __post_init__(self) -> None:
        if not 0 < self.predict <= self.review <= self.link <= 1:
            raise ValueError("thresholds must satisfy 0 < predict <= review <= link <= 1")
