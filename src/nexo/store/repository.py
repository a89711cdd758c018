"""Writing and reading canonical records: versions in ``source_record``, current in projections."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from nexo.model import ENTITY_MODELS, CanonicalModel, EntityType
from nexo.store import projection
from nexo.store.sqlite_writer import Inserter, check_ids, driver_connection, iso_date
from nexo.store.tables import PersonIdentifierRow, PersonRecordRow, SourceRecordRow

if TYPE_CHECKING:
    from nexo.store.staging import PersonColumns, StagedPersons

IN_CHUNK = 500  # ids per IN (...) list
SQLITE_IN_CHUNK = 900  # (SQLite before 3.32 allows 999 parameters per statement)
_TYPE = {t: t.value for t in EntityType}  # (reading .value of an enum member is slow)


class RepositoryBase:
    """Every repository wraps the caller's session; the caller commits."""

    def __init__(self, session: Session) -> None:
        self.session = session


@dataclass(frozen=True, slots=True)
class NewRecord:
    entity_type: EntityType
    record_id: str
    entity: CanonicalModel | None  # None when the projection is given (``columns``...)
    text: str  # the canonical JSON of the entity: hashed, and stored as the version's data
    content_hash: str
    source_updated_on: date | None = None
    #: the projection's columns and identifier rows, when computed in advance (by a worker)
    columns: dict[str, Any] | None = None
    identifiers: tuple[dict[str, Any], ...] | None = None

    @property
    def data(self) -> dict[str, Any]:
        return cast(dict[str, Any], json.loads(self.text))

    def projected(self) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
        if self.columns is not None and self.identifiers is not None:
            return self.columns, self.identifiers
        assert self.entity is not None
        return projection.columns(self.entity), tuple(projection.identifiers(self.entity))

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
        digest = hashlib.sha256(f"{_TYPE[entity_type]}\x1f{text}".encode()).hexdigest()
        return cls(entity_type, record_id, entity, text, digest, source_updated_on)


PERSON_COLUMNS = (
    "given_names", "family_name", "second_family_name", "birth_date", "sex", "phone", "email",
    "address_line", "locality", "postcode", "region", "admin_area_code", "country",
)  # fmt: skip
"""``person_record``'s own columns, in the order of ``projection.columns``."""
IDENT_KEYS = ("scheme", "value", "verified", "check_digit_ok")  # an identifier row's values


_BIRTH = PERSON_COLUMNS.index("birth_date")


@dataclass(slots=True)
class PersonBatch:
    """Person records column by column, in input order, none with an update date.

    Ingest's column-wise path makes these; on SQLite a batch of new records is inserted without
    a Python object per record. It holds exactly what the ``NewRecord``s would (``records``),
    the birth date as its ISO text.
    """

    record_ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # canonical JSON
    hashes: list[str] = field(default_factory=list)
    #: the projection's columns, in PERSON_COLUMNS order (birth_date as ISO text)
    columns: list[list[Any]] = field(default_factory=lambda: [[] for _ in PERSON_COLUMNS])
    #: each record's identifier rows: (scheme, value, verified, check_digit_ok)
    identifiers: list[tuple[tuple[Any, ...], ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.record_ids)

    def append(self, r: NewRecord) -> None:
        """Add a record mapped row-wise."""
        if r.entity_type is not EntityType.PERSON or r.source_updated_on is not None:
            raise ValueError("a person batch holds persons without an update date")
        columns, identifiers = r.projected()
        self.record_ids.append(r.record_id)
        self.texts.append(r.text)
        self.hashes.append(r.content_hash)
        for name, column in zip(PERSON_COLUMNS, self.columns, strict=True):
            value = columns[name]
            column.append(value.isoformat() if name == "birth_date" and value else value)
        self.identifiers.append(tuple(tuple(i[k] for k in IDENT_KEYS) for i in identifiers))

    def extend(self, other: PersonBatch, start: int, stop: int) -> None:
        """Add ``other``'s records ``start`` to ``stop``."""
        self.record_ids += other.record_ids[start:stop]
        self.texts += other.texts[start:stop]
        self.hashes += other.hashes[start:stop]
        for mine, theirs in zip(self.columns, other.columns, strict=True):
            mine += theirs[start:stop]
        self.identifiers += other.identifiers[start:stop]

    def records(self) -> list[NewRecord]:
        person, day = EntityType.PERSON, date.fromisoformat
        rows = zip(*self.columns, strict=True) if self.record_ids else iter(())
        return [
            NewRecord(
                person, rid, None, text, digest, None,
                {
                    name: day(v) if k == _BIRTH and v is not None else v
                    for k, (name, v) in enumerate(zip(PERSON_COLUMNS, values, strict=True))
                },
                tuple(dict(zip(IDENT_KEYS, i, strict=True)) for i in idents),
            )
            for rid, text, digest, values, idents in zip(
                self.record_ids, self.texts, self.hashes, rows, self.identifiers, strict=True
            )
        ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class WriteResult:
    written: int  # new versions
    unchanged: int  # versions already in the store


@dataclass(slots=True)
class _Known:
    max_version: int = 0
    current_pk: int | None = None
    hashes: set[str] | None = None


@dataclass(slots=True)
class _Plan:
    """What a write changes: new versions, superseded ones, and the records to project."""

    versions: list[dict[str, Any]]
    latest: dict[tuple[str, str], NewRecord]
    superseded: list[int]
    stale: set[tuple[str, str]]  # keys with an earlier version (and so a projection row)
    last_index: dict[tuple[str, str], int]


class RecordRepository(RepositoryBase):
    def _known(
        self, agency: str, source: str, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], _Known]:
        known: dict[tuple[str, str], _Known] = defaultdict(_Known)
        ids = sorted({rid for _, rid in keys})
        types = sorted({etype for etype, _ in keys})
        if self.session.get_bind().dialect.name == "sqlite":
            found = self._known_sqlite(agency, source, types, ids)
        else:
            found = self._known_postgres(agency, source, types, ids)
        for pk, etype, rid, version, current, digest in found:
            k = known[(etype, rid)]
            k.max_version = max(k.max_version, version)
            k.hashes = (k.hashes or set()) | {digest}
            if current:
                k.current_pk = pk
        return known

    def _known_sqlite(
        self, agency: str, source: str, types: list[str], ids: list[str]
    ) -> Iterator[Any]:
        """The same query through the driver (SQLAlchemy's cost per query is most of it)."""
        conn = driver_connection(self.session.connection().connection)
        step = SQLITE_IN_CHUNK - len(types)
        for i in range(0, len(ids), step):
            part = ids[i : i + step]
            yield from conn.execute(
                "SELECT id, entity_type, source_record_id, version, is_current, content_hash "
                "FROM source_record WHERE agency = ? AND source = ? AND entity_type IN "
                f"({', '.join('?' * len(types))}) AND source_record_id IN "
                f"({', '.join('?' * len(part))})",
                [agency, source, *types, *part],
            )

    def _known_postgres(
        self, agency: str, source: str, types: list[str], ids: list[str]
    ) -> Iterator[Any]:
        """The same query through the driver, the ids as one array (an ORM statement per 500
        ids cost more, and left its compiled parameters, holding the ids, in reference
        cycles)."""
        with _pg_cursor(self.session) as cur:
            cur.execute(
                "SELECT id, entity_type, source_record_id, version, is_current, content_hash "
                "FROM source_record WHERE agency = %s AND source = %s "
                "AND entity_type = ANY(%s) AND source_record_id = ANY(%s)",
                (agency, source, types, ids),
            )
            yield from cur.fetchall()

    def _plan(
        self, agency: str, source: str, received_at: datetime, records: Sequence[NewRecord]
    ) -> tuple[_Plan, int]:
        keys = {(_TYPE[r.entity_type], r.record_id) for r in records}
        known = self._known(agency, source, keys)
        versions: list[dict[str, Any]] = []
        latest: dict[tuple[str, str], NewRecord] = {}
        superseded: list[int] = []
        stale: set[tuple[str, str]] = set()
        unchanged = 0
        for r in records:
            key = (_TYPE[r.entity_type], r.record_id)
            k = known[key]
            if k.hashes and r.content_hash in k.hashes:
                unchanged += 1
                continue
            if k.max_version:
                stale.add(key)
            k.max_version += 1
            k.hashes = (k.hashes or set()) | {r.content_hash}
            if k.current_pk is not None:
                superseded.append(k.current_pk)
                k.current_pk = None
            versions.append(
                {
                    "source_record_id": r.record_id,
                    "entity_type": key[0],
                    "version": k.max_version,
                    "content_hash": r.content_hash,
                    "source_updated_on": r.source_updated_on,
                    "data": r.text,
                    "record": r,
                }
            )
            latest[key] = r
        # the last version of each key in this chunk is the current one
        last_index = {(v["entity_type"], v["source_record_id"]): i for i, v in enumerate(versions)}
        current = set(last_index.values())
        for i, v in enumerate(versions):
            v["is_current"] = i in current
            v["superseded_at"] = None if i in current else received_at
        return _Plan(versions, latest, superseded, stale, last_index), unchanged

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
        plan, unchanged = self._plan(agency, source, received_at, records)
        if not plan.versions:
            return WriteResult(0, unchanged)
        common = {
            "agency": agency,
            "source": source,
            "batch_id": batch_id,
            "received_at": received_at,
            "mapping_version": mapping_version,
        }
        if self.session.get_bind().dialect.name == "sqlite":
            self._write_sqlite(plan, common)
        else:
            self._write_postgres(plan, common)
        return WriteResult(len(plan.versions), unchanged)

    def write_persons(
        self,
        *,
        agency: str,
        source: str,
        batch_id: str,
        mapping_version: str | None,
        received_at: datetime,
        batch: PersonBatch | PersonColumns | StagedPersons,
    ) -> WriteResult:
        """``write`` for a batch of persons: when every record is new to the store and appears
        once, straight from the batch's columns (the same rows, the same order): prepared
        statements on SQLite (or, for a staged batch, ``INSERT ... SELECT`` from its image),
        COPY on PostgreSQL."""
        args: dict[str, Any] = {
            "agency": agency,
            "source": source,
            "batch_id": batch_id,
            "mapping_version": mapping_version,
            "received_at": received_at,
        }
        from nexo.store.staging import PersonColumns, StagedPersons, stage

        dialect = self.session.get_bind().dialect.name
        if isinstance(batch, PersonColumns):
            staged = stage(batch)
            try:
                return self.write_persons(**args, batch=staged)
            finally:
                staged.discard()
        if isinstance(batch, StagedPersons):
            staged = batch
            if staged.size and staged.unique and dialect == "sqlite":
                if self._optimistic(lambda: self._insert_staged(args, staged)):
                    return WriteResult(staged.size, 0)
                return self.write(**args, records=staged.load().records())  # one is known
            batch = staged.load()
        ids = batch.record_ids
        if ids and len(set(ids)) == len(ids):
            if dialect == "sqlite" and self._optimistic(
                lambda: self._insert_new_persons(args, batch)
            ):
                return WriteResult(len(ids), 0)
            if dialect == "postgresql" and not self._known(
                agency, source, {("person", rid) for rid in ids}
            ):
                self._copy_new_persons(args, batch)
                return WriteResult(len(ids), 0)
        return self.write(**args, records=batch.records())

    def _optimistic(self, insert: Callable[[], None]) -> bool:
        """Insert a batch as new persons (``insert``), unless one of them is in the store
        already: then insert nothing and say so. (The unique version key finds that out while
        inserting: version 1 of a record the store has is a duplicate. Looking the records up
        first cost more than the insert that fails on the first known one, when one is known.)
        """
        conn = driver_connection(self.session.connection().connection)
        if not conn.in_transaction:
            conn.execute("BEGIN")  # (else releasing the savepoint would commit)
        conn.execute("SAVEPOINT nexo_new_persons")
        try:
            insert()
        except sqlite3.IntegrityError as e:
            conn.execute("ROLLBACK TO nexo_new_persons")
            conn.execute("RELEASE nexo_new_persons")
            if not str(e).startswith("UNIQUE constraint failed: source_record."):
                raise
            return False
        conn.execute("RELEASE nexo_new_persons")
        return True

    def _copy_new_persons(self, common: dict[str, Any], batch: PersonBatch) -> None:
        """What ``_write_postgres`` does for new records that each appear once, straight from
        the batch's columns."""
        received = common["received_at"].astimezone(UTC)  # as UtcDateTime stores it
        agency, source = common["agency"], common["source"]
        with _pg_cursor(self.session) as cur:
            pks = _pg_ids(cur, "source_record", len(batch))
            constants = (agency, source, "person", 1, True, common["batch_id"], received,
                         common["mapping_version"])  # fmt: skip
            _pg_copy(
                cur,
                "source_record",
                ("id", "agency", "source", "entity_type", "version", "is_current", "batch_id",
                 "received_at", "mapping_version", "source_record_id", "content_hash", "data"),
                (
                    (pk, *constants, rid, digest, text)
                    for pk, rid, digest, text in zip(
                        pks, batch.record_ids, batch.hashes, batch.texts, strict=True
                    )
                ),
            )  # fmt: skip
            person_pks = _pg_ids(cur, "person_record", len(batch))
            _pg_copy(
                cur,
                "person_record",
                ("id", "agency", "source", "record_id", "source_record_pk", *PERSON_COLUMNS),
                (
                    (row[0], agency, source, *row[1:])
                    for row in zip(person_pks, batch.record_ids, pks, *batch.columns, strict=True)
                ),
            )
            _pg_copy(
                cur,
                "person_identifier",
                ("person_pk", *IDENT_KEYS),
                (
                    (pk, *ident)
                    for pk, idents in zip(person_pks, batch.identifiers, strict=True)
                    for ident in idents
                ),
            )

    def _insert_new_persons(self, common: dict[str, Any], batch: PersonBatch) -> None:
        """What ``_write_sqlite`` does for new records that each appear once (version 1,
        current, nothing superseded, no projection to replace)."""
        conn = driver_connection(self.session.connection().connection)
        versions, persons, identifiers = self._new_person_inserters(
            self.session.get_bind().dialect, common
        )
        rows = list(zip(batch.record_ids, batch.hashes, batch.texts, strict=True))
        pks = versions.run(conn, rows)
        check_ids(conn, "source_record", pks, ("content_hash", batch.hashes[0]))
        prows = list(zip(batch.record_ids, pks, *batch.columns, strict=True))
        person_pks = persons.run(conn, prows)
        check_ids(conn, "person_record", person_pks, ("record_id", batch.record_ids[0]))
        idents = [
            (pk, *ident)
            for pk, idents in zip(person_pks, batch.identifiers, strict=True)
            for ident in idents
        ]
        if idents:
            identifiers.run(conn, idents)

    @staticmethod
    def _new_person_inserters(
        dialect: Dialect, common: dict[str, Any]
    ) -> tuple[Inserter, Inserter, Inserter]:
        """The inserts of new persons' versions, projections and identifiers (the batch
        holds the birth date as ISO text: the one conversion the projection needs)."""
        constants = common | {
            "entity_type": EntityType.PERSON.value,
            "version": 1,
            "is_current": True,
            "superseded_at": None,
            "source_updated_on": None,
        }
        versions = Inserter(
            SourceRecordRow, dialect, constants, ["source_record_id", "content_hash", "data"]
        )
        persons = Inserter(
            PersonRecordRow,
            dialect,
            {"agency": common["agency"], "source": common["source"], "source_updated_on": None},
            ["record_id", "source_record_pk", *PERSON_COLUMNS],
        )
        if [i for i, _ in persons.procs] != [2 + _BIRTH] or persons.procs[0][1] is not iso_date:
            raise RuntimeError("person_record: a column needs a conversion the batch lacks")
        identifiers = Inserter(PersonIdentifierRow, dialect, {}, ["person_pk", *IDENT_KEYS])
        return versions, persons, identifiers

    def _insert_staged(self, common: dict[str, Any], staged: StagedPersons) -> None:
        """``_insert_new_persons`` for a staged batch: SQLite copies the rows from the image
        (attached as ``staging.SCHEMA``) without a Python object per value."""
        from nexo.store import staging

        conn = driver_connection(self.session.connection().connection)
        dialect = self.session.get_bind().dialect
        attached = {row[1] for row in conn.execute("PRAGMA database_list")}
        if staging.SCHEMA not in attached:
            conn.execute(f"ATTACH ':memory:' AS {staging.SCHEMA}")
        conn.deserialize(staged.image(), name=staging.SCHEMA)
        person, identifier = f"{staging.SCHEMA}.person", f"{staging.SCHEMA}.identifier"
        versions, persons, identifiers = self._new_person_inserters(dialect, common)
        pks = versions.run_select(conn, ["record_id", "content_hash", "data"], person, "pos")
        if len(pks) != staged.size:
            raise RuntimeError(f"{staged.size} persons staged, {len(pks)} read")
        check_ids(conn, "source_record", pks, ("content_hash", staged.first_hash))
        person_pks = persons.run_select(
            conn, ["record_id", f"{pks.start - 1} + pos", *PERSON_COLUMNS], person, "pos"
        )
        check_ids(conn, "person_record", person_pks, ("source_record_pk", pks.start))
        # each person's first identifier is in its row, any further ones in the identifier
        # table (most batches have none: then no sort is needed)
        renamed = ", ".join(f"{a} AS {b}" for a, b in zip(staging.FIRST, IDENT_KEYS, strict=True))
        first = f"SELECT pos, 0 AS k, {renamed} FROM {person} WHERE id_scheme IS NOT NULL"
        rest = f"SELECT pos, k, {', '.join(IDENT_KEYS)} FROM {identifier}"
        added = identifiers.run_select(
            conn,
            [f"{person_pks.start - 1} + pos", *IDENT_KEYS],
            f"({first} UNION ALL {rest})" if staged.further else f"({first})",
            "pos, k",
        )
        if len(added) != staged.identifiers:
            raise RuntimeError(f"{staged.identifiers} identifiers staged, {len(added)} read")

    def _write_postgres(self, plan: _Plan, common: dict[str, Any]) -> None:
        """The plan through the driver: updates and deletes as statements, every new row with
        COPY (ids taken from the sequences first, in order, as ``RETURNING`` would give them)."""
        received = common["received_at"].astimezone(UTC)  # as UtcDateTime stores it
        agency, source = common["agency"], common["source"]
        with _pg_cursor(self.session) as cur:
            if plan.superseded:
                cur.execute(
                    "UPDATE source_record SET is_current = false, superseded_at = %s "
                    "WHERE id = ANY(%s)",
                    (received, plan.superseded),
                )
            pks = _pg_ids(cur, "source_record", len(plan.versions))
            names = ("source_record_id", "entity_type", "version", "is_current", "content_hash",
                     "source_updated_on")  # fmt: skip
            constants = (agency, source, common["batch_id"], received, common["mapping_version"])
            _pg_copy(
                cur,
                "source_record",
                ("id", "agency", "source", "batch_id", "received_at", "mapping_version", *names,
                 "superseded_at", "data"),
                (
                    (pk, *constants, *(v[n] for n in names),
                     None if v["superseded_at"] is None else received, v["record"].text)
                    for pk, v in zip(pks, plan.versions, strict=True)
                ),
            )  # fmt: skip
            current_pk = {key: pks[i] for key, i in plan.last_index.items()}
            for etype, recs, stale in self._by_type(plan):
                table = projection.TABLES[etype].__tablename__
                if stale:
                    cur.execute(
                        f"DELETE FROM {table} WHERE agency = %s AND source = %s "
                        "AND record_id = ANY(%s)",
                        (agency, source, stale),
                    )
                projected = [r.projected() for r in recs]
                rows = [
                    {"agency": agency, "source": source,
                     **_projection_row(r, cols, current_pk[(etype, r.record_id)])}
                    for r, (cols, _) in zip(recs, projected, strict=True)
                ]  # fmt: skip
                keys = list(rows[0])
                if etype is not EntityType.PERSON:
                    _pg_copy(cur, table, keys, ([row[k] for k in keys] for row in rows))
                    continue
                person_pks = _pg_ids(cur, table, len(rows))
                _pg_copy(
                    cur,
                    table,
                    ["id", *keys],
                    (
                        [pk, *(row[k] for k in keys)]
                        for pk, row in zip(person_pks, rows, strict=True)
                    ),
                )
                _pg_copy(
                    cur,
                    "person_identifier",
                    ("person_pk", *IDENT_KEYS),
                    (
                        (pk, *(ident[k] for k in IDENT_KEYS))
                        for pk, (_, idents) in zip(person_pks, projected, strict=True)
                        for ident in idents
                    ),
                )

    def _write_sqlite(self, plan: _Plan, common: dict[str, Any]) -> None:
        conn = driver_connection(self.session.connection().connection)
        dialect = self.session.get_bind().dialect
        at = SourceRecordRow.__table__.c.received_at.type.bind_processor(dialect)
        received = at(common["received_at"]) if at else common["received_at"]
        for i in range(0, len(plan.superseded), IN_CHUNK):
            ids = plan.superseded[i : i + IN_CHUNK]
            conn.execute(
                "UPDATE source_record SET is_current = 0, superseded_at = ? "
                f"WHERE id IN ({', '.join('?' * len(ids))})",
                [received, *ids],
            )
        names = ["source_record_id", "entity_type", "version", "is_current", "content_hash",
                 "superseded_at", "source_updated_on", "data"]  # fmt: skip
        versions = Inserter(SourceRecordRow, dialect, common, names)
        rows = versions.rows(plan.versions)
        pks = versions.run(conn, rows)
        check_ids(conn, "source_record", pks, ("content_hash", rows[0][4]))
        current_pk = {key: pks[i] for key, i in plan.last_index.items()}
        agency, source = common["agency"], common["source"]
        for etype, recs, stale in self._by_type(plan):
            table = projection.TABLES[etype]
            name = table.__table__.name  # type: ignore[attr-defined]
            for i in range(0, len(stale), IN_CHUNK):
                ids_ = stale[i : i + IN_CHUNK]
                conn.execute(
                    f"DELETE FROM {name} WHERE agency = ? AND source = ? "
                    f"AND record_id IN ({', '.join('?' * len(ids_))})",
                    [agency, source, *ids_],
                )
            projected = [r.projected() for r in recs]
            prows = [
                _projection_row(r, cols, current_pk[(etype, r.record_id)])
                for r, (cols, _) in zip(recs, projected, strict=True)
            ]
            inserter = Inserter(
                table, dialect, {"agency": agency, "source": source}, list(prows[0])
            )
            person_pks = inserter.run(conn, inserter.rows(prows))
            if etype is not EntityType.PERSON:
                continue
            check_ids(conn, name, person_pks, ("record_id", recs[0].record_id))
            idents = _identifier_rows(person_pks, [ids for _, ids in projected])
            if idents:
                ident = Inserter(PersonIdentifierRow, dialect, {}, list(idents[0]))
                ident.run(conn, ident.rows(idents))

    @staticmethod
    def _by_type(plan: _Plan) -> list[tuple[EntityType, list[NewRecord], list[str]]]:
        by_type: dict[EntityType, list[NewRecord]] = defaultdict(list)
        for r in plan.latest.values():
            by_type[r.entity_type].append(r)
        return [
            (
                etype,
                recs,
                [r.record_id for r in recs if (etype, r.record_id) in plan.stale],
            )
            for etype, recs in by_type.items()
        ]

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


def _pg_cursor(session: Session) -> Any:
    """A cursor of the session's psycopg connection (in the session's transaction)."""
    return session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


def _pg_ids(cur: Any, table: str, n: int) -> list[int]:
    """``n`` new ids of ``table``, in order, from its sequence."""
    cur.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", (table, n)
    )
    return [row[0] for row in cur.fetchall()]


def _pg_copy(cur: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _projection_row(r: NewRecord, columns: dict[str, Any], source_record_pk: int) -> dict[str, Any]:
    return {
        "record_id": r.record_id,
        "source_record_pk": source_record_pk,
        "source_updated_on": r.source_updated_on,
        **columns,
    }


def _identifier_rows(
    person_pks: Sequence[int], identifiers: list[tuple[dict[str, Any], ...]]
) -> list[dict[str, Any]]:
    return [
        {"person_pk": pk, **ident}
        for pk, idents in zip(person_pks, identifiers, strict=True)
        for ident in idents
    ]
