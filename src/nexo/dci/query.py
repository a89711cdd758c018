"""DCI search criteria → Nexo's :mod:`criteria`, page, purpose and consent (pure).

Supported query forms (``query_type``):

- ``idtype-value``: ``{"type": "UIN", "value": "12.345.678-5"}``;
- ``predicate``: a list of ``{seq_num, expression1, condition, expression2}``; each item is
  ``expression1`` alone, or combined with ``expression2`` by ``and`` / ``or`` / ``not``
  (``a not b`` = a and not b); items are combined with ``and`` in ``seq_num`` order;
- ``expression``: ``{"type": "...", "value": {"expression": {"collection": "Member"|"Group",
  "query": {...}}}}`` with a document-query subset: ``$and``, ``$or``, ``$not``, and per
  attribute ``$eq``, ``$gt``, ``$lt``, ``$gte``/``$ge``, ``$lte``/``$le``, ``$in`` (or a bare
  value for equality).

Attribute names (case-insensitive) are in :data:`ATTRIBUTES`; identifier types in
:data:`IDENTIFIER_TYPES`. Anything else is rejected with the standard's reason code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from nexo.dci.criteria import (
    AllOf,
    AnyOf,
    Attribute,
    Comparison,
    Criteria,
    Entity,
    Not,
    Operator,
    Scalar,
    SortKey,
    SubjectQuery,
    comparisons,
)
from nexo.dci.errors import ItemRejected, SearchReason
from nexo.dci.ports import ConsentRef, PageRequest
from nexo.dci.schemas import SearchCriteria
from nexo.dci.standard import is_date_time

NATIONAL_SCHEMES = ("cl-run", "kr-rrn", "de-steuer-id")
#: DCI identifier type (lower case) → Nexo identifier schemes searched
IDENTIFIER_TYPES: dict[str, tuple[str, ...]] = {
    "uin": NATIONAL_SCHEMES,
    "nationalid": NATIONAL_SCHEMES,
    "national_id": NATIONAL_SCHEMES,
    "nid": NATIONAL_SCHEMES,
    "cl-run": ("cl-run",),
    "kr-rrn": ("kr-rrn",),
    "de-steuer-id": ("de-steuer-id",),
    "agency": ("agency",),
}
#: identifier type of the subject reference Nexo gives out (member/group identifier)
SUBJECT_TYPE = "nexo-id"

ATTRIBUTES: dict[str, Attribute] = {
    SUBJECT_TYPE: Attribute.SUBJECT,
    "given_name": Attribute.GIVEN_NAMES,
    "given_names": Attribute.GIVEN_NAMES,
    "first_name": Attribute.GIVEN_NAMES,
    "surname": Attribute.FAMILY_NAME,
    "sur_name": Attribute.FAMILY_NAME,
    "family_name": Attribute.FAMILY_NAME,
    "birth_date": Attribute.BIRTH_DATE,
    "birthdate": Attribute.BIRTH_DATE,
    "dob": Attribute.BIRTH_DATE,
    "yob": Attribute.BIRTH_YEAR,
    "birth_year": Attribute.BIRTH_YEAR,
    "sex": Attribute.SEX,
    "postal_code": Attribute.POSTCODE,
    "postcode": Attribute.POSTCODE,
    "city": Attribute.LOCALITY,
    "locality": Attribute.LOCALITY,
    "region": Attribute.REGION,
    "area_code": Attribute.ADMIN_AREA_CODE,
    "admin_area_code": Attribute.ADMIN_AREA_CODE,
    "group_size": Attribute.HOUSEHOLD_SIZE,
    "household_size": Attribute.HOUSEHOLD_SIZE,
    "programme_identifier": Attribute.PROGRAMME_CODE,
    "programme_code": Attribute.PROGRAMME_CODE,
}
SEXES = ("female", "male", "other", "unknown")
ENTITIES = {"member": Entity.MEMBER, "group": Entity.GROUP}
_MONGO_OPS = {
    "$eq": Operator.EQ,
    "$gt": Operator.GT,
    "$lt": Operator.LT,
    "$gte": Operator.GE,
    "$ge": Operator.GE,
    "$lte": Operator.LE,
    "$le": Operator.LE,
    "$in": Operator.IN,
}
MAX_COMPARISONS = 50
MAX_DEPTH = 8
MAX_IN = 100
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class ParsedSearch:
    query: SubjectQuery
    page: PageRequest
    purpose: str | None  # None: the client's default purpose applies
    consent_refs: tuple[ConsentRef, ...]


def _bad(message: str, reason: SearchReason = SearchReason.SEARCH_CRITERIA_INVALID) -> ItemRejected:
    return ItemRejected(reason, message)


# --------------------------------------------------------------------------- values


def _scalar(attribute: Attribute, raw: Any, where: str) -> Scalar:
    kind = attribute.value_type
    if kind is date:
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw)
            except ValueError:
                pass
        raise _bad(f"{where}: {attribute.value} takes a date (YYYY-MM-DD), not {raw!r}")
    if kind is int:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or int(raw) != raw:
            raise _bad(f"{where}: {attribute.value} takes a whole number, not {raw!r}")
        return int(raw)
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise _bad(f"{where}: {attribute.value} takes a text value, not {raw!r}")
    text = str(raw).strip()
    if not text or len(text) > MAX_TEXT:
        raise _bad(f"{where}: {attribute.value} takes 1 to {MAX_TEXT} characters")
    if attribute is Attribute.SEX and text.lower() not in SEXES:
        raise _bad(f"{where}: sex is one of {', '.join(SEXES)}")
    return text.lower() if attribute is Attribute.SEX else text


def _comparison(name: Any, operator: Any, raw: Any, where: str) -> Comparison:
    if not isinstance(name, str):
        raise _bad(f"{where}: attribute name must be text")
    key = name.strip().lower()
    schemes: tuple[str, ...] = ()
    if key in IDENTIFIER_TYPES:
        attribute, schemes = Attribute.IDENTIFIER, IDENTIFIER_TYPES[key]
    elif key in ATTRIBUTES:
        attribute = ATTRIBUTES[key]
    else:
        known = ", ".join(sorted({*ATTRIBUTES, *IDENTIFIER_TYPES}))
        raise _bad(f"{where}: attribute {name[:60]!r} is not searchable; use one of {known}")
    try:
        op = Operator(operator)
    except ValueError:
        raise _bad(
            f"{where}: operator {str(operator)[:20]!r} is not eq, gt, lt, ge, le or in"
        ) from None
    if op is not Operator.EQ and op is not Operator.IN and not attribute.ordered:
        raise _bad(f"{where}: {attribute.value} can only be compared with eq or in")
    if op is Operator.IN:
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_IN:
            raise _bad(f"{where}: 'in' takes a list of 1 to {MAX_IN} values")
        values = tuple(_scalar(attribute, v, where) for v in raw)
        return Comparison(attribute, op, values, schemes)
    return Comparison(attribute, op, _scalar(attribute, raw, where), schemes)


# --------------------------------------------------------------------------- query forms


def _idtype_value(query: Any) -> Criteria:
    if not isinstance(query, Mapping) or "type" not in query or "value" not in query:
        raise _bad("query: an idtype-value query is {'type': ..., 'value': ...}")
    return _comparison(query["type"], "eq", query["value"], "query")


def _predicate(query: Any) -> Criteria:
    if not isinstance(query, list) or not query:
        raise _bad("query: a predicate query is a non-empty list of expressions")
    items: list[tuple[float, Criteria]] = []
    for i, item in enumerate(query):
        where = f"query[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("expression1"), Mapping):
            raise _bad(f"{where}: expression1 is required")
        first = _expression(item["expression1"], f"{where}.expression1")
        condition, second = item.get("condition"), item.get("expression2")
        if (condition is None) != (second is None):
            raise _bad(f"{where}: condition and expression2 come together")
        criteria: Criteria = first
        if second is not None:
            other = _expression(second, f"{where}.expression2")
            if condition == "and":
                criteria = AllOf((first, other))
            elif condition == "or":
                criteria = AnyOf((first, other))
            elif condition == "not":
                criteria = AllOf((first, Not(other)))
            else:
                raise _bad(f"{where}: condition is and, or or not")
        seq = item.get("seq_num", i)
        items.append((seq if isinstance(seq, int | float) else i, criteria))
    items.sort(key=lambda pair: pair[0])
    return items[0][1] if len(items) == 1 else AllOf(tuple(c for _, c in items))


def _expression(expr: Mapping[str, Any], where: str) -> Comparison:
    if not isinstance(expr, Mapping) or not {"attribute_name", "operator"} <= set(expr):
        raise _bad(f"{where}: attribute_name, operator and attribute_value are required")
    return _comparison(expr["attribute_name"], expr["operator"], expr.get("attribute_value"), where)


def _document_query(node: Any, where: str, depth: int = 0) -> Criteria:
    if depth > MAX_DEPTH:
        raise _bad(f"{where}: expression nested deeper than {MAX_DEPTH} levels")
    if not isinstance(node, Mapping) or not node:
        raise _bad(f"{where}: expected a non-empty object")
    parts: list[Criteria] = []
    for key, value in node.items():
        here = f"{where}.{key}"
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise _bad(f"{here}: takes a non-empty list")
            subs = tuple(_document_query(v, f"{here}[{i}]", depth + 1) for i, v in enumerate(value))
            parts.append(AllOf(subs) if key == "$and" else AnyOf(subs))
        elif key == "$not":
            parts.append(Not(_document_query(value, here, depth + 1)))
        elif isinstance(value, Mapping):
            for op, operand in value.items():
                if op not in _MONGO_OPS:
                    raise _bad(
                        f"{here}: operator {str(op)[:20]!r} is not one of {', '.join(_MONGO_OPS)}"
                    )
                parts.append(_comparison(key, _MONGO_OPS[op].value, operand, here))
        else:
            parts.append(_comparison(key, "eq", value, here))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def _expression_query(query: Any) -> tuple[Criteria, Entity | None]:
    value = query.get("value") if isinstance(query, Mapping) else None
    expression = value.get("expression") if isinstance(value, Mapping) else None
    if not isinstance(expression, Mapping) or "query" not in expression:
        raise _bad(
            "query: an expression query is {'type': ..., 'value': {'expression': "
            "{'collection': 'Member'|'Group', 'query': {...}}}}"
        )
    collection = expression.get("collection")
    entity = None
    if collection is not None:
        entity = ENTITIES.get(str(collection).lower())
        if entity is None:
            raise _bad("query: collection is Member or Group")
    return _document_query(expression["query"], "query.value.expression.query"), entity


# --------------------------------------------------------------------------- search criteria


def _page(criteria: SearchCriteria, default_size: int, max_size: int) -> PageRequest:
    p = criteria.pagination
    if p is None:
        return PageRequest(1, default_size)
    size, number = p.page_size, p.page_number
    if size != int(size) or not 1 <= size <= max_size:
        raise _bad(
            f"pagination.page_size must be a whole number from 1 to {max_size}, not {size:g}",
            SearchReason.PAGINATION_INVALID,
        )
    if number != int(number) or number < 1:
        raise _bad(
            f"pagination.page_number must be a whole number from 1, not {number:g}",
            SearchReason.PAGINATION_INVALID,
        )
    return PageRequest(int(number), int(size))


def _sort(criteria: SearchCriteria) -> tuple[SortKey, ...]:
    keys: list[SortKey] = []
    for i, spec in enumerate(criteria.sort or ()):
        name = (spec.attribute_name or "").strip().lower()
        attribute = ATTRIBUTES.get(name)
        if attribute is None or attribute is Attribute.PROGRAMME_CODE:
            raise _bad(f"sort[{i}]: cannot sort by {name[:60]!r}", SearchReason.SORT_INVALID)
        if spec.sort_order not in (None, "asc", "desc"):
            raise _bad(f"sort[{i}]: sort_order is asc or desc", SearchReason.SORT_INVALID)
        keys.append(SortKey(attribute, spec.sort_order == "desc"))
    return tuple(keys)


def _purpose_of(statement: Any, name: str) -> str | None:
    if statement is None:
        return None
    purpose = statement.get("purpose")
    if purpose is None:
        return None
    if not isinstance(purpose, Mapping):
        raise _bad(f"{name}.purpose must be an object with a code")
    code = purpose.get("code")
    if code is None:
        return None
    if not isinstance(code, str) or not code.strip() or len(code) > 128:
        raise _bad(f"{name}.purpose.code must be text of 1 to 128 characters")
    return code.strip()


def _consent(statement: dict[str, Any] | None) -> tuple[ConsentRef, ...]:
    if statement is None:
        return ()
    ts = statement.get("ts")
    if ts is not None and not is_date_time(ts):
        raise _bad(
            "consent.ts must be a time stamp with its time zone", SearchReason.TIMESTAMP_INVALID
        )
    raw = statement.get("purpose")
    purpose: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    text, uri = purpose.get("text"), purpose.get("ref_uri")
    return (
        ConsentRef(
            purpose_code=_purpose_of(statement, "consent"),
            purpose_text=text[:500] if isinstance(text, str) else None,
            ref_uri=uri[:2048] if isinstance(uri, str) else None,
            ts=datetime.fromisoformat(ts.upper().replace("Z", "+00:00")) if ts else None,
        ),
    )


def parse_search(
    criteria: SearchCriteria, *, default_page_size: int, max_page_size: int
) -> ParsedSearch:
    """Parse one ``search_criteria``; raises :class:`ItemRejected` with the reason code."""
    entity: Entity | None = None
    if criteria.query_type == "idtype-value":
        found = _idtype_value(criteria.query)
    elif criteria.query_type == "predicate":
        found = _predicate(criteria.query)
    elif criteria.query_type == "expression":
        found, entity = _expression_query(criteria.query)
    else:
        raise _bad("query_type is idtype-value, expression or predicate")
    if len(comparisons(found)) > MAX_COMPARISONS:
        raise _bad(f"query: more than {MAX_COMPARISONS} comparisons")
    wanted = ENTITIES.get((criteria.response_entity or "").lower())
    if entity and wanted and entity is not wanted:
        raise _bad("response_entity and the expression's collection disagree")
    authorized = _purpose_of(criteria.authorize, "authorize")
    consented = _purpose_of(criteria.consent, "consent")
    if authorized and consented and authorized != consented:
        raise _bad("authorize.purpose.code and consent.purpose.code name different purposes")
    return ParsedSearch(
        query=SubjectQuery(wanted or entity or Entity.MEMBER, found, _sort(criteria)),
        page=_page(criteria, default_page_size, max_page_size),
        purpose=authorized or consented,
        consent_refs=_consent(criteria.consent),
    )
