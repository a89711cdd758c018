"""Reads and writes of the master person index."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from nexo.linkage.domain import NATIONAL_SCHEMES, Demographics, RecordKey, ReviewStatus
from nexo.linkage.persons import PersonEvent
from nexo.linkage.tables import (
    MpiEventRow,
    MpiGoldenRow,
    MpiLinkRow,
    MpiPersonRow,
    MpiReviewRow,
    MpiRunRow,
)
from nexo.store.repository import IN_CHUNK, RepositoryBase
from nexo.store.tables import PersonIdentifierRow, PersonRecordRow

__all__ = ["LinkRow", "MpiRepository", "RecordKey"]

LinkRow = tuple[RecordKey, str, float, str]  # key, person id, probability, method
_NATIONAL = sorted(s.value for s in NATIONAL_SCHEMES)


class MpiRepository(RepositoryBase):
    def person_of(self, key: RecordKey) -> str | None:
        """The person id a source record belongs to, following merges to the surviving id."""
        t = MpiLinkRow
        person_id = self.session.scalar(
            select(t.person_id).where(t.agency == key.agency, t.source == key.source,
                                      t.record_id == key.record_id)
        )  # fmt: skip
        return self.resolve(person_id) if person_id else None

    def resolve(self, person_id: str) -> str:
        """Follow ``merged_into`` to the person id in use now."""
        seen = {person_id}
        while True:
            row = self.session.get(MpiPersonRow, person_id)
            if row is None or row.status != "merged" or not row.merged_into:
                return person_id
            person_id = row.merged_into
            if person_id in seen:  # a cycle would be a bug; stop rather than loop
                return person_id
            seen.add(person_id)

    def records_of(self, person_id: str) -> list[RecordKey]:
        t = MpiLinkRow
        rows = self.session.execute(
            select(t.agency, t.source, t.record_id).where(t.person_id == self.resolve(person_id))
            .order_by(t.agency, t.source, t.record_id)
        )  # fmt: skip
        return [RecordKey(a, s, r) for a, s, r in rows]

    def persons_of(self, keys: Sequence[RecordKey]) -> dict[RecordKey, str]:
        out: dict[RecordKey, str] = {}
        for key in keys:
            pid = self.person_of(key)
            if pid:
                out[key] = pid
        return out

    # ------------------------------------------------------------ inputs of a run

    def demographics(self, record_ids: Sequence[str] | None = None) -> list[Demographics]:
        """Current person records (all, or those with these record ids), with their national
        identifier (a verified one first)."""
        p, i = PersonRecordRow, PersonIdentifierRow
        idents: dict[int, tuple[str, str, bool, bool]] = {}
        q = select(i.person_pk, i.scheme, i.value, i.verified, i.check_digit_ok).where(
            i.scheme.in_(_NATIONAL)
        )
        q = q.order_by(i.person_pk, i.verified.desc(), i.id)
        persons = select(
            p.id, p.agency, p.source, p.record_id, p.given_names, p.family_name,
            p.second_family_name, p.birth_date, p.sex, p.phone, p.email, p.address_line,
            p.locality, p.postcode, p.region, p.admin_area_code, p.country,
            p.source_updated_on,
        ).order_by(p.agency, p.source, p.record_id)  # fmt: skip
        if record_ids is None:
            chunks: list[Any] = [(q, persons)]
        else:
            ids = sorted(set(record_ids))
            chunks = []
            for n in range(0, len(ids), IN_CHUNK):
                part = ids[n : n + IN_CHUNK]
                pks = select(p.id).where(p.record_id.in_(part))
                chunks.append((q.where(i.person_pk.in_(pks)), persons.where(p.record_id.in_(part))))
        out: list[Demographics] = []
        for ident_q, person_q in chunks:
            for pk, scheme, value, verified, ok in self.session.execute(ident_q):
                idents.setdefault(pk, (scheme, value, verified, ok))
            out.extend(self._demographics(person_q, idents))
        return out

    def demographics_of(self, keys: Sequence[RecordKey]) -> dict[RecordKey, Demographics]:
        wanted = set(keys)
        found = self.demographics([k.record_id for k in wanted])
        return {d.key: d for d in found if d.key in wanted}

    def _demographics(
        self, query: Any, idents: dict[int, tuple[str, str, bool, bool]]
    ) -> list[Demographics]:
        out: list[Demographics] = []
        for r in self.session.execute(query):
            ident = idents.get(r[0])
            out.append(
                Demographics(
                    key=RecordKey(r[1], r[2], r[3]),
                    given_names=r[4], family_name=r[5], second_family_name=r[6],
                    birth_date=r[7], sex=r[8],
                    id_scheme=ident[0] if ident else None,
                    id_value=ident[1] if ident else None,
                    id_verified=bool(ident and ident[2]),
                    id_check_ok=bool(ident and ident[3]),
                    phone=r[9], email=r[10], address_line=r[11], locality=r[12],
                    postcode=r[13], region=r[14], admin_area_code=r[15], country=r[16],
                    updated_on=r[17],
                )
            )  # fmt: skip
        return out

    def links(self) -> dict[RecordKey, tuple[int, str, float, str]]:
        """Record → (link row id, person id, probability, method)."""
        t = MpiLinkRow
        rows = self.session.execute(
            select(t.id, t.agency, t.source, t.record_id, t.person_id, t.match_probability,
                   t.method)
        )  # fmt: skip
        return {RecordKey(a, s, r): (pk, pid, p, m) for pk, a, s, r, pid, p, m in rows}

    def decided_reviews(self) -> list[MpiReviewRow]:
        t = MpiReviewRow
        return list(self.session.scalars(select(t).where(t.status != ReviewStatus.OPEN.value)))

    def golden_ids(self, person_ids: Sequence[str]) -> set[str]:
        t = MpiGoldenRow
        out: set[str] = set()
        ids = list(person_ids)
        for n in range(0, len(ids), IN_CHUNK):
            out.update(
                self.session.scalars(
                    select(t.person_id).where(t.person_id.in_(ids[n : n + IN_CHUNK]))
                )
            )
        return out

    def decisions(self) -> list[tuple[RecordKey, RecordKey, ReviewStatus]]:
        t = MpiReviewRow
        rows = self.session.execute(
            select(t.agency_a, t.source_a, t.record_a, t.agency_b, t.source_b, t.record_b,
                   t.status).where(t.status != ReviewStatus.OPEN.value)
        )  # fmt: skip
        return [
            (RecordKey(a1, s1, r1), RecordKey(a2, s2, r2), ReviewStatus(st))
            for a1, s1, r1, a2, s2, r2, st in rows
        ]

    def latest_run(self, *, status: str = "done") -> MpiRunRow | None:
        t = MpiRunRow
        return self.session.scalars(
            select(t).where(t.status == status).order_by(t.model_version.desc()).limit(1)
        ).first()

    def next_model_version(self) -> int:
        return int(self.session.scalar(select(func.max(MpiRunRow.model_version))) or 0) + 1

    # ------------------------------------------------------------ writes of a run

    def add_run(self, row: MpiRunRow) -> None:
        self.session.add(row)
        self.session.flush()

    def add_persons(self, person_ids: Iterable[str], at: datetime) -> None:
        rows = [
            {"person_id": pid, "status": "active", "merged_into": None, "created_at": at,
             "updated_at": at}
            for pid in person_ids
        ]  # fmt: skip
        for i in range(0, len(rows), IN_CHUNK):
            self.session.execute(insert(MpiPersonRow), rows[i : i + IN_CHUNK])

    def set_status(self, changes: dict[str, tuple[str, str | None]], at: datetime) -> None:
        """person id → (status, merged_into)."""
        if changes:
            self.session.execute(
                update(MpiPersonRow),
                [
                    {"person_id": pid, "status": st, "merged_into": into, "updated_at": at}
                    for pid, (st, into) in changes.items()
                ],
            )

    def write_links(
        self,
        new: Sequence[LinkRow],
        changed: Sequence[tuple[int, LinkRow]],
        gone: Sequence[int],
        *,
        run_id: str,
        at: datetime,
    ) -> None:
        def values(row: LinkRow) -> dict[str, Any]:
            key, pid, prob, method = row
            return {"agency": key.agency, "source": key.source, "record_id": key.record_id,
                    "person_id": pid, "match_probability": prob, "method": method,
                    "run_id": run_id, "linked_at": at}  # fmt: skip

        t = MpiLinkRow
        for i in range(0, len(gone), IN_CHUNK):
            self.session.execute(delete(t).where(t.id.in_(gone[i : i + IN_CHUNK])))
        if changed:
            self.session.execute(update(t), [{"id": pk, **values(row)} for pk, row in changed])
        rows = [values(r) for r in new]
        for i in range(0, len(rows), 5000):
            self.session.execute(insert(t), rows[i : i + 5000])

    def add_events(self, events: Sequence[PersonEvent], *, run_id: str, at: datetime) -> None:
        if events:
            self.session.execute(
                insert(MpiEventRow),
                [
                    {"kind": e.kind.value, "person_id": e.person_id,
                     "other_person_id": e.other_person_id, "detail": e.detail,
                     "run_id": run_id, "at": at}
                    for e in events
                ],
            )  # fmt: skip

    def golden_digests(self) -> dict[str, str]:
        t = MpiGoldenRow
        return {pid: d for pid, d in self.session.execute(select(t.person_id, t.digest))}

    def write_golden(
        self,
        rows: Sequence[tuple[str, dict[str, Any], dict[str, Any], str]],
        *,
        existing: set[str],
        gone: Iterable[str],
        run_id: str,
        at: datetime,
    ) -> None:
        t = MpiGoldenRow
        gone = list(gone)
        for i in range(0, len(gone), IN_CHUNK):
            self.session.execute(delete(t).where(t.person_id.in_(gone[i : i + IN_CHUNK])))
        values = [
            {"person_id": pid, "record": rec, "provenance": prov, "digest": digest,
             "run_id": run_id, "updated_at": at}
            for pid, rec, prov, digest in rows
        ]  # fmt: skip
        old = [v for v in values if v["person_id"] in existing]
        new = [v for v in values if v["person_id"] not in existing]
        if old:
            self.session.execute(update(t), old)
        for i in range(0, len(new), 5000):
            self.session.execute(insert(t), new[i : i + 5000])

    # ------------------------------------------------------------ review queue

    def replace_open_reviews(self, rows: Sequence[dict[str, Any]]) -> None:
        """Open items of earlier runs are replaced by this run's; decided ones stay."""
        t = MpiReviewRow
        self.session.execute(delete(t).where(t.status == ReviewStatus.OPEN.value))
        for i in range(0, len(rows), 2000):
            self.session.execute(insert(t), rows[i : i + 2000])

    def reviews(self, *, status: str | None = None, limit: int = 50) -> list[MpiReviewRow]:
        t = MpiReviewRow
        q = select(t).order_by(t.match_probability.desc(), t.id).limit(limit)
        if status:
            q = q.where(t.status == status)
        return list(self.session.scalars(q))

    def review(self, review_id: int) -> MpiReviewRow | None:
        return self.session.get(MpiReviewRow, review_id)

    # ------------------------------------------------------------ status

    def counts(self) -> dict[str, dict[str, int]]:
        def grouped(col: Any) -> dict[str, int]:
            rows = self.session.execute(select(col, func.count()).group_by(col))
            return {str(k): int(n) for k, n in rows}

        return {
            "persons": grouped(MpiPersonRow.status),
            "links": grouped(MpiLinkRow.method),
            "review": grouped(MpiReviewRow.status),
            "events": grouped(MpiEventRow.kind),
        }

    def runs(self, limit: int = 5) -> list[MpiRunRow]:
        t = MpiRunRow
        return list(self.session.scalars(select(t).order_by(t.started_at.desc()).limit(limit)))

    def export_rows(self) -> Iterable[tuple[str, str, str, str, float]]:
        t = MpiLinkRow
        yield from self.session.execute(
            select(t.agency, t.source, t.record_id, t.person_id, t.match_probability).order_by(
                t.agency, t.source, t.record_id
            )
        ).tuples()
