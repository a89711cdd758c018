"""Reads for the exchange: persons by identifier, their records, and the facts in them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, or_, select
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
    c = table.__table__.c
    return or_(
        *(
            and_(c.agency == k.agency, c.source == k.source, c.record_id == k.record_id)
            for k in keys
        )
    )


class ExchangeRepository(RepositoryBase):
    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.mpi = MpiRepository(session)

    def persons_with_identifier(self, scheme: str, value: str) -> set[str]:
        """Person ids of every current record carrying the identifier."""
        i, p, link, mp = PersonIdentifierRow, PersonRecordRow, MpiLinkRow, MpiPersonRow
        rows = self.session.execute(
            select(link.person_id, mp.status)
            .select_from(i)
            .join(p, p.id == i.person_pk)
            .join(
                link,
                and_(
                    link.agency == p.agency,
                    link.source == p.source,
                    link.record_id == p.record_id,
                ),
            )
            .join(mp, mp.person_id == link.person_id)
            .where(i.scheme == scheme, i.value == value)
        )
        out: set[str] = set()
        for person_id, status in rows:
            out.add(self.mpi.resolve(person_id) if status == "merged" else person_id)
        return out

    def current_person_id(self, person_id: str) -> str | None:
        """The person id in use now (following merges), or None if it was never issued."""
        row = self.session.get(MpiPersonRow, person_id)
        if row is None:
            return None
        resolved = self.mpi.resolve(person_id) if row.status == "merged" else person_id
        final = self.session.get(MpiPersonRow, resolved)
        return resolved if final is not None and final.status == "active" else None

    def records_of(self, person_ids: Iterable[str]) -> dict[str, list[RecordKey]]:
        ids = sorted(set(person_ids))
        out: dict[str, list[RecordKey]] = defaultdict(list)
        t = MpiLinkRow
        for n in range(0, len(ids), IN_CHUNK):
            rows = self.session.execute(
                select(t.person_id, t.agency, t.source, t.record_id).where(
                    t.person_id.in_(ids[n : n + IN_CHUNK])
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
        p = PersonRecordRow
        cols = [p.id, p.agency, *(getattr(p, c) for c in PERSON_COLUMNS)]
        rows = [
            dict(r._mapping)
            for r in self.session.execute(select(*cols).where(_keys_clause(p, keys)))
        ]
        if with_identifiers and rows:
            i = PersonIdentifierRow
            idents: dict[int, list[dict[str, Any]]] = defaultdict(list)
            found = self.session.execute(
                select(i.person_pk, i.scheme, i.value, i.verified).where(
                    i.person_pk.in_([r["id"] for r in rows])
                )
            )
            for pk, scheme, value, verified in found:
                idents[pk].append({"scheme": scheme, "value": value, "verified": verified})
            for r in rows:
                r["identifiers"] = idents.get(r["id"], [])
        return rows

    def facts(self, entity: str, keys: Sequence[RecordKey]) -> list[dict[str, Any]]:
        """Current fact records of one entity type that name one of the person records."""
        table = FACT_TABLES[entity]
        c = table.__table__.c
        by_agency: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for k in keys:
            by_agency[k.agency][k.record_id].add(k.source)
        out: list[dict[str, Any]] = []
        for agency, ids in by_agency.items():
            rows = self.session.execute(
                select(table.__table__).where(
                    c.agency == agency, c.person_record_id.in_(sorted(ids))
                )
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
