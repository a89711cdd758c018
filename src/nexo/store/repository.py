"""Writing and reading canonical records: versions in ``source_record``, current in projections."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from nexo.model import ENTITY_MODELS, CanonicalModel, EntityType
from nexo.store import projection
from nexo.store.tables import PersonIdentifierRow, PersonRecordRow, SourceRecordRow

IN_CHUNK = 500  # ids per IN (...) list


class RepositoryBase:
    """Every repository wraps the caller's session; the caller commits."""

    def __init__(self, session: Session) -> None:
        self.session = session


@dataclass(frozen=True, slots=True)
class NewRecord:
    entity_type: EntityType
    record_id: str
    entity: CanonicalModel
    data: dict[str, Any]
    content_hash: str
    source_updated_on: date | None = None

    @classmethod
    def of(
        cls,
        entity_type: EntityType,
        record_id: str,
        entity: CanonicalModel,
        source_updated_on: date | None = None,
    ) -> NewRecord:
        """The content hash covers the entity only: a new update date alone is no new version."""
        text = entity.model_dump_json()
        digest = hashlib.sha256(f"{entity_type.value}\x1f{text}".encode()).hexdigest()
        return cls(
            entity_type,
            record_id,
            entity,
            entity.model_dump(mode="json"),
            digest,
            source_updated_on,
        )


@dataclass(frozen=True, slots=True)
class WriteResult:
    written: int  # new versions
    unchanged: int  # versions already in the store


@dataclass(slots=True)
class _Known:
    max_version: int = 0
    current_pk: int | None = None
    hashes: set[str] | None = None


class RecordRepository(RepositoryBase):
    def _known(
        self, agency: str, source: str, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], _Known]:
        known: dict[tuple[str, str], _Known] = defaultdict(_Known)
        ids = sorted({rid for _, rid in keys})
        t = SourceRecordRow
        for i in range(0, len(ids), IN_CHUNK):
            rows = self.session.execute(
                select(
                    t.id, t.entity_type, t.source_record_id, t.version, t.is_current, t.content_hash
                ).where(
                    t.agency == agency,
                    t.source == source,
                    t.source_record_id.in_(ids[i : i + IN_CHUNK]),
                )
            )
            for pk, etype, rid, version, current, digest in rows:
                k = known[(etype, rid)]
                k.max_version = max(k.max_version, version)
                k.hashes = (k.hashes or set()) | {digest}
                if current:
                    k.current_pk = pk
        return known

    def write(
        self,
        *,
        agency: str,
        source: str,
        batch_id: str,
        mapping_version: str | None,
        received_at: datetime,
        records: Sequence[NewRecord],
    ) -> WriteResult:
        """Store new versions of changed records; a version seen before is never re-applied.

        Replaying an old export therefore cannot roll a record back (see decision 0002).
        """
        keys = {(r.entity_type.value, r.record_id) for r in records}
        known = self._known(agency, source, keys)
        versions: list[dict[str, Any]] = []
        latest: dict[tuple[str, str], NewRecord] = {}
        superseded: list[int] = []
        unchanged = 0
        for r in records:
            k = known[(r.entity_type.value, r.record_id)]
            if k.hashes and r.content_hash in k.hashes:
                unchanged += 1
                continue
            k.max_version += 1
            k.hashes = (k.hashes or set()) | {r.content_hash}
            if k.current_pk is not None:
                superseded.append(k.current_pk)
                k.current_pk = None
            versions.append(
                {
                    "agency": agency,
                    "source": source,
                    "source_record_id": r.record_id,
                    "entity_type": r.entity_type.value,
                    "version": k.max_version,
                    "is_current": False,
                    "content_hash": r.content_hash,
                    "batch_id": batch_id,
                    "received_at": received_at,
                    "superseded_at": None,
                    "mapping_version": mapping_version,
                    "data": r.data,
                    "source_updated_on": r.source_updated_on,
                }
            )
            latest[(r.entity_type.value, r.record_id)] = r
        if not versions:
            return WriteResult(0, unchanged)
        t = SourceRecordRow
        if superseded:
            for i in range(0, len(superseded), IN_CHUNK):
                self.session.execute(
                    update(t)
                    .where(t.id.in_(superseded[i : i + IN_CHUNK]))
                    .values(is_current=False, superseded_at=received_at)
                )
        # the last version of each key in this chunk is the current one
        last_index = {(v["entity_type"], v["source_record_id"]): i for i, v in enumerate(versions)}
        current = set(last_index.values())
        for i, v in enumerate(versions):
            v["is_current"] = i in current
            v["superseded_at"] = None if i in current else received_at
        pks = self.session.scalars(
            insert(t).returning(t.id, sort_by_parameter_order=True), versions
        ).all()
        current_pk = {key: pks[i] for key, i in last_index.items()}
        self._project(agency, source, latest, current_pk)
        return WriteResult(len(versions), unchanged)

    def _project(
        self,
        agency: str,
        source: str,
        latest: dict[tuple[str, str], NewRecord],
        current_pk: dict[tuple[str, str], int],
    ) -> None:
        by_type: dict[EntityType, list[NewRecord]] = defaultdict(list)
        for r in latest.values():
            by_type[r.entity_type].append(r)
        for etype, recs in by_type.items():
            table = projection.TABLES[etype]
            ids = [r.record_id for r in recs]
            cols = table.__table__.c
            for i in range(0, len(ids), IN_CHUNK):
                self.session.execute(
                    delete(table).where(
                        cols.agency == agency,
                        cols.source == source,
                        cols.record_id.in_(ids[i : i + IN_CHUNK]),
                    )
                )
            rows = [
                {
                    "agency": agency,
                    "source": source,
                    "record_id": r.record_id,
                    "source_record_pk": current_pk[(etype.value, r.record_id)],
                    "source_updated_on": r.source_updated_on,
                    **projection.columns(r.entity),
                }
                for r in recs
            ]
            if etype is not EntityType.PERSON:
                self.session.execute(insert(table), rows)
                continue
            person_pks = self.session.scalars(
                insert(table).returning(cols.id, sort_by_parameter_order=True), rows
            ).all()
            idents = [
                {"person_pk": pk, **ident}
                for pk, r in zip(person_pks, recs, strict=True)
                for ident in projection.identifiers(r.entity)
            ]
            if idents:
                self.session.execute(insert(PersonIdentifierRow), idents)

    # ------------------------------------------------------------ reads

    def count_current(self) -> dict[tuple[str, str, str], int]:
        """(agency, source, entity type) → number of current records."""
        t = SourceRecordRow
        rows = self.session.execute(
            select(t.agency, t.source, t.entity_type, func.count())
            .where(t.is_current.is_(True))
            .group_by(t.agency, t.source, t.entity_type)
        )
        return {(a, s, e): n for a, s, e, n in rows}

    def history(
        self, agency: str, source: str, entity_type: EntityType, record_id: str
    ) -> list[SourceRecordRow]:
        t = SourceRecordRow
        return list(
            self.session.scalars(
                select(t)
                .where(
                    t.agency == agency,
                    t.source == source,
                    t.entity_type == entity_type.value,
                    t.source_record_id == record_id,
                )
                .order_by(t.version)
            )
        )

    def current_entity(
        self, agency: str, source: str, entity_type: EntityType, record_id: str
    ) -> CanonicalModel | None:
        t = SourceRecordRow
        data = self.session.scalar(
            select(t.data).where(
                t.agency == agency,
                t.source == source,
                t.entity_type == entity_type.value,
                t.source_record_id == record_id,
                t.is_current.is_(True),
            )
        )
        return ENTITY_MODELS[entity_type].model_validate(data) if data is not None else None

    def persons_by_identifier(self, scheme: str, value: str) -> list[PersonRecordRow]:
        p, i = PersonRecordRow, PersonIdentifierRow
        return list(
            self.session.scalars(
                select(p).join(i, i.person_pk == p.id).where(i.scheme == scheme, i.value == value)
            )
        )
