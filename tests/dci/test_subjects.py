"""Finding and reading subjects in the real store (both backends), and minimising views."""

from __future__ import annotations

from datetime import date

import pytest
from dci_support import ANA, JUAN, LUIS, SOFIA, populate
from sqlalchemy.orm import Session, sessionmaker

from nexo.dci.criteria import (
    AllOf,
    AnyOf,
    Attribute,
    Comparison,
    Criteria,
    Entity,
    Not,
    Operator,
    SortKey,
    SubjectQuery,
)
from nexo.dci.ports import GroupView, PageRequest, PersonView
from nexo.dci.subjects import ALL_FIELDS, minimise, read_page
from nexo.linkage.tables import MpiPersonRow
from nexo.store.engine import transaction

EQ, GE, LT, IN = Operator.EQ, Operator.GE, Operator.LT, Operator.IN


def _ids(
    factory: sessionmaker[Session],
    criteria: Criteria,
    entity: Entity = Entity.MEMBER,
    sort: tuple[SortKey, ...] = (),
) -> list[str]:
    with transaction(factory) as session:
        page = read_page(
            session, query=SubjectQuery(entity, criteria, sort), page=PageRequest(1, 10)
        )
    assert page.total_count == len(page.records)
    return [r.ref for r in page.records]


def test_person_criteria(factory: sessionmaker[Session]) -> None:
    populate(factory)
    c = Comparison
    cases: list[tuple[Criteria, list[str]]] = [
        (c(Attribute.IDENTIFIER, EQ, "12.345.678-5", ("cl-run",)), [ANA.person_id]),
        (c(Attribute.IDENTIFIER, EQ, ANA.run, ("kr-rrn",)), []),
        (c(Attribute.IDENTIFIER, IN, (ANA.run, LUIS.run)), [ANA.person_id, LUIS.person_id]),
        (c(Attribute.GIVEN_NAMES, EQ, "ana"), [ANA.person_id]),  # her employment record's spelling
        (c(Attribute.FAMILY_NAME, EQ, "PÉREZ"), [ANA.person_id, JUAN.person_id, SOFIA.person_id]),
        (c(Attribute.BIRTH_YEAR, EQ, 1990), [LUIS.person_id]),
        (c(Attribute.BIRTH_YEAR, LT, 1985), [JUAN.person_id]),
        (c(Attribute.BIRTH_DATE, GE, date(1990, 1, 2)), [LUIS.person_id, SOFIA.person_id]),
        (c(Attribute.LOCALITY, EQ, "temuco"), [LUIS.person_id]),
        (c(Attribute.PROGRAMME_CODE, EQ, "SUF"), [ANA.person_id]),
        (c(Attribute.HOUSEHOLD_SIZE, GE, 2), [ANA.person_id, JUAN.person_id, SOFIA.person_id]),
        (c(Attribute.SUBJECT, IN, (JUAN.person_id, "NX-NOBODY")), [JUAN.person_id]),
        (
            AllOf((c(Attribute.SEX, EQ, "female"), Not(c(Attribute.BIRTH_YEAR, EQ, 2010)))),
            [ANA.person_id],
        ),
        (
            AnyOf((c(Attribute.SEX, EQ, "male"), c(Attribute.GIVEN_NAMES, EQ, "Sofía"))),
            [JUAN.person_id, LUIS.person_id, SOFIA.person_id],
        ),
    ]
    for criteria, expected in cases:
        assert _ids(factory, criteria) == sorted(expected), criteria
    by_age = _ids(
        factory,
        c(Attribute.SEX, IN, ("female", "male")),
        sort=(SortKey(Attribute.BIRTH_DATE, True),),
    )
    assert by_age == [SOFIA.person_id, LUIS.person_id, ANA.person_id, JUAN.person_id]


def test_merged_and_unlinked_persons(factory: sessionmaker[Session]) -> None:
    populate(factory)
    with transaction(factory) as session:
        row = session.get(MpiPersonRow, LUIS.person_id)
        assert row is not None
        row.status = "retired"
    assert _ids(factory, Comparison(Attribute.SEX, EQ, "male")) == [JUAN.person_id]


def test_households(factory: sessionmaker[Session]) -> None:
    populate(factory)
    c = Comparison
    assert _ids(factory, c(Attribute.HOUSEHOLD_SIZE, LT, 2), Entity.GROUP) == [
        "social:beneficiaries:H2"
    ]
    assert _ids(factory, c(Attribute.IDENTIFIER, EQ, SOFIA.run), Entity.GROUP) == [
        "social:beneficiaries:H1"
    ]
    assert _ids(factory, c(Attribute.LOCALITY, EQ, "Temuco"), Entity.GROUP) == [
        "social:beneficiaries:H2"
    ]
    assert _ids(factory, c(Attribute.SUBJECT, EQ, "social:beneficiaries:H1"), Entity.GROUP) == [
        "social:beneficiaries:H1"
    ]
    with transaction(factory) as session:
        page = read_page(
            session,
            query=SubjectQuery(Entity.GROUP, c(Attribute.GIVEN_NAMES, EQ, "Juan")),
            page=PageRequest(1, 5),
        )
    [group] = page.records
    assert isinstance(group, GroupView) and group.size == 3
    roles = {m.person.ref: m.relationship for m in group.members}
    assert roles == {ANA.person_id: "head", JUAN.person_id: "spouse", SOFIA.person_id: "child"}


def test_reading_a_person_whole_then_minimised(factory: sessionmaker[Session]) -> None:
    populate(factory)
    with transaction(factory) as session:
        page = read_page(
            session,
            query=SubjectQuery(Entity.MEMBER, Comparison(Attribute.SUBJECT, EQ, ANA.person_id)),
            page=PageRequest(1, 5),
        )
    [ana] = page.records
    assert isinstance(ana, PersonView)
    assert (ana.given_names, ana.second_family_name, ana.phone) == ("Ana María", "Soto", ANA.phone)
    assert [i.value for i in ana.identifiers] == [ANA.run]  # the same RUN in both agencies, once
    assert [e.programme_code for e in ana.enrolments] == ["SUF"]
    assert ana.updated_on == date(2026, 5, 1)
    small = minimise(ana, frozenset({"birth_date"}))
    assert isinstance(small, PersonView)
    assert (
        small.ref,
        small.birth_date,
        small.given_names,
        small.identifiers,
        small.enrolments,
    ) == (ANA.person_id, ANA.born, None, (), ())
    assert minimise(ana, ALL_FIELDS) == ana


@pytest.mark.parametrize("size", [1, 2])
def test_pages_cover_everyone_once(factory: sessionmaker[Session], size: int) -> None:
    populate(factory)
    seen: list[str] = []
    query = SubjectQuery(Entity.MEMBER, Comparison(Attribute.BIRTH_YEAR, GE, 1900))
    with transaction(factory) as session:
        for number in range(1, 6):
            page = read_page(session, query=query, page=PageRequest(number, size))
            assert page.total_count == 4
            seen += [r.ref for r in page.records]
    assert (
        sorted(seen) == sorted({s.person_id for s in (ANA, JUAN, SOFIA, LUIS)}) and len(seen) == 4
    )
