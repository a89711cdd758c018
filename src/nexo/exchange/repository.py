"""Reads for the exchange: persons by identifier, their records, and the facts in them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from nexo.linkage.repository import MpiRepository, RecordKey
from nexo.linkage.tables import MpiLinkRow, MpiPersonRow
from nexo.store.base import Base
from nexo.store.repository import IN_CHUNK, RepositoryBase
from nexo.store.tables import (
    BenefitEnrolmentRow,
    EmploymentEpisodeRow,
    HouseholdMembershipRow,
    HouseholdRow,
    JobSeekerRegistrationRow,
    PersonIdentifierRow,
    PersonRecordRow,
    ProgrammeParticipationRow,
)

FACT_TABLES: dict[str, type[Base]] = {
    "job_seeker_registration": JobSeekerRegistrationRow,
    "employment_episode": EmploymentEpisodeRow,
    "programme_participation": ProgrammeParticipationRow,
    "benefit_enrolment": BenefitEnrolmentRow,
}

PERSON_COLUMNS = (
    "given_names",
    "family_name",
    "second_family_name",
    "birth_date",
    "sex",
    "phone",
    "email",
    "address_line",
    "locality",
    "postcode",
    "region",
    "admin_area_code",
    "country",
)


def _keys_clause(table: Any, keys: Sequence[RecordKey]) -> Any:
    c = table.c
    return or_(
        *(
            and_(c.agency == k.agency, c.source == k.source, c.record_id == k.record_id)
            for k in keys
        )
    )


def _t(row: type[Base]) -> Table:
    table = row.__table__
    assert isinstance(table, Table)
    return table


IDENT, P, LINK, MP = _t(PersonIdentifierRow), _t(PersonRecordRow), _t(MpiLinkRow), _t(MpiPersonRow)
_BY_IDENTIFIER = (
    select(LINK.c.person_id, MP.c.status)
    .select_from(IDENT)
    .join(P, P.c.id == IDENT.c.person_pk)
    .join(
        LINK,
        and_(
            LINK.c.agency == P.c.agency,
            LINK.c.source == P.c.source,
            LINK.c.record_id == P.c.record_id,
        ),
    )
    .join(MP, MP.c.person_id == LINK.c.person_id)
    .where(IDENT.c.scheme == bindparam("scheme"), IDENT.c.value == bindparam("value"))
)
_PERSON = select(MP.c.status, MP.c.merged_into).where(MP.c.person_id == bindparam("pid"))


class ExchangeRepository(RepositoryBase):
    """Reads on the request path, in Core SQL on the session's connection (they run on every
    request; the ORM layer would double their cost)."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.mpi = MpiRepository(session)

    def persons_with_identifier(self, scheme: str, value: str) -> set[str]:
        """Person ids of every current record carrying the identifier."""
        rows = self.session.connection().execute(_BY_IDENTIFIER, {"scheme": scheme, "value": value})
        out: set[str] = set()
        for person_id, status in rows:
            out.add(self.mpi.resolve(person_id) if status == "merged" else person_id)
        return out

    def current_person_id(self, person_id: str) -> str | None:
        """The person id in use now (following merges), or None if none is active."""
        conn = self.session.connection()
        row = conn.execute(_PERSON, {"pid": person_id}).one_or_none()
        if row is None:
            return None
        if row.status == "merged":
            person_id = self.mpi.resolve(person_id)
            row = conn.execute(_PERSON, {"pid": person_id}).one_or_none()
        return person_id if row is not None and row.status == "active" else None

    def records_of(self, person_ids: Iterable[str]) -> dict[str, list[RecordKey]]:
        ids = sorted(set(person_ids))
        out: dict[str, list[RecordKey]] = defaultdict(list)
        conn = self.session.connection()
        for n in range(0, len(ids), IN_CHUNK):
            rows = conn.execute(
                select(LINK.c.person_id, LINK.c.agency, LINK.c.source, LINK.c.record_id).where(
                    LINK.c.person_id.in_(ids[n : n + IN_CHUNK])
                )
            )
            for pid, agency, source, rid in rows:
                out[pid].append(RecordKey(agency, source, rid))
        return dict(out)

    # ------------------------------------------------------------ facts

    def person_records(
        self, keys: Sequence[RecordKey], with_identifiers: bool
    ) -> list[dict[str, Any]]:
        if not keys:
            return []
        conn = self.session.connection()
        cols = [P.c.id, P.c.agency, *(P.c[c] for c in PERSON_COLUMNS)]
        query = select(*cols).where(_keys_clause(P, keys))
        rows = [dict(r._mapping) for r in conn.execute(query)]
        if with_identifiers and rows:
            idents: dict[int, list[dict[str, Any]]] = defaultdict(list)
            found = conn.execute(
                select(IDENT.c.person_pk, IDENT.c.scheme, IDENT.c.value, IDENT.c.verified).where(
                    IDENT.c.person_pk.in_([r["id"] for r in rows])
                )
            )
            for pk, scheme, value, verified in found:
                idents[pk].append({"scheme": scheme, "value": value, "verified": verified})
            for r in rows:
                r["identifiers"] = idents.get(r["id"], [])
        return rows

    def facts(self, entity: str, keys: Sequence[RecordKey]) -> list[dict[str, Any]]:
        """Current fact records of one entity type that name one of the person records."""
        table = _t(FACT_TABLES[entity])
        c = table.c
        by_agency: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for k in keys:
            by_agency[k.agency][k.record_id].add(k.source)
        out: list[dict[str, Any]] = []
        for agency, ids in by_agency.items():
            rows = self.session.connection().execute(
                select(table).where(c.agency == agency, c.person_record_id.in_(sorted(ids)))
            )
            for r in rows:
                m = dict(r._mapping)
                person_source = m["person_source"] or m["source"]
                if person_source in ids[m["person_record_id"]]:
                    out.append(m)
        return out

    def households(self, keys: Sequence[RecordKey]) -> list[dict[str, Any]]:
        """Households the person records are members of, with the member's relationship."""
        m, h = HouseholdMembershipRow, HouseholdRow
        out: list[dict[str, Any]] = []
        for k in keys:
            rows = self.session.execute(
                select(m.relationship, h.__table__)
                .join(
                    h,
                    and_(h.agency == m.agency, h.source == m.source, h.record_id == m.household_id),
                )
                .where(
                    m.agency == k.agency, m.source == k.source, m.person_record_id == k.record_id
                )
            )
            out += [dict(r._mapping) for r in rows]
        return out
