"""Reads for the exchange: persons by identifier, their records, and the facts in them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, and_, bindparam, select, tuple_
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


def _t(row: type[Base]) -> Table:
    table = row.__table__
    assert isinstance(table, Table)
    return table


IDENT, P, LINK, MP = _t(PersonIdentifierRow), _t(PersonRecordRow), _t(MpiLinkRow), _t(MpiPersonRow)
_OTHER = LINK.alias("other")
# every record of every person with a record carrying the identifier, in one query
_BY_IDENTIFIER = (
    select(_OTHER.c.person_id, _OTHER.c.agency, _OTHER.c.source, _OTHER.c.record_id, MP.c.status)
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
    .join(_OTHER, _OTHER.c.person_id == LINK.c.person_id)
    .where(IDENT.c.scheme == bindparam("scheme"), IDENT.c.value == bindparam("value"))
)
_PERSON_COLS = [P.c.id, P.c.agency, *(P.c[c] for c in PERSON_COLUMNS)]
_KEYS = tuple_(P.c.agency, P.c.source, P.c.record_id).in_(bindparam("keys", expanding=True))
_PERSONS = select(*_PERSON_COLS).where(_KEYS)
_PERSONS_WITH_IDS = (
    select(*_PERSON_COLS, IDENT.c.scheme, IDENT.c.value, IDENT.c.verified)
    .select_from(P)
    .outerjoin(IDENT, IDENT.c.person_pk == P.c.id)
    .where(_KEYS)
)
_PERSON = select(MP.c.status, MP.c.merged_into).where(MP.c.person_id == bindparam("pid"))
_LINKS = select(LINK.c.person_id, LINK.c.agency, LINK.c.source, LINK.c.record_id).where(
    LINK.c.person_id.in_(bindparam("ids", expanding=True))
)


class ExchangeRepository(RepositoryBase):
    """Reads on the request path, in Core SQL on the session's connection (they run on every
    request; the ORM layer would double their cost)."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.mpi = MpiRepository(session)

    def persons_with_identifier(self, scheme: str, value: str) -> dict[str, list[RecordKey]]:
        """Persons with a current record carrying the identifier, and all their records."""
        rows = self.session.connection().execute(_BY_IDENTIFIER, {"scheme": scheme, "value": value})
        out: dict[str, set[RecordKey]] = defaultdict(set)
        merged: set[str] = set()
        for person_id, agency, source, record_id, status in rows:
            if status == "merged":
                merged.add(person_id)
            else:
                out[person_id].add(RecordKey(agency, source, record_id))
        if merged:  # rare: follow merges to the surviving persons
            survivors = {self.mpi.resolve(p) for p in merged}
            for pid, keys in self.records_of(survivors).items():
                out[pid] |= set(keys)
        return {
            pid: sorted(keys, key=lambda k: (k.agency, k.source, k.record_id))
            for pid, keys in out.items()
        }

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
            rows = conn.execute(_LINKS, {"ids": ids[n : n + IN_CHUNK]})
            for pid, agency, source, rid in rows:
                out[pid].append(RecordKey(agency, source, rid))
        return dict(out)

    # ------------------------------------------------------------ facts

    def person_records(
        self, keys: Sequence[RecordKey], with_identifiers: bool
    ) -> list[dict[str, Any]]:
        if not keys:
            return []
        params = {"keys": [(k.agency, k.source, k.record_id) for k in keys]}
        conn = self.session.connection()
        if not with_identifiers:
            return [dict(r._mapping) for r in conn.execute(_PERSONS, params)]
        records: dict[int, dict[str, Any]] = {}
        for r in conn.execute(_PERSONS_WITH_IDS, params):
            m = dict(r._mapping)
            scheme, value, verified = m.pop("scheme"), m.pop("value"), m.pop("verified")
            record = records.setdefault(m["id"], {**m, "identifiers": []})
            if scheme is not None:
                record["identifiers"].append(
                    {"scheme": scheme, "value": value, "verified": verified}
                )
        return list(records.values())

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
        m, h = _t(HouseholdMembershipRow).c, _t(HouseholdRow)
        out: list[dict[str, Any]] = []
        conn = self.session.connection()
        for k in keys:
            rows = conn.execute(
                select(m.relationship, h)
                .join(
                    h,
                    and_(
                        h.c.agency == m.agency,
                        h.c.source == m.source,
                        h.c.record_id == m.household_id,
                    ),
                )
                .where(
                    m.agency == k.agency,
                    m.source == k.source,
                    m.person_record_id == k.record_id,
                )
            )
            out += [dict(r._mapping) for r in rows]
        return out
