"""What the exchange shows: minimised person views and yes/no answers (pure).

Facts arrive as plain dicts from the repository (one per record, with its ``agency``); the
functions here keep only the fields a decision allows and compute verification answers
without returning the data behind them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from nexo.audit.domain import AuditRecord
from nexo.errors import NexoError
from nexo.policy.decision import Denial
from nexo.policy.fields import ANSWER, FieldRef


class ExchangeError(NexoError):
    """An exchange request refused; ``audit`` is the record of the refusal to append."""

    audit: AuditRecord | None = None


class PersonNotFound(ExchangeError):
    """No person with this id or identifier is shared with the client for the purpose.

    The same answer whether the person does not exist or is outside the client's agreements,
    so that a client never learns of persons it may not see.
    """

    code = "person-not-found"


class AccessDenied(ExchangeError):
    """The client may not ask this for this purpose: the denial names the missing rule."""

    code = "access-denied"

    def __init__(self, denial: Denial, *, hint: str | None = None) -> None:
        super().__init__(denial.message, hint=hint)
        self.denial = denial


class MatcherUnavailable(ExchangeError):
    """Demographic search needs the single-record matcher of the linkage part."""

    code = "matcher-unavailable"


def _render(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _person_field(record: Mapping[str, Any], name: str) -> Any:
    if name == "contact":
        return {"phone": record.get("phone"), "email": record.get("email")}
    if name == "address":
        return {
            "line": record.get("address_line"),
            "locality": record.get("locality"),
            "postcode": record.get("postcode"),
            "region": record.get("region"),
            "admin_area_code": record.get("admin_area_code"),
            "country": record.get("country"),
        }
    if name == "identifiers":
        return list(record.get("identifiers", []))
    return _render(record.get(name))


def _household_field(record: Mapping[str, Any], name: str) -> Any:
    if name == "address":
        return {
            "line": record.get("address_line"),
            "locality": record.get("locality"),
            "postcode": record.get("postcode"),
            "region": record.get("region"),
            "admin_area_code": record.get("admin_area_code"),
        }
    return _render(record.get(name))


def minimise(
    facts: Mapping[str, Iterable[Mapping[str, Any]]], allowed: frozenset[FieldRef]
) -> tuple[dict[str, dict[str, list[dict[str, Any]]]], frozenset[FieldRef]]:
    """Keep only allowed fields; return the view by agency and entity, and the refs shown."""
    view: dict[str, dict[str, list[dict[str, Any]]]] = {}
    shown: set[FieldRef] = set()
    for entity, records in facts.items():
        for record in records:
            agency = record["agency"]
            names = sorted(r.field for r in allowed if r.agency == agency and r.entity == entity)
            if not names:
                continue
            pick = {
                "person": _person_field,
                "household": _household_field,
            }.get(entity, lambda rec, n: _render(rec.get(n)))
            view.setdefault(agency, {}).setdefault(entity, []).append(
                {n: pick(record, n) for n in names}
            )
            shown |= {FieldRef(agency, entity, n) for n in names}
    return view, frozenset(shown)


@dataclass(frozen=True, slots=True)
class Question:
    name: str
    on: date
    amount: Decimal | None = None
    programme: str | None = None


def _active(record: Mapping[str, Any], day: date) -> bool:
    start, end = record.get("start_date"), record.get("end_date")
    return start is not None and start <= day and (end is None or day <= end)


def answer(question: Question, facts: Mapping[str, Iterable[Mapping[str, Any]]]) -> bool:
    """Yes or no, from the facts of the agencies whose answers the decision allowed."""
    day = question.on
    if question.name == "is_registered_job_seeker":
        return any(
            r["status"] == "active" and _active(r, day)
            for r in facts.get("job_seeker_registration", [])
        )
    if question.name == "employed_on":
        return any(_active(r, day) for r in facts.get("employment_episode", []))
    if question.name == "monthly_income_above":
        if question.amount is None:
            raise ValueError("monthly_income_above needs an amount")
        total = sum(
            (
                Decimal(r["monthly_wage"])
                for r in facts.get("employment_episode", [])
                if _active(r, day) and r.get("monthly_wage") is not None
            ),
            Decimal(0),
        )
        return total > question.amount
    if question.name == "receives_benefit":
        if not question.programme:
            raise ValueError("receives_benefit needs a programme")
        return any(
            r["programme_code"] == question.programme
            and r["status"] == "active"
            and _active(r, day)
            for r in facts.get("benefit_enrolment", [])
        )
    raise ValueError(f"unknown question {question.name!r}")


ANSWER_SOURCES: dict[str, str] = {
    "is_registered_job_seeker": "job_seeker_registration",
    "employed_on": "employment_episode",
    "monthly_income_above": "employment_episode",
    "receives_benefit": "benefit_enrolment",
}


def answer_refs(question: str, agencies: Iterable[str]) -> frozenset[FieldRef]:
    return frozenset(FieldRef(a, ANSWER, question) for a in agencies)
