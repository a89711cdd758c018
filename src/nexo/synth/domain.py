"""Parameters and plain types of the synthetic country (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nexo.model.codes import Relationship


class ErrorClass(StrEnum):
    """Errors injected into the agencies' registries; each one is written to the ground truth."""

    TYPO = "typo"
    OCR = "ocr"
    NAME_SWAP = "name_swap"
    DATE_TRANSPOSITION = "date_transposition"
    DATE_TYPO = "date_typo"
    MISSING_IDENTIFIER = "missing_identifier"
    WRONG_CHECK_DIGIT = "wrong_check_digit"
    NICKNAME = "nickname"
    SURNAME_CHANGE = "surname_change"
    OUTDATED_ADDRESS = "outdated_address"
    DUPLICATE_RECORD = "duplicate_record"
    STALE_RECORD = "stale_record"
    INCONSISTENT_BENEFIT = "inconsistent_benefit"
    INVALID_DATE = "invalid_date"  # an impossible date such as 31/02 (rejected at ingest)
    UNKNOWN_CODE = "unknown_code"  # a retired national occupation code (rejected at ingest)


DEFAULT_RATES: dict[ErrorClass, float] = {
    ErrorClass.TYPO: 0.03,
    ErrorClass.OCR: 0.01,
    ErrorClass.NAME_SWAP: 0.01,
    ErrorClass.DATE_TRANSPOSITION: 0.01,
    ErrorClass.DATE_TYPO: 0.005,
    ErrorClass.MISSING_IDENTIFIER: 0.03,
    ErrorClass.WRONG_CHECK_DIGIT: 0.01,
    ErrorClass.NICKNAME: 0.02,
    ErrorClass.SURNAME_CHANGE: 0.5,  # of married women whose name changed
    ErrorClass.OUTDATED_ADDRESS: 0.04,
    ErrorClass.DUPLICATE_RECORD: 0.02,
    ErrorClass.STALE_RECORD: 0.02,
    ErrorClass.INCONSISTENT_BENEFIT: 0.1,  # of income-tested benefits that should have ended
    ErrorClass.INVALID_DATE: 0.002,
    ErrorClass.UNKNOWN_CODE: 0.002,
}


class SynthConfig(BaseModel):
    """Everything that determines the output; the same config gives the same bytes."""

    model_config = ConfigDict(frozen=True)

    persons: int = Field(default=10_000, ge=1, le=50_000_000)
    seed: int = Field(default=1, ge=0)
    locale: str = "cl"
    as_of: date = date(2026, 6, 30)
    years: int = Field(default=6, ge=1, le=30, description="Length of the simulated history.")
    overlap: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="Share of working-age income-support recipients who register as job seekers.",
    )
    error_scale: float = Field(default=1.0, ge=0, le=10)
    rates: dict[ErrorClass, float] = Field(default_factory=lambda: dict(DEFAULT_RATES))

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, v: str) -> str:
        from nexo.synth.locale import LOCALES

        if v not in LOCALES:
            raise ValueError(f"unknown locale {v!r}; choose one of {', '.join(LOCALES)}")
        return v

    @field_validator("rates")
    @classmethod
    def _complete_rates(cls, v: dict[ErrorClass, float]) -> dict[ErrorClass, float]:
        for key, rate in v.items():
            if not 0 <= rate <= 1:
                raise ValueError(f"rate of {key} must be between 0 and 1, got {rate}")
        return {**DEFAULT_RATES, **v}

    def rate(self, error: ErrorClass) -> float:
        return min(1.0, self.rates[error] * self.error_scale)


@dataclass(slots=True)
class Address:
    line: str
    place: str  # key into LocaleData.place_by_key
    postcode: str


@dataclass(slots=True)
class TruePerson:
    """A person as they really are; agencies hold (possibly wrong) copies."""

    pid: int
    household: int
    relationship: Relationship
    female: bool
    given_names: str
    family_name: str
    second_family_name: str
    birth_date: date
    national_id: str
    phone: str
    email: str
    birth_family_name: str | None = None  # before a change at marriage


@dataclass(slots=True)
class TrueHousehold:
    hid: int
    address: Address
    previous_address: Address
    poor: bool
    members: list[int] = field(default_factory=list)  # pids


@dataclass(slots=True)
class Spell:
    employed: bool
    start: date
    end: date | None  # None: still going on at as_of


@dataclass(frozen=True, slots=True)
class InjectedError:
    agency: str
    source: str
    record_id: str
    field: str
    error: ErrorClass
    original: str
    corrupted: str
