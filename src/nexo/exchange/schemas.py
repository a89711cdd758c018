"""API shapes of the exchange: searches, person views, verification questions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexo.model import IdentifierScheme, Sex

PurposeId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9_.\-]*$",
        description="Why you ask: a purpose of the catalogue (GET /v1/purposes).",
        examples=["benefit-eligibility"],
    ),
]
PersonId = Annotated[
    str,
    Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$", examples=["nx4be1c0ffee"]),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IdentifierQuery(_Strict):
    scheme: IdentifierScheme
    value: str = Field(min_length=1, max_length=64, examples=["12.345.678-5"])


class IdentifierSearch(_Strict):
    """Find persons by a national identifier (normalised for the scheme: dots, dashes, spaces)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "purpose": "benefit-eligibility",
                    "identifier": {"scheme": "cl-run", "value": "12.345.678-5"},
                }
            ]
        }
    )

    purpose: PurposeId
    identifier: IdentifierQuery


class DemographicSearch(_Strict):
    """Find persons by name and birth date through the person matcher (no identifier needed)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "purpose": "identity-verification",
                    "given_names": "María José",
                    "family_name": "González",
                    "second_family_name": "Rojas",
                    "birth_date": "1988-03-14",
                    "sex": "female",
                }
            ]
        }
    )

    purpose: PurposeId
    given_names: str = Field(min_length=1, max_length=120)
    family_name: str = Field(min_length=1, max_length=80)
    second_family_name: str | None = Field(default=None, max_length=80)
    birth_date: date
    sex: Sex | None = None
    locality: str | None = Field(default=None, max_length=100)


Records = dict[str, dict[str, list[dict[str, Any]]]]


class SearchHit(BaseModel):
    person_id: str
    records: Records = Field(
        default_factory=dict,
        description="Allowed person fields by agency; empty when only answers are allowed.",
    )


class SearchRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "purpose": "identity-verification",
                    "policy_version": "sha256:43817368a71607ce33d481fa11e8d9fa",
                    "results": [
                        {
                            "person_id": "nx4be1c0ffee",
                            "records": {
                                "social": {
                                    "person": [
                                        {"given_names": "María José", "family_name": "González"}
                                    ]
                                }
                            },
                        }
                    ],
                }
            ]
        }
    )

    purpose: str
    policy_version: str
    results: list[SearchHit]


class MatchHit(BaseModel):
    person_id: str
    probability: float


class MatchRead(BaseModel):
    purpose: str
    policy_version: str
    threshold: float
    results: list[MatchHit]


class PersonRead(BaseModel):
    """A person as the agreements let the client see them: records by agency and entity."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person_id": "nx4be1c0ffee",
                    "purpose": "benefit-eligibility",
                    "policy_version": "sha256:43817368a71607ce33d481fa11e8d9fa",
                    "records": {
                        "employment": {
                            "job_seeker_registration": [
                                {"status": "active", "start_date": "2026-02-01", "end_date": None}
                            ]
                        }
                    },
                    "withheld": [],
                }
            ]
        }
    )

    person_id: str
    purpose: str
    policy_version: str
    records: Records
    withheld: list[str] = Field(
        default_factory=list, description="Requested fields no agreement in force grants."
    )


Question = Literal[
    "is_registered_job_seeker", "employed_on", "monthly_income_above", "receives_benefit"
]


class VerificationAsk(_Strict):
    """A yes/no question about a person; the answer discloses nothing else."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"purpose": "benefit-eligibility", "question": "employed_on", "on": "2026-06-30"},
                {
                    "purpose": "benefit-eligibility",
                    "question": "monthly_income_above",
                    "amount": "450000",
                },
            ]
        }
    )

    purpose: PurposeId
    question: Question
    on: date | None = Field(default=None, description="The day asked about (default: today).")
    amount: Decimal | None = Field(
        default=None, ge=0, max_digits=14, decimal_places=2, description="monthly_income_above"
    )
    programme: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="receives_benefit: the programme code",
    )

    @model_validator(mode="after")
    def _arguments(self) -> VerificationAsk:
        if self.question == "monthly_income_above" and self.amount is None:
            raise ValueError("monthly_income_above needs an amount")
        if self.question != "monthly_income_above" and self.amount is not None:
            raise ValueError(f"{self.question} takes no amount")
        if self.question == "receives_benefit" and not self.programme:
            raise ValueError("receives_benefit needs a programme")
        if self.question != "receives_benefit" and self.programme is not None:
            raise ValueError(f"{self.question} takes no programme")
        return self


class VerificationRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person_id": "nx4be1c0ffee",
                    "purpose": "benefit-eligibility",
                    "question": "employed_on",
                    "on": "2026-06-30",
                    "answer": False,
                    "policy_version": "sha256:43817368a71607ce33d481fa11e8d9fa",
                }
            ]
        }
    )

    person_id: str
    purpose: str
    question: Question
    on: date
    answer: bool
    policy_version: str
