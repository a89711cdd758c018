"""What can be disclosed at all: entities, their fields, and derived yes/no answers.

A *field reference* names one thing an agreement can grant, qualified by the agency that holds
it: ``employment:employment_episode.monthly_wage`` (a field of a record) or
``employment:answer.employed_on`` (a derived yes/no answer computed from that agency's records,
which discloses nothing but the answer).
"""

from __future__ import annotations

from dataclasses import dataclass

ENTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "person": (
        "given_names",
        "family_name",
        "second_family_name",
        "birth_date",
        "sex",
        "identifiers",
        "contact",
        "address",
    ),
    "household": ("size", "registered_on", "address", "relationship"),
    "job_seeker_registration": (
        "start_date",
        "end_date",
        "status",
        "office_code",
        "desired_occupation",
    ),
    "employment_episode": (
        "start_date",
        "end_date",
        "employer_name",
        "employer_id",
        "occupation",
        "monthly_wage",
        "currency",
        "contract_type",
    ),
    "programme_participation": (
        "start_date",
        "end_date",
        "programme_type",
        "programme_code",
        "status",
    ),
    "benefit_enrolment": (
        "start_date",
        "end_date",
        "programme_code",
        "programme_name",
        "means_tested",
        "status",
        "monthly_amount",
        "currency",
    ),
}
"""Entities a person view can show, with the fields an agreement may grant."""

ANSWERS: dict[str, str] = {
    "is_registered_job_seeker": "an active job-seeker registration on the day",
    "employed_on": "an employment episode covering the day",
    "monthly_income_above": "the monthly wages of the episodes on the day exceed an amount",
    "receives_benefit": "an active enrolment in the named benefit programme on the day",
}
"""Verification questions, answered yes or no without disclosing the data behind them."""

ANSWER = "answer"


@dataclass(frozen=True, slots=True, order=True)
class FieldRef:
    """``agency:entity.field`` — one grantable item."""

    agency: str
    entity: str
    field: str

    def __str__(self) -> str:
        return f"{self.agency}:{self.entity}.{self.field}"

    @property
    def is_answer(self) -> bool:
        return self.entity == ANSWER

    @classmethod
    def parse(cls, text: str) -> FieldRef:
        agency, sep, rest = text.partition(":")
        entity, dot, field = rest.partition(".")
        if not (sep and dot and agency and entity and field):
            raise ValueError(f"{text!r} is not agency:entity.field (e.g. social:person.birth_date)")
        ref = cls(agency, entity, field)
        ref.check()
        return ref

    def check(self) -> None:
        if self.entity == ANSWER:
            if self.field not in ANSWERS:
                raise ValueError(
                    f"unknown answer {self.field!r}; known: {', '.join(sorted(ANSWERS))}"
                )
        elif self.entity not in ENTITY_FIELDS:
            raise ValueError(
                f"unknown entity {self.entity!r}; known: {', '.join(sorted(ENTITY_FIELDS))}"
            )
        elif self.field not in ENTITY_FIELDS[self.entity]:
            raise ValueError(
                f"{self.entity} has no field {self.field!r}; fields: "
                + ", ".join(ENTITY_FIELDS[self.entity])
            )


def all_refs(agencies: set[str] | frozenset[str]) -> frozenset[FieldRef]:
    """Every grantable item of the given agencies."""
    refs = {FieldRef(a, e, f) for a in agencies for e, fs in ENTITY_FIELDS.items() for f in fs}
    refs |= {FieldRef(a, ANSWER, q) for a in agencies for q in ANSWERS}
    return frozenset(refs)


def expand(patterns: list[str], universe: frozenset[FieldRef]) -> frozenset[FieldRef]:
    """Requested items: exact refs, ``agency:entity`` (all its fields) or ``entity.field``."""
    out: set[FieldRef] = set()
    for raw in patterns:
        text = raw.strip()
        if not text:
            continue
        if ":" in text and "." in text.split(":", 1)[1]:
            out.add(FieldRef.parse(text))
        elif ":" in text:
            agency, entity = text.split(":", 1)
            matched = {r for r in universe if r.agency == agency and r.entity == entity}
            if entity not in ENTITY_FIELDS and entity != ANSWER:
                raise ValueError(f"unknown entity {entity!r} in {text!r}")
            out |= matched
        elif "." in text:
            entity, field = text.split(".", 1)
            FieldRef("x", entity, field).check()
            out |= {r for r in universe if r.entity == entity and r.field == field}
        else:
            raise ValueError(
                f"{text!r} is not a field: use agency:entity.field, agency:entity or entity.field"
            )
    return frozenset(out)
