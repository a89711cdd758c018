"""Bulk loads: on SQLite, indexes that serve only readers are built after the load; on
PostgreSQL, the planner's statistics keep up with it (``Statistics``, decision 0057).

Some indexes of the projection tables exist for readers (find a person by identifier, the
facts of a person) and are never read while ingesting. Their keys arrive in random order, so
keeping them up to date row by row is the most expensive part of a big load: at 1,000,000
persons, the identifier index alone took as long as the rest of the write. Building such an
index once at the end (a sort) costs a fraction of that.

An ingest that is big for its store (``should_defer``) drops these indexes of the tables it
writes and builds them again when it ends, whether it succeeds or fails. If the process dies
in between, the indexes are missing until the rerun ends or ``restore`` runs (``nexo db
upgrade``, and the start of ``nexo serve`` and ``nexo demo``); queries stay correct meanwhile,
only slower. Other commands leave them alone, so that they do not build an index in the middle
of a running load. Indexes that ingest itself reads (the unique keys, the foreign keys that
cascade, the batch) are never dropped. See decision 0056.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, Index, Table, text

from nexo.store.tables import (
    BenefitEnrolmentRow,
    EmploymentEpisodeRow,
    HouseholdMembershipRow,
    JobSeekerRegistrationRow,
    PersonIdentifierRow,
    ProgrammeParticipationRow,
)

#: (table, columns of a reader-only index); the index is looked up in the table's metadata
_READER_ONLY = (
    (PersonIdentifierRow, ("scheme", "value")),
    (JobSeekerRegistrationRow, ("person_record_id",)),
    (EmploymentEpisodeRow, ("person_record_id",)),
    (ProgrammeParticipationRow, ("person_record_id",)),
    (BenefitEnrolmentRow, ("person_record_id",)),
    (HouseholdMembershipRow, ("household_id",)),
    (HouseholdMembershipRow, ("person_record_id",)),
)
#: a written table's reader-only indexes live in another table (identifiers of persons)
_ALSO_WRITES = {"person_record": "person_identifier"}
SORT_THREADS = 4  # at most, for building an index on SQLite
MIN_ROWS = 10_000  # smaller inputs keep every index: the rebuild would cost more than it saves


def _index(table: Table, columns: tuple[str, ...]) -> Index:
    for index in table.indexes:
        if tuple(c.name for c in index.columns) == columns and not index.unique:
            return index
    raise LookupError(f"{table.name} has no index on {', '.join(columns)}")


def written_with(tables: Iterable[str]) -> set[str]:
    """The projection tables ``tables`` and those written with them (identifiers of persons)."""
    names = set(tables)
    return names | {_ALSO_WRITES[t] for t in names if t in _ALSO_WRITES}


def reader_only_indexes(tables: Iterable[str] | None = None) -> list[Index]:
    """The reader-only indexes of ``tables`` (projection tables written), or all of them."""
    names = None if tables is None else written_with(tables)
    found = []
    for row, columns in _READER_ONLY:
        table: Table = row.__table__  # type: ignore[assignment]
        if names is None or table.name in names:
            found.append(_index(table, columns))
    return found


def stored_rows(conn: Connection, indexes: Iterable[Index]) -> int:
    """About how many rows the indexed tables hold (their largest id: no table scan)."""
    most = 0
    for table in {i.table.name for i in indexes if i.table is not None}:
        query = text(f"SELECT coalesce(max(id), 0) FROM {table}")
        most = max(most, conn.execute(query).scalar_one())
    return int(most)


def should_defer(expected_rows: int | None, stored: int) -> bool:
    """Whether a load of ``expected_rows`` is big for a store holding ``stored`` rows: at least
    ``MIN_ROWS`` and at least as many as there are (so the rebuild costs at most about twice
    what the load adds to the index)."""
    return expected_rows is not None and expected_rows >= max(MIN_ROWS, stored)


ANALYZE_MIN_ROWS = 5_000


class Statistics:
    """Planner statistics that keep up with a load on PostgreSQL.

    PostgreSQL plans a query from statistics that autovacuum refreshes only now and then. A
    table that a load grows from empty keeps the statistics of an empty table meanwhile. Then
    ingest's lookup of known versions is planned as a scan of the agency's whole key range
    instead of one probe per record id: each chunk takes longer than the one before. Measured:
    714 rows/s over 100,000 rows. So the tables a load writes are analysed whenever it has
    written as many rows as they held when last analysed (at least ``ANALYZE_MIN_ROWS``): a
    few times per load, each a sample of at most 30,000 rows.
    """

    def __init__(self, tables: Iterable[str]) -> None:
        self.tables = list(dict.fromkeys(tables))  # the first one counts the rows
        self.basis: int | None = None  # rows at the last analysis (or as the catalogue says)
        self.since = 0

    def written(self, conn: Connection, rows: int) -> bool:
        """Count ``rows`` more written; analyse when due. Whether it analysed."""
        if conn.dialect.name != "postgresql" or not rows or not self.tables:
            return False
        if self.basis is None:
            query = "SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"
            tuples = conn.execute(text(query), {"t": self.tables[0]}).scalar_one()
            self.basis = max(0, int(tuples))  # -1: never analysed
        self.since += rows
        if self.since < max(ANALYZE_MIN_ROWS, self.basis):
            return False
        conn.execute(text(f"ANALYZE {', '.join(self.tables)}"))
        self.basis += self.since
        self.since = 0
        return True


def drop(conn: Connection, indexes: Iterable[Index]) -> None:
    for index in indexes:
        conn.execute(text(f"DROP INDEX IF EXISTS {index.name}"))


def restore(bind: Engine | Connection, indexes: Iterable[Index] | None = None) -> list[str]:
    """Build any of the reader-only indexes that is missing; the names of those built."""
    built = []
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            return restore(conn, indexes)
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:  # (SQLite sorts for an index with helper threads: 0.9 s -> 0.7 s a million rows)
        bind.exec_driver_sql(f"PRAGMA threads = {min(os.cpu_count() or 1, SORT_THREADS)}")
    try:
        for index in reader_only_indexes() if indexes is None else indexes:
            if not _exists(bind, index):
                index.create(bind)
                built.append(str(index.name))
    finally:
        if sqlite:
            bind.exec_driver_sql("PRAGMA threads = 0")
    return built


def _exists(conn: Connection, index: Index) -> bool:
    if conn.dialect.name == "sqlite":
        found = conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :name"),
            {"name": index.name},
        ).first()
        return found is not None
    from sqlalchemy import inspect

    table = index.table
    assert table is not None
    return any(i["name"] == index.name for i in inspect(conn).get_indexes(table.name))
