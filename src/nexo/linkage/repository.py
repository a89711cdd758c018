"""Reads and writes of the master person index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from nexo.linkage.tables import MpiLinkRow, MpiPersonRow
from nexo.store.repository import RepositoryBase


@dataclass(frozen=True, slots=True)
class RecordKey:
    agency: str
    source: str
    record_id: str


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
