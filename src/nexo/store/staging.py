"""Person batches staged as SQLite database images, for the SQLite store's bulk path.

Binding values one by one from Python is most of what writing a person costs on SQLite: 16 of
the 18 values of a person's three rows vary, and the ingest process bound them all while the
read-ahead process waited. So for a SQLite store the read-ahead process *stages* each batch
instead of pickling it: it writes the batch into a SQLite database of its own through ADBC
(the values go from Arrow columns to SQLite in C) and sends the file's name (its bytes went
through the pipe at first: four copies of some 5 MB a chunk). The ingest process reads the
file, removes it, and opens the image in memory (``sqlite3.Connection.deserialize``) as the schema
``nexo_stage`` of its own connection and copies the rows into the store with ``INSERT ...
SELECT``: SQLite copies them without a Python object per value (``RecordRepository.write_persons``).
A batch mapped column-wise comes as Arrow tables straight from Polars (``PersonColumns``).

The image holds two tables, in input order:

- ``person (pos, record_id, content_hash, data, <PERSON_COLUMNS>, <FIRST>)``, ``pos`` from 1,
  ``FIRST`` the person's first identifier (most persons have one: one table to fill, not two);
- ``identifier (pos, k, scheme, value, verified, check_digit_ok)``, the further identifiers,
  ``pos`` the person's, ``k`` the identifier's place among the person's (from 1).

``StagedPersons.load`` reads the batch back as a ``PersonBatch`` (for PostgreSQL, and for the
general path when a record is known to the store already). See decisions 0059 and 0060.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from itertools import accumulate, chain, compress
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from nexo.store.repository import IDENT_KEYS, PERSON_COLUMNS, NewRecord, PersonBatch

#: the schema name under which the ingest connection attaches a staged image
SCHEMA = "nexo_stage"
PAGE_SIZE = 16384
_TEXT = ("record_id", "content_hash", "data", *PERSON_COLUMNS)
#: the person's first identifier, in the person's row (most persons have one: a table less)
FIRST = ("id_scheme", "id_value", "id_verified", "id_ok")
# an identifier's values: (scheme, value, verified, check_digit_ok), as Arrow and SQL types
_IDENT_TYPES = (pa.large_string(), pa.large_string(), pa.bool_(), pa.bool_())
_IDENT_SQL = ("TEXT", "TEXT", "INTEGER", "INTEGER")


def _typed(names: tuple[str, ...], types: tuple[Any, ...]) -> list[tuple[str, Any]]:
    return list(zip(names, types, strict=True))


_PERSON = (
    "CREATE TABLE person (pos INTEGER PRIMARY KEY, "
    + ", ".join(f"{c} {t}" for c, t in [*((c, "TEXT") for c in _TEXT), *_typed(FIRST, _IDENT_SQL)])
    + ")"
)
# the further identifiers (k: an identifier's place among its person's, from 1; the key keeps
# them in order, however added)
_IDENTIFIER = (
    "CREATE TABLE identifier (pos INTEGER NOT NULL, k INTEGER NOT NULL, "
    + ", ".join(f"{c} {t}" for c, t in _typed(IDENT_KEYS, _IDENT_SQL))
    + ", PRIMARY KEY (pos, k)) WITHOUT ROWID"
)
PERSONS = pa.schema(
    [("pos", pa.int64()), *((c, pa.large_string()) for c in _TEXT), *_typed(FIRST, _IDENT_TYPES)]
)
IDENTIFIERS = pa.schema([("pos", pa.int64()), ("k", pa.int64()), *_typed(IDENT_KEYS, _IDENT_TYPES)])


def available() -> bool:
    """Whether this Python's SQLite can open an image (``deserialize``: SQLite 3.36 and up,
    unless built without it)."""
    return hasattr(sqlite3.Connection, "deserialize")


@dataclass(frozen=True, slots=True)
class StagedPersons:
    """A ``PersonBatch`` staged in a SQLite database file (see the module's doc). Whoever
    holds it last removes the file (``discard``)."""

    path: str
    size: int  # persons
    identifiers: int  # identifier rows, all told
    further: int  # those in the identifier table (not a person's first)
    unique: bool  # whether each record id appears once
    first_hash: str  # the first person's content hash (to check the ids the store gave)

    def __len__(self) -> int:
        return self.size

    def image(self) -> bytes:
        """The database's bytes (to open in memory: ``deserialize``)."""
        return Path(self.path).read_bytes()

    def discard(self) -> None:
        Path(self.path).unlink(missing_ok=True)

    def load(self) -> PersonBatch:
        """The batch itself, as it was staged."""
        conn = sqlite3.connect(":memory:")
        try:
            conn.deserialize(self.image())
            rows = conn.execute(
                f"SELECT {', '.join([*_TEXT, *FIRST])} FROM person ORDER BY pos"  # noqa: S608
            ).fetchall()
            idents: list[list[tuple[Any, ...]]] = [
                [] if row[-4] is None else [(row[-4], row[-3], bool(row[-2]), bool(row[-1]))]
                for row in rows
            ]
            for pos, scheme, value, verified, ok in conn.execute(
                f"SELECT pos, {', '.join(IDENT_KEYS)} FROM identifier ORDER BY pos, k"  # noqa: S608
            ):
                idents[pos - 1].append((scheme, value, bool(verified), bool(ok)))
        finally:
            conn.close()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in (*_TEXT, *FIRST)]
        return PersonBatch(
            list(columns[0]),  # record ids
            list(columns[2]),  # canonical JSON
            list(columns[1]),  # content hashes
            [list(c) for c in columns[3 : len(_TEXT)]],
            [tuple(i) for i in idents],
        )


@dataclass(frozen=True, slots=True)
class PersonColumns:
    """A ``PersonBatch`` as Arrow tables, as staged: ``persons`` (``PERSONS``, each with its
    first identifier) and ``identifiers`` (``IDENTIFIERS``, the further ones), ``pos`` a
    person's place in input order, from 1. The vectorised mapping makes these straight from
    its frame (no Python object per value)."""

    persons: pa.Table
    identifiers: pa.Table

    def __len__(self) -> int:
        return int(self.persons.num_rows)

    @classmethod
    def of(cls, batch: PersonBatch, positions: list[int] | None = None) -> PersonColumns:
        """``batch``'s columns, its persons at ``positions`` (else 1, 2...)."""
        size = len(batch)
        pos = list(range(1, size + 1)) if positions is None else positions
        idents = batch.identifiers
        first = [found[0] if found else (None,) * 4 for found in idents]
        persons = pa.table(
            [
                pa.array(pos, pa.int64()),
                *(
                    pa.array(values, pa.large_string())
                    for values in (batch.record_ids, batch.hashes, batch.texts, *batch.columns)
                ),
                *(pa.array([i[j] for i in first], kind) for j, kind in enumerate(_IDENT_TYPES)),
            ],
            schema=PERSONS,
        )
        further = list(chain.from_iterable(found[1:] for found in idents))
        identifiers = pa.table(
            [
                pa.array([p for p, found in zip(pos, idents, strict=True) for _ in found[1:]]),
                pa.array([k for found in idents for k in range(1, len(found))], pa.int64()),
                *(pa.array([i[j] for i in further], kind) for j, kind in enumerate(_IDENT_TYPES)),
            ],
            schema=IDENTIFIERS,
        )
        return cls(persons, identifiers)

    def merged(self, clean: list[bool], others: list[tuple[int, NewRecord]]) -> PersonColumns:
        """These persons, of the rows where ``clean`` is true, with the records mapped
        row-wise (``others``: (row, record), a record per row), each at its place in input
        order."""
        if len({k for k, _ in others}) != len(others):
            raise ValueError("a person batch's rows hold a record each")
        good = list(clean)
        for k, _ in others:
            good[k] = True
        place = list(accumulate(map(int, good)))  # each good row's place, from 1
        moved = pa.array(list(compress(place, clean)), pa.int64())
        rest = PersonBatch()
        for _, record in others:
            rest.append(record)
        extra = PersonColumns.of(rest, [place[k] for k, _ in others])
        persons = self.persons.set_column(0, "pos", moved)
        where = pc.take(moved, pc.subtract(self.identifiers["pos"], 1))
        identifiers = self.identifiers.set_column(0, "pos", where)
        return PersonColumns(
            pa.concat_tables([persons, extra.persons]),
            pa.concat_tables([identifiers, extra.identifiers]),
        )


def stage(batch: PersonBatch | PersonColumns, folder: Path | None = None) -> StagedPersons:
    """Write ``batch`` into a SQLite database, a new file in ``folder`` (by default the
    system's temporary folder) that the caller removes (``StagedPersons.discard``)."""
    import adbc_driver_sqlite.dbapi as adbc  # (the ingest process never needs it)

    columns = batch if isinstance(batch, PersonColumns) else PersonColumns.of(batch)
    persons, identifiers = columns.persons, columns.identifiers
    handle, name = tempfile.mkstemp(prefix="nexo-stage-", suffix=".db", dir=folder)
    os.close(handle)
    try:
        with adbc.connect(name, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(f"PRAGMA page_size={PAGE_SIZE}")  # (fewer pages to fill: a sixth less)
            cur.execute("PRAGMA journal_mode=OFF")
            cur.fetchall()
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute(_PERSON)
            cur.execute(_IDENTIFIER)
            if persons.num_rows:
                cur.adbc_ingest("person", persons, mode="append")
            if identifiers.num_rows:
                cur.adbc_ingest("identifier", identifiers, mode="append")
    except BaseException:
        os.unlink(name)
        raise
    size = persons.num_rows
    first = pc.index(persons["pos"], 1).as_py() if size else -1
    return StagedPersons(
        name,
        size,
        size - persons["id_scheme"].null_count + identifiers.num_rows,
        identifiers.num_rows,
        pc.count_distinct(persons["record_id"]).as_py() == size,
        persons["content_hash"][first].as_py() if size else "",
    )
