"""Person batches staged as SQLite database images, for the SQLite store's bulk path.

Binding values one by one from Python is most of what writing a person costs on SQLite: 16 of
the 18 values of a person's three rows vary, and the ingest process bound them all while the
read-ahead process waited. So for a SQLite store the read-ahead process *stages* each batch
instead of pickling it: it writes the batch into a SQLite database of its own through ADBC
(the values go from Arrow columns to SQLite in C) and sends the file's bytes. The ingest
process opens the image in memory (``sqlite3.Connection.deserialize``) as the schema
``nexo_stage`` of its own connection and copies the rows into the store with ``INSERT ...
SELECT``: SQLite copies them without a Python object per value (``RecordRepository.write_persons``).

The image holds two tables, in input order:

- ``person (pos, record_id, content_hash, data, <PERSON_COLUMNS>)``, ``pos`` from 1;
- ``identifier (pos, scheme, value, verified, check_digit_ok)``, ``pos`` the person's.

``StagedPersons.load`` reads the batch back as a ``PersonBatch`` (for PostgreSQL, and for the
general path when a record is known to the store already). See decision 0059.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import pyarrow as pa

from nexo.store.repository import PERSON_COLUMNS, PersonBatch

#: the schema name under which the ingest connection attaches a staged image
SCHEMA = "nexo_stage"
_TEXT = ("record_id", "content_hash", "data", *PERSON_COLUMNS)
_PERSON = (
    "CREATE TABLE person (pos INTEGER PRIMARY KEY, " + ", ".join(f"{c} TEXT" for c in _TEXT) + ")"
)
_IDENTIFIER = (
    "CREATE TABLE identifier (pos INTEGER NOT NULL, scheme TEXT, value TEXT, "
    "verified INTEGER, check_digit_ok INTEGER)"
)
_IDENT_TYPES = (pa.string(), pa.string(), pa.bool_(), pa.bool_())  # (its columns after pos)


def available() -> bool:
    """Whether this Python's SQLite can open an image (``deserialize``: SQLite 3.36 and up,
    unless built without it)."""
    return hasattr(sqlite3.Connection, "deserialize")


@dataclass(frozen=True, slots=True)
class StagedPersons:
    """A ``PersonBatch`` as a SQLite database image (see the module's doc)."""

    image: bytes
    size: int  # persons
    identifiers: int  # identifier rows
    unique: bool  # whether each record id appears once
    first_hash: str  # the first person's content hash (to check the ids the store gave)

    def __len__(self) -> int:
        return self.size

    def load(self) -> PersonBatch:
        """The batch itself, as it was staged."""
        conn = sqlite3.connect(":memory:")
        try:
            conn.deserialize(self.image)
            rows = conn.execute(
                f"SELECT {', '.join(_TEXT)} FROM person ORDER BY pos"  # noqa: S608 - constants
            ).fetchall()
            idents: list[list[tuple[Any, ...]]] = [[] for _ in rows]
            for pos, scheme, value, verified, ok in conn.execute(
                "SELECT pos, scheme, value, verified, check_digit_ok FROM identifier ORDER BY rowid"
            ):
                idents[pos - 1].append((scheme, value, bool(verified), bool(ok)))
        finally:
            conn.close()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in _TEXT]
        return PersonBatch(
            list(columns[0]),  # record ids
            list(columns[2]),  # canonical JSON
            list(columns[1]),  # content hashes
            [list(c) for c in columns[3:]],
            [tuple(i) for i in idents],
        )


def stage(batch: PersonBatch, folder: Path | None = None) -> StagedPersons:
    """Write ``batch`` into a SQLite database image (in a file of ``folder`` that is gone
    when this returns)."""
    import adbc_driver_sqlite.dbapi as adbc  # (the ingest process never needs it)

    persons = pa.table(
        [
            pa.array(values, pa.string())
            for values in (batch.record_ids, batch.hashes, batch.texts, *batch.columns)
        ],
        names=list(_TEXT),
    )
    idents = batch.identifiers
    positions = [k for k, found in enumerate(idents, 1) for _ in found]
    flat = list(chain.from_iterable(idents))
    identifiers = pa.table(
        [
            pa.array(positions, pa.int64()),
            *(pa.array([i[j] for i in flat], kind) for j, kind in enumerate(_IDENT_TYPES)),
        ],
        names=["pos", "scheme", "value", "verified", "check_digit_ok"],
    )
    handle, name = tempfile.mkstemp(prefix="nexo-stage-", suffix=".db", dir=folder)
    os.close(handle)
    try:
        with adbc.connect(name, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute("PRAGMA journal_mode=OFF")
            cur.fetchall()
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute(_PERSON)
            cur.execute(_IDENTIFIER)
            if len(batch):
                cur.adbc_ingest("person", persons, mode="append")
            if flat:
                cur.adbc_ingest("identifier", identifiers, mode="append")
        image = Path(name).read_bytes()
    finally:
        os.unlink(name)
    return StagedPersons(
        image,
        len(batch),
        len(flat),
        len(set(batch.record_ids)) == len(batch),
        batch.hashes[0] if len(batch) else "",
    )
