"""DCI search criteria → Nexo's criteria, page, purpose and consent (pure)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexo.dci.criteria import (
    AllOf,
    AnyOf,
    Attribute,
    Comparison,
    Entity,
    Not,
    Operator,
    SortKey,
    SubjectQuery,
)
from nexo.dci.errors import ItemRejected, SearchReason
from nexo.dci.query import NATIONAL_SCHEMES, parse_search
from nexo.dci.schemas import SearchCriteria


def parse(**criteria: Any) -> Any:
    return parse_search(
        SearchCriteria.model_validate(criteria), default_page_size=50, max_page_size=500
    )


def rejected(**criteria: Any) -> ItemRejected:
    with pytest.raises(ItemRejected) as info:
        parse(**criteria)
    return info.value


def test_identifier_value() -> None:
    parsed = parse(query_type="idtype-value", query={"type": "UIN", "value": "12.345.678-5"})
    assert parsed.query == SubjectQuery(
        Entity.MEMBER,
        Comparison(Attribute.IDENTIFIER, Operator.EQ, "12.345.678-5", NATIONAL_SCHEMES),
    )
    assert (parsed.page.number, parsed.page.size, parsed.purpose, parsed.consent_refs) == (
        1,
        50,
        None,
        (),
    )
    by_scheme = parse(query_type="idtype-value", query={"type": "kr-rrn", "value": 9001011234567})
    assert by_scheme.query.criteria == Comparison(
        Attribute.IDENTIFIER, Operator.EQ, "9001011234567", ("kr-rrn",)
    )
    subject = parse(
        query_type="idtype-value",
        query={"type": "nexo-id", "value": "NX-1"},
        response_entity="Group",
    )
    assert subject.query == SubjectQuery(
        Entity.GROUP, Comparison(Attribute.SUBJECT, Operator.EQ, "NX-1")
    )


def test_predicates_combine_in_sequence_order() -> None:
    query = [
        {
            "seq_num": 2,
            "expression1": {
                "attribute_name": "sex",
                "operator": "in",
                "attribute_value": ["female", "Male"],
            },
        },
        {
            "seq_num": 1,
            "expression1": {
                "attribute_name": "DOB",
                "operator": "ge",
                "attribute_value": "1980-01-01",
            },
            "condition": "not",
            "expression2": {
                "attribute_name": "city",
                "operator": "eq",
                "attribute_value": "Temuco",
            },
        },
    ]
    parsed = parse(
        query_type="predicate", query=query, sort=[{"attribute_name": "YOB", "sort_order": "desc"}]
    )
    assert parsed.query.criteria == AllOf(
        (
            AllOf(
                (
                    Comparison(Attribute.BIRTH_DATE, Operator.GE, date(1980, 1, 1)),
                    Not(Comparison(Attribute.LOCALITY, Operator.EQ, "Temuco")),
                )
            ),
            Comparison(Attribute.SEX, Operator.IN, ("female", "male")),
        )
    )
    assert parsed.query.sort == (SortKey(Attribute.BIRTH_YEAR, descending=True),)


def test_document_expression() -> None:
    query = {
        "type": "ns:org:QueryType:NoSql",
        "value": {
            "expression": {
                "collection": "Group",
                "query": {
                    "$or": [{"group_size": {"$lt": 3}}, {"postal_code": "2340000"}],
                    "$not": {"region": "X"},
                },
            }
        },
    }
    parsed = parse(query_type="expression", query=query)
    assert parsed.query.entity is Entity.GROUP
    assert parsed.query.criteria == AllOf(
        (
            AnyOf(
                (
                    Comparison(Attribute.HOUSEHOLD_SIZE, Operator.LT, 2 + 1),
                    Comparison(Attribute.POSTCODE, Operator.EQ, "2340000"),
                )
            ),
            Not(Comparison(Attribute.REGION, Operator.EQ, "X")),
        )
    )


@pytest.mark.parametrize(
    ("criteria", "reason", "says"),
    [
        (
            {"query_type": "idtype-value", "query": {"type": "passport", "value": "1"}},
            SearchReason.SEARCH_CRITERIA_INVALID,
            "not searchable",
        ),
        (
            {"query_type": "idtype-value", "query": [1]},
            SearchReason.SEARCH_CRITERIA_INVALID,
            "idtype-value",
        ),
        (
            {"query_type": "predicate", "query": []},
            SearchReason.SEARCH_CRITERIA_INVALID,
            "non-empty",
        ),
        (
            {
                "query_type": "predicate",
                "query": [
                    {
                        "expression1": {
                            "attribute_name": "given_name",
                            "operator": "gt",
                            "attribute_value": "A",
                        }
                    }
                ],
            },
            SearchReason.SEARCH_CRITERIA_INVALID,
            "only be compared with eq or in",
        ),
        (
            {
                "query_type": "predicate",
                "query": [
                    {
                        "expression1": {
                            "attribute_name": "YOB",
                            "operator": "eq",
                            "attribute_value": "nineteen",
                        }
                    }
                ],
            },
            SearchReason.SEARCH_CRITERIA_INVALID,
            "whole number",
        ),
        (
            {
                "query_type": "predicate",
                "query": [
                    {
                        "expression1": {
                            "attribute_name": "sex",
                            "operator": "eq",
                            "attribute_value": "f",
                        }
                    }
                ],
            },
            SearchReason.SEARCH_CRITERIA_INVALID,
            "sex is one of",
        ),
        (
            {
                "query_type": "predicate",
                "query": [
                    {
                        "expression1": {
                            "attribute_name": "DOB",
                            "operator": "eq",
                            "attribute_value": "02.05.2004",
                        }
                    }
                ],
            },
            SearchReason.SEARCH_CRITERIA_INVALID,
            "YYYY-MM-DD",
        ),
        (
            {
                "query_type": "expression",
                "query": {"type": "graphql", "value": {"expression": "query { person }"}},
            },
            SearchReason.SEARCH_CRITERIA_INVALID,
            "expression query is",
        ),
        (
            {
                "query_type": "expression",
                "query": {"value": {"expression": {"collection": "Farm", "query": {"a": 1}}}},
            },
            SearchReason.SEARCH_CRITERIA_INVALID,
            "Member or Group",
        ),
        (
            {
                "query_type": "idtype-value",
                "query": {"type": "UIN", "value": "1"},
                "sort": [{"attribute_name": "poverty_score"}],
            },
            SearchReason.SORT_INVALID,
            "cannot sort",
        ),
        (
            {
                "query_type": "idtype-value",
                "query": {"type": "UIN", "value": "1"},
                "pagination": {"page_size": 501},
            },
            SearchReason.PAGINATION_INVALID,
            "1 to 500",
        ),
        (
            {
                "query_type": "idtype-value",
                "query": {"type": "UIN", "value": "1"},
                "consent": {"ts": "2026-01-01T00:00:00"},
            },
            SearchReason.TIMESTAMP_INVALID,
            "time zone",
        ),
        (
            {
                "query_type": "idtype-value",
                "query": {"type": "UIN", "value": "1"},
                "authorize": {"purpose": "x"},
            },
            SearchReason.SEARCH_CRITERIA_INVALID,
            "object with a code",
        ),
    ],
)
def test_rejections_carry_the_standards_reason(
    criteria: dict[str, Any], reason: SearchReason, says: str
) -> None:
    error = rejected(**criteria)
    assert error.reason is reason and says in error.message


def test_deep_or_wide_expressions_are_refused() -> None:
    deep: dict[str, Any] = {"given_name": "A"}
    for _ in range(12):
        deep = {"$not": deep}
    query = {"value": {"expression": {"query": deep}}}
    assert "deeper" in rejected(query_type="expression", query=query).message
    wide = [
        {
            "expression1": {
                "attribute_name": "given_name",
                "operator": "eq",
                "attribute_value": str(i),
            }
        }
        for i in range(51)
    ]
    assert "more than 50" in rejected(query_type="predicate", query=wide).message


def test_purpose_and_consent() -> None:
    parsed = parse(
        query_type="idtype-value",
        query={"type": "UIN", "value": "1"},
        consent={
            "ts": "2026-05-01T09:30:00+02:00",
            "purpose": {"code": "p", "text": "t", "ref_uri": "https://x.org/p"},
        },
    )
    assert parsed.purpose == "p"
    [consent] = parsed.consent_refs
    assert (consent.purpose_code, consent.purpose_text, consent.ref_uri) == (
        "p",
        "t",
        "https://x.org/p",
    )
    assert consent.ts is not None and consent.ts.utcoffset() is not None


@given(
    size=st.one_of(st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False))
)
def test_any_page_size_outside_1_to_max_is_rejected(size: float) -> None:
    criteria = {
        "query_type": "idtype-value",
        "query": {"type": "UIN", "value": "1"},
        "pagination": {"page_size": size},
    }
    if size == int(size) and 1 <= size <= 500:
        assert parse(**criteria).page.size == size
    else:
        assert rejected(**criteria).reason is SearchReason.PAGINATION_INVALID
