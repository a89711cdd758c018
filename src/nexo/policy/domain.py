"""Data-sharing agreements and the purpose catalogue: pure types, no I/O.

An agreement lets one agency (the *recipient*) use named data of another (the *provider*, which
may be itself) for one purpose, on one legal basis, within a validity window. Everything not
granted by an agreement in force is denied (deny by default).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from nexo.errors import UsageError
from nexo.policy.fields import ANSWER, ANSWERS, ENTITY_FIELDS, FieldRef

Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")]
"""Names of agencies, purposes and agreements: lower-case letters, digits, ``_ . -``."""


class LegalBasis(StrEnum):
    """Lawful bases for processing (GDPR art. 6(1) and its equivalents elsewhere)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"


#: bases under which a person's objection stops the processing unless the agreement says otherwise
OBJECTION_BASES = frozenset({LegalBasis.PUBLIC_TASK, LegalBasis.LEGITIMATE_INTERESTS})

_ZONED = re.compile(
    r"^(?P<local>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)\[(?P<zone>[^\]]+)\]$"
)


def _aware(value: Any) -> datetime:
    """An instant with an explicit zone: an ISO offset or ``2026-01-01T00:00[America/Santiago]``."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(
                "a time without a zone is ambiguous: add an offset (2026-01-01T00:00:00-03:00) "
                "or a zone (2026-01-01T00:00[America/Santiago])"
            )
        return value
    if isinstance(value, date):
        raise ValueError(
            "give a time and a zone, not a bare date: e.g. 2026-01-01T00:00[America/Santiago]"
        )
    if isinstance(value, str):
        m = _ZONED.match(value.strip())
        if m:
            try:
                zone = ZoneInfo(m.group("zone"))
            except (ZoneInfoNotFoundError, ValueError) as e:
                raise ValueError(f"unknown time zone {m.group('zone')!r}") from e
            return datetime.fromisoformat(m.group("local")).replace(tzinfo=zone)
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as e:
            raise ValueError(f"{value!r} is not an ISO 8601 time") from e
        return _aware(parsed)
    raise ValueError("expected a time with a zone")


Instant = Annotated[datetime, BeforeValidator(_aware)]

_DURATION = re.compile(r"^P(?:(?P<y>\d+)Y)?(?:(?P<m>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?$")


def _retention(value: str) -> str:
    m = _DURATION.match(value)
    if not m or not any(m.groupdict().values()):
        raise ValueError(f"{value!r} is not an ISO 8601 period such as P90D, P6M or P1Y")
    return value


def retention_days(period: str) -> int:
    """Upper bound in days of an ISO 8601 period (months as 31 days, years as 366)."""
    m = _DURATION.match(period)
    assert m
    g = {k: int(v or 0) for k, v in m.groupdict().items()}
    return g["y"] * 366 + g["m"] * 31 + g["w"] * 7 + g["d"]


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Purpose(_Policy):
    id: Slug
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


class PurposeCatalogue(_Policy):
    nexo_purposes: int = Field(ge=1, le=1, description="Format version of this file.")
    version: str = Field(min_length=1, max_length=32)
    purposes: list[Purpose] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> PurposeCatalogue:
        ids = [p.id for p in self.purposes]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"purpose ids appear twice: {', '.join(dupes)}")
        return self

    def get(self, purpose_id: str) -> Purpose | None:
        return next((p for p in self.purposes if p.id == purpose_id), None)

    def require(self, purpose_id: str, *, what: str = "purpose") -> Purpose:
        """The purpose, or a usage error that lists the catalogue's purposes."""
        found = self.get(purpose_id)
        if found is None:
            raise UsageError(
                f"{what} {purpose_id!r} is not in the purpose catalogue",
                hint="purposes: " + ", ".join(sorted(p.id for p in self.purposes)),
            )
        return found


class Parties(_Policy):
    provider: Slug = Field(description="The agency whose data is shared.")
    recipient: Slug = Field(description="The agency whose clients receive it.")


class Grant(_Policy):
    entity: str
    fields: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _known(self) -> Grant:
        if self.entity not in ENTITY_FIELDS:
            raise ValueError(
                f"unknown entity {self.entity!r}; known: {', '.join(sorted(ENTITY_FIELDS))}"
            )
        unknown = [f for f in self.fields if f not in ENTITY_FIELDS[self.entity]]
        if unknown:
            raise ValueError(
                f"{self.entity} has no field {', '.join(map(repr, unknown))}; fields: "
                + ", ".join(ENTITY_FIELDS[self.entity])
            )
        return self


def _answer(name: str) -> str:
    if name not in ANSWERS:
        raise ValueError(f"unknown answer {name!r}; known: {', '.join(sorted(ANSWERS))}")
    return name


class RowFilter(_Policy):
    known_to: list[str] = Field(
        default_factory=list,
        description="The subject must have a record with each of these agencies "
        "('recipient' and 'provider' name the parties).",
    )


class Agreement(_Policy):
    nexo_agreement: int = Field(ge=1, le=1, description="Format version of this file.")
    id: Slug
    version: int = Field(ge=1)
    title: str = Field(min_length=1, max_length=200)
    parties: Parties
    accountable: str = Field(
        min_length=1, max_length=200, description="Who answers for each disclosure."
    )
    purpose: Slug
    legal_basis: LegalBasis
    legal_reference: str | None = Field(default=None, max_length=300)
    valid_from: Instant
    valid_until: Instant | None = None
    consent_required: bool
    objection_honoured: bool | None = Field(
        default=None,
        description="Whether a recorded objection stops disclosure; default: yes for public "
        "task and legitimate interests.",
    )
    retention: Annotated[str, AfterValidator(_retention)]
    row_filter: RowFilter = Field(default_factory=RowFilter)
    grants: list[Grant] = Field(default_factory=list)
    answers: list[Annotated[str, AfterValidator(_answer)]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _coherent(self) -> Agreement:
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from (the end is exclusive)")
        if self.legal_basis is LegalBasis.CONSENT and not self.consent_required:
            raise ValueError("an agreement on the legal basis 'consent' must set consent_required")
        if not self.grants and not self.answers:
            raise ValueError("an agreement must grant fields (grants) or answers (answers)")
        for party in self.row_filter.known_to:
            if not re.fullmatch(r"[a-z0-9][a-z0-9_.\-]*", party):
                raise ValueError(f"row_filter.known_to: {party!r} is not an agency name")
        return self

    @property
    def key(self) -> str:
        return f"{self.id}@v{self.version}"

    @property
    def honours_objection(self) -> bool:
        if self.objection_honoured is not None:
            return self.objection_honoured
        return self.legal_basis in OBJECTION_BASES

    def in_force(self, at: datetime) -> bool:
        """Start inclusive, end exclusive."""
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)

    def known_to(self) -> frozenset[str]:
        alias = {"recipient": self.parties.recipient, "provider": self.parties.provider}
        return frozenset(alias.get(p, p) for p in self.row_filter.known_to)

    def refs(self) -> frozenset[FieldRef]:
        agency = self.parties.provider
        refs = {FieldRef(agency, g.entity, f) for g in self.grants for f in g.fields}
        refs |= {FieldRef(agency, ANSWER, a) for a in self.answers}
        return frozenset(refs)


class AgreementSet(BaseModel):
    """The purpose catalogue and every agreement, with a version that names their content."""

    model_config = ConfigDict(frozen=True)

    catalogue: PurposeCatalogue
    agreements: tuple[Agreement, ...]

    @model_validator(mode="after")
    def _consistent(self) -> AgreementSet:
        keys = [a.key for a in self.agreements]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"agreement versions appear twice: {', '.join(dupes)}")
        for a in self.agreements:
            if self.catalogue.get(a.purpose) is None:
                raise ValueError(
                    f"agreement {a.key}: purpose {a.purpose!r} is not in the purpose catalogue"
                )
        return self

    def document(self) -> dict[str, Any]:
        """The whole policy as JSON, as stored with its version for replaying decisions."""
        return self.model_dump(mode="json")

    @cached_property
    def version(self) -> str:
        text = json.dumps(self.document(), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:32]

    def agencies(self) -> frozenset[str]:
        return frozenset(
            a for ag in self.agreements for a in (ag.parties.provider, ag.parties.recipient)
        )

    def for_recipient(self, agency: str) -> tuple[Agreement, ...]:
        return tuple(a for a in self.agreements if a.parties.recipient == agency)
