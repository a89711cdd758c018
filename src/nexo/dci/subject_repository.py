"""Finding and reading subjects for DCI searches in the canonical store (no policy).

A building block for a :class:`~nexo.dci.ports.Disclosure` binding: it turns Nexo's
:mod:`criteria` into SQL over the master person index (``mpi_person`` / ``mpi_link``), the
current person records, households, memberships and benefit enrolments, and reads full
(unminimised) views. Deciding who may see which of it is the binding's job.

Semantics: a person matches a comparison when any of their linked current records does (so
``and`` of two comparisons may be met by two of their records); a household matches a person
attribute when any of its members does, and ``household_size`` / place attributes by its own
columns. Persons not in the master person index are not found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select, true
from sqlalchemy.sql import Select

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
    SubjectQuery,
)
from nexo.linkage.tables import MpiLinkRow, MpiPersonRow
from nexo.model.identifier import IdentifierScheme, normalise_identifier
from nexo.store.repository import RepositoryBase
from nexo.store.tables import (
    BenefitEnrolmentRow,
    HouseholdMembershipRow,
    HouseholdRow,
    PersonIdentifierRow,
    PersonRecordRow,
)

P, L, M, H = PersonRecordRow, MpiLinkRow, HouseholdMembershipRow, HouseholdRow


@dataclass(frozen=True)
class MatchScope:
    """Whose data each query attribute may match: a query must not find a subject through data
    the requester may not see (its answer would confirm that data).

    ``person``: for each attribute, the agencies whose person records it may match;
    ``household``: the same for household columns; ``households``: the agencies whose households
    a group search may return. An attribute not listed matches nothing.
    """

    person: Mapping[Attribute, frozenset[str]]
    household: Mapping[Attribute, frozenset[str]]
    households: frozenset[str]


Agencies = MatchScope | None
_PERSON_COLUMNS: dict[Attribute, Any] = {
    Attribute.GIVEN_NAMES: P.given_names,
    Attribute.FAMILY_NAME: P.family_name,
    Attribute.BIRTH_DATE: P.birth_date,
    Attribute.SEX: P.sex,
    Attribute.POSTCODE: P.postcode,
    Attribute.LOCALITY: P.locality,
    Attribute.REGION: P.region,
    Attribute.ADMIN_AREA_CODE: P.admin_area_code,
}
_HOUSEHOLD_COLUMNS: dict[Attribute, Any] = {
    Attribute.HOUSEHOLD_SIZE: H.size,
    Attribute.POSTCODE: H.postcode,
    Attribute.LOCALITY: H.locality,
    Attribute.REGION: H.region,
    Attribute.ADMIN_AREA_CODE: H.admin_area_code,
}
_CASELESS = {Attribute.GIVEN_NAMES, Attribute.FAMILY_NAME, Attribute.LOCALITY, Attribute.REGION}


def _compare(
    column: Any, op: Operator, value: Scalar | tuple[Scalar, ...], caseless: bool
) -> ColumnElement[bool]:
    def norm(v: Scalar) -> Scalar:
        return v.lower() if caseless and isinstance(v, str) else v

    col = func.lower(column) if caseless else column
    if op is Operator.IN:
        assert isinstance(value, tuple)
        return col.in_([norm(v) for v in value])
    assert not isinstance(value, tuple)
    v = norm(value)
    return {
        Operator.EQ: col == v,
        Operator.GT: col > v,
        Operator.LT: col < v,
        Operator.GE: col >= v,
        Operator.LE: col <= v,
    }[op]


def _year(op: Operator, value: Scalar | tuple[Scalar, ...]) -> ColumnElement[bool]:
    def span(y: Scalar) -> tuple[date, date]:
        assert isinstance(y, int)
        return date(y, 1, 1), date(y, 12, 31)

    col = P.birth_date
    if op is Operator.IN:
        assert isinstance(value, tuple)
        return or_(*(col.between(*span(y)) for y in value))
    first, last = span(value)  # type: ignore[arg-type]
    return {
        Operator.EQ: col.between(first, last),
        Operator.GT: col > last,
        Operator.GE: col >= first,
        Operator.LT: col < first,
        Operator.LE: col <= last,
    }[op]


def _identifier(c: Comparison) -> ColumnElement[bool]:
    values = c.value if isinstance(c.value, tuple) else (c.value,)
    schemes = c.schemes or tuple(s.value for s in IdentifierScheme)
    pairs = set()
    for scheme in schemes:
        for v in values:
            try:
                pairs.add((scheme, normalise_identifier(IdentifierScheme(scheme), str(v))))
            except ValueError:
                continue
    if not pairs:
        return false()
    i = PersonIdentifierRow
    match = or_(*(and_(i.scheme == s, i.value == v) for s, v in sorted(pairs)))
    return P.id.in_(select(i.person_pk).where(match))


def _record_condition(c: Comparison) -> ColumnElement[bool]:
    """Condition on one person record (joined to ``mpi_link``)."""
    if c.attribute is Attribute.IDENTIFIER:
        return _identifier(c)
    if c.attribute is Attribute.BIRTH_YEAR:
        return _year(c.operator, c.value)
    if c.attribute is Attribute.PROGRAMME_CODE:
        e = BenefitEnrolmentRow
        codes = c.value if isinstance(c.value, tuple) else (c.value,)
        return P.record_id.in_(
            select(e.person_record_id).where(
                e.agency == P.agency,
                func.coalesce(e.person_source, e.source) == P.source,
                e.programme_code.in_([str(v) for v in codes]),
            )
        )
    if c.attribute is Attribute.HOUSEHOLD_SIZE:
        return P.record_id.in_(
            select(M.person_record_id)
            .join(
                H, and_(H.agency == M.agency, H.source == M.source, H.record_id == M.household_id)
            )
            .where(
                M.agency == P.agency,
                M.source == P.source,
                _compare(H.size, c.operator, c.value, False),
            )
        )
    return _compare(_PERSON_COLUMNS[c.attribute], c.operator, c.value, c.attribute in _CASELESS)


def _persons_matching(c: Comparison, agencies: Agencies) -> Select[Any]:
    """Person ids with a linked current record meeting ``c`` (a record of ``agencies``, if
    given: a query must not match on data the requester may not see)."""
    if c.attribute is Attribute.SUBJECT:
        values = [str(v) for v in (c.value if isinstance(c.value, tuple) else (c.value,))]
        merged = select(MpiPersonRow.merged_into).where(MpiPersonRow.person_id.in_(values))
        return select(MpiPersonRow.person_id).where(
            or_(MpiPersonRow.person_id.in_(values), MpiPersonRow.person_id.in_(merged))
        )
    join = and_(P.agency == L.agency, P.source == L.source, P.record_id == L.record_id)
    where = _record_condition(c)
    if agencies is not None:
        # ``agency || ''``: a filter, not an index to search by (SQLite would otherwise scan
        # every record of the agency instead of looking up the selective condition first)
        unindexed = P.agency.concat("")
        where = and_(where, unindexed.in_(sorted(agencies.person.get(c.attribute, ()))))
    return select(L.person_id).join(P, join).where(where)


def _households_of(persons: Select[Any]) -> Select[Any]:
    link = and_(L.agency == M.agency, L.source == M.source, L.record_id == M.person_record_id)
    home = and_(H.agency == M.agency, H.source == M.source, H.record_id == M.household_id)
    return select(H.id).join(M, home).join(L, link).where(L.person_id.in_(persons))


def _condition(criteria: Criteria, entity: Entity, agencies: Agencies) -> ColumnElement[bool]:
    if isinstance(criteria, AllOf):
        return and_(true(), *(_condition(i, entity, agencies) for i in criteria.items))
    if isinstance(criteria, AnyOf):
        return or_(false(), *(_condition(i, entity, agencies) for i in criteria.items))
    if isinstance(criteria, Not):
        return not_(_condition(criteria.item, entity, agencies))
    if entity is Entity.MEMBER:
        return MpiPersonRow.person_id.in_(_persons_matching(criteria, agencies))
    if criteria.attribute in _HOUSEHOLD_COLUMNS:
        caseless = criteria.attribute in _CASELESS
        compared = _compare(
            _HOUSEHOLD_COLUMNS[criteria.attribute], criteria.operator, criteria.value, caseless
        )
        if agencies is None:
            return compared
        return and_(H.agency.in_(sorted(agencies.household.get(criteria.attribute, ()))), compared)
    if criteria.attribute is Attribute.SUBJECT:
        values = criteria.value if isinstance(criteria.value, tuple) else (criteria.value,)
        return or_(false(), *(_household_ref_condition(str(v)) for v in values))
    return H.id.in_(_households_of(_persons_matching(criteria, agencies)))


def household_ref(agency: str, source: str, record_id: str) -> str:
    return f"{agency}:{source}:{record_id}"


def _household_ref_condition(ref: str) -> ColumnElement[bool]:
    parts = ref.split(":", 2)
    if len(parts) != 3:
        return false()
    return and_(H.agency == parts[0], H.source == parts[1], H.record_id == parts[2])


class SubjectRepository(RepositoryBase):
    def find(
        self,
        query: SubjectQuery,
        *,
        offset: int,
        limit: int,
        agencies: Agencies = None,
        count: bool = True,
    ) -> tuple[list[str], int | None]:
        """One page of subject refs matching ``query`` (person ids, or household refs) and the
        total count, in the query's order (ties by ref). With ``agencies``, each comparison
        matches only the data of the agencies the scope names for its attribute. Without
        ``count``, the total is not computed (None)."""
        if query.entity is Entity.MEMBER:
            return self._find_persons(query, offset, limit, agencies, count)
        return self._find_households(query, offset, limit, agencies, count)

    def _count(self, table: Any, where: ColumnElement[bool], count: bool) -> int | None:
        if not count:
            return None
        return self.session.scalar(select(func.count()).select_from(table).where(where)) or 0

    def _find_persons(
        self, query: SubjectQuery, offset: int, limit: int, agencies: Agencies, count: bool
    ) -> tuple[list[str], int | None]:
        mp = MpiPersonRow
        where = and_(mp.status == "active", _condition(query.criteria, Entity.MEMBER, agencies))
        total = self._count(mp, where, count)
        order = []
        for key in query.sort:
            if key.attribute in _PERSON_COLUMNS or key.attribute is Attribute.BIRTH_YEAR:
                column = (
                    P.birth_date
                    if key.attribute is Attribute.BIRTH_YEAR
                    else _PERSON_COLUMNS[key.attribute]
                )
                value = (
                    select(func.min(column))
                    .join(
                        L,
                        and_(
                            P.agency == L.agency, P.source == L.source, P.record_id == L.record_id
                        ),
                    )
                    .where(L.person_id == mp.person_id)
                    .scalar_subquery()
                )
                order.append(value.desc() if key.descending else value.asc())
        rows = self.session.scalars(
            select(mp.person_id)
            .where(where)
            .order_by(*order, mp.person_id)
            .offset(offset)
            .limit(limit)
        )
        return list(rows), total

    def _find_households(
        self, query: SubjectQuery, offset: int, limit: int, agencies: Agencies, count: bool
    ) -> tuple[list[str], int | None]:
        where = _condition(query.criteria, Entity.GROUP, agencies)
        if agencies is not None:
            where = and_(H.agency.in_(sorted(agencies.households)), where)
        total = self._count(H, where, count)
        order = []
        for key in query.sort:
            column = _HOUSEHOLD_COLUMNS.get(key.attribute)
            if column is not None:
                order.append(column.desc() if key.descending else column.asc())
        rows = self.session.execute(
            select(H.agency, H.source, H.record_id)
            .where(where)
            .order_by(*order, H.agency, H.source, H.record_id)
            .offset(offset)
            .limit(limit)
        )
        return [household_ref(a, s, r) for a, s, r in rows], total

    # ------------------------------------------------------------------ reading

    def person_records(self, person_ids: Sequence[str]) -> dict[str, list[PersonRecordRow]]:
        """Current person records linked to each person, most recently updated first."""
        out: dict[str, list[PersonRecordRow]] = {pid: [] for pid in person_ids}
        join = and_(P.agency == L.agency, P.source == L.source, P.record_id == L.record_id)
        rows = self.session.execute(
            select(L.person_id, P).join(P, join).where(L.person_id.in_(list(person_ids)))
        )
        for pid, record in rows:
            out[pid].append(record)
        for records in out.values():
            records.sort(
                key=lambda r: (r.source_updated_on or date.min, r.agency, r.source, r.record_id),
                reverse=True,
            )
        return out

    def identifiers(self, person_pks: Sequence[int]) -> dict[int, list[PersonIdentifierRow]]:
        i = PersonIdentifierRow
        out: dict[int, list[PersonIdentifierRow]] = {pk: [] for pk in person_pks}
        for row in self.session.scalars(
            select(i).where(i.person_pk.in_(list(person_pks))).order_by(i.id)
        ):
            out[row.person_pk].append(row)
        return out

    def enrolments(
        self, records: Sequence[PersonRecordRow]
    ) -> dict[int, list[BenefitEnrolmentRow]]:
        """Benefit enrolments of each person record (by its primary key)."""
        e = BenefitEnrolmentRow
        out: dict[int, list[BenefitEnrolmentRow]] = {r.id: [] for r in records}
        by_key = {(r.agency, r.source, r.record_id): r.id for r in records}
        if not records:
            return out
        rows = self.session.scalars(
            select(e)
            .where(e.person_record_id.in_([r.record_id for r in records]))
            .order_by(e.start_date, e.id)
        )
        for row in rows:
            pk = by_key.get((row.agency, row.person_source or row.source, row.person_record_id))
            if pk is not None:
                out[pk].append(row)
        return out

    def households(self, refs: Sequence[str]) -> list[HouseholdRow]:
        if not refs:
            return []
        rows = self.session.scalars(
            select(H).where(or_(*(_household_ref_condition(r) for r in refs)))
        )
        found = {household_ref(h.agency, h.source, h.record_id): h for h in rows}
        return [found[r] for r in refs if r in found]

    def members(self, household: HouseholdRow) -> list[tuple[HouseholdMembershipRow, str | None]]:
        """Memberships of a household with the member's person id (None if not linked)."""
        link = and_(L.agency == M.agency, L.source == M.source, L.record_id == M.person_record_id)
        rows = self.session.execute(
            select(M, L.person_id)
            .outerjoin(L, link)
            .where(
                M.agency == household.agency,
                M.source == household.source,
                M.household_id == household.record_id,
            )
            .order_by(M.person_record_id)
        )
        return [(m, pid) for m, pid in rows]
