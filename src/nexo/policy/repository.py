"""Queries of consent events and policy versions. Consent events are only ever inserted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from nexo.policy.consent import Channel, ConsentEvent, ConsentKind
from nexo.policy.tables import ConsentEventRow, PolicyVersionRow
from nexo.store.repository import RepositoryBase

_T = ConsentEventRow.__table__
_EVENTS = select(_T).where(_T.c.person_id == bindparam("pid")).order_by(_T.c.at, _T.c.id)


def _event(row: Any) -> ConsentEvent:
    return ConsentEvent(
        person_id=row.person_id,
        purpose=row.purpose,
        recipient=row.recipient,
        kind=ConsentKind(row.kind),
        at=row.at,
        channel=Channel(row.channel),
        notice_version=row.notice_version,
        expires_at=row.expires_at,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        seq=row.id,
    )


class ConsentRepository(RepositoryBase):
    def add(self, event: ConsentEvent) -> ConsentEvent:
        row = ConsentEventRow(
            **event.model_dump(exclude={"seq"}, mode="python"),
        )
        self.session.add(row)
        self.session.flush()
        return _event(row)

    def events(self, person_id: str, *, purpose: str | None = None) -> list[ConsentEvent]:
        """The person's events in order (Core, on the session's connection: this runs on
        every request that a consent rule applies to, and is never cached)."""
        rows = self.session.connection().execute(_EVENTS, {"pid": person_id})
        return [_event(r) for r in rows if purpose is None or r.purpose == purpose]


class PolicyVersionRepository(RepositoryBase):
    def known(self, version: str) -> bool:
        return self.session.get(PolicyVersionRow, version) is not None

    def add(self, row: PolicyVersionRow) -> None:
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            pass  # stored by another process at the same time

    def get(self, version: str) -> PolicyVersionRow | None:
        return self.session.get(PolicyVersionRow, version)
