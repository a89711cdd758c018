"""A stand-in master person index: one person per verified national identifier.

This is NOT record linkage. It exists so that tests, benchmarks and the demo can exercise the
exchange before (or without) the linkage part: person records that carry the same *verified*
identifier with a valid check digit become one person; every other record becomes a person of
its own. Records already in the index are left alone, so real linkage results are never
overwritten. Links are marked ``method = deterministic`` (exact identifier) or ``singleton``,
with ``run_id = identifier-seed``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, insert, select
from sqlalchemy.orm import Session

from nexo.linkage.tables import MpiEventRow, MpiLinkRow, MpiPersonRow
from nexo.store.tables import PersonIdentifierRow, PersonRecordRow

RUN_ID = "identifier-seed"
CHUNK = 10_000


@dataclass(frozen=True)
class SeedReport:
    records: int
    persons: int
    grouped_records: int


def _find(parent: dict[int, int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def seed_mpi_from_identifiers(session: Session, *, now: datetime) -> SeedReport:
    """Give every unlinked person record a person (see the module docstring). Never commits."""
    p, i, link = PersonRecordRow, PersonIdentifierRow, MpiLinkRow
    unlinked = session.execute(
        select(p.id, p.agency, p.source, p.record_id)
        .outerjoin(
            link,
            and_(link.agency == p.agency, link.source == p.source, link.record_id == p.record_id),
        )
        .where(link.id.is_(None))
    ).all()
    if not unlinked:
        return SeedReport(0, 0, 0)
    pks = {r.id for r in unlinked}
    parent = {pk: pk for pk in pks}
    first_with: dict[tuple[str, str], int] = {}
    verified = session.execute(
        select(i.person_pk, i.scheme, i.value).where(
            i.verified.is_(True), i.check_digit_ok.is_(True)
        )
    )
    grouped: set[int] = set()
    for pk, scheme, value in verified:
        if pk not in parent:
            continue
        other = first_with.setdefault((scheme, value), pk)
        if other != pk:
            parent[_find(parent, pk)] = _find(parent, other)
            grouped |= {pk, other}
    person_of_root: dict[int, str] = {}
    persons, links, events = [], [], []
    for r in unlinked:
        root = _find(parent, r.id)
        if root not in person_of_root:
            pid = "nx" + uuid.uuid4().hex[:20]
            person_of_root[root] = pid
            persons.append(
                {
                    "person_id": pid,
                    "status": "active",
                    "merged_into": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            events.append(
                {
                    "kind": "created",
                    "person_id": pid,
                    "other_person_id": None,
                    "run_id": RUN_ID,
                    "at": now,
                    "detail": {"by": "identifier seed (a stand-in, not linkage)"},
                }
            )
        links.append(
            {
                "person_id": person_of_root[root],
                "agency": r.agency,
                "source": r.source,
                "record_id": r.record_id,
                "match_probability": 1.0,
                "method": "deterministic" if r.id in grouped else "singleton",
                "run_id": RUN_ID,
                "linked_at": now,
            }
        )
    for table, rows in ((MpiPersonRow, persons), (MpiLinkRow, links), (MpiEventRow, events)):
        for n in range(0, len(rows), CHUNK):
            session.execute(insert(table), rows[n : n + CHUNK])
    return SeedReport(len(unlinked), len(persons), len(grouped))
