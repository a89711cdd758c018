"""The SQLite write path of ``RecordRepository.write``, through the driver's prepared statements.

It writes exactly what the SQLAlchemy path writes (the same rows, with values converted by the
columns' own SQLAlchemy bind processors) inside the caller's transaction, but with one
``executemany`` per table and chunk: SQLAlchemy's per-row overhead is most of the cost of a bulk
load into SQLite. The canonical JSON is stored as produced by the model (the hashed text).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Table
from sqlalchemy.dialects.sqlite import DATE
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from nexo.store.base import Base

Processor = Callable[[Any], Any]

#: rows per INSERT statement: SQLite's cost per statement executed is most of a narrow row's
#: cost, so rows are inserted in multi-row ``VALUES`` groups (at most 999 parameters, the
#: smallest limit SQLite builds have had)
GROUP = 24


def literal(value: Any) -> str:
    """An SQL literal for a constant of the statement (a string, a number or NULL)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


class Inserter:
    """A prepared INSERT into one table: constant columns inlined, the others bound per row."""

    def __init__(
        self, table: type[Base], dialect: Dialect, constants: dict[str, Any], names: Sequence[str]
    ) -> None:
        t: Table = table.__table__  # type: ignore[assignment]
        self.names = list(names)
        cols = [*constants, *self.names]
        self.literals = [literal(self._process(t, dialect, c, v)) for c, v in constants.items()]
        self.head = f"INSERT INTO {t.name} ({', '.join(cols)})"
        self.row = f"({', '.join([*self.literals, *['?'] * len(self.names)])})"
        self.procs: list[tuple[int, Processor]] = [
            (i, p)
            for i, name in enumerate(self.names)
            if (p := _processor(t.c[name].type, dialect)) is not None
        ]
        self.get = itemgetter(*self.names)

    @staticmethod
    def _process(t: Table, dialect: Dialect, name: str, value: Any) -> Any:
        proc = t.c[name].type._cached_bind_processor(dialect)
        return proc(value) if proc is not None else value

    def rows(self, dicts: Iterable[dict[str, Any]]) -> list[list[Any]]:
        """The values of each dict in column order, converted for the driver."""
        get, procs = self.get, self.procs
        out = []
        for d in dicts:
            row = list(get(d)) if len(self.names) > 1 else [get(d)]
            for i, p in procs:
                if row[i] is not None:
                    row[i] = p(row[i])
            out.append(row)
        return out

    def run(self, conn: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> range:
        """Insert, in order, and return the new rows' ids (consecutive: we hold the write
        lock)."""
        return insert_many(conn, self.head, self.row, rows)

    def run_select(
        self, conn: sqlite3.Connection, expressions: Sequence[str], source: str, order: str
    ) -> range:
        """Insert the rows of ``SELECT expressions FROM source ORDER BY order`` (an expression
        per column of ``names``, values as the driver would be given them), in that order, and
        return the new rows' ids (consecutive: we hold the write lock)."""
        if len(expressions) != len(self.names):
            raise ValueError(f"{len(self.names)} expressions needed, {len(expressions)} given")
        select = ", ".join([*self.literals, *expressions])
        inserted = conn.execute(
            f"{self.head} SELECT {select} FROM {source} ORDER BY {order}"
        ).rowcount
        (last,) = conn.execute("SELECT last_insert_rowid()").fetchone()
        return range(last - inserted + 1, last + 1)


def insert_new(
    conn: sqlite3.Connection, table: type[Base], dialect: Dialect, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert ``rows`` (dicts with the same keys), skipping any that a unique key finds in the
    table already (``ON CONFLICT DO NOTHING``), each value converted by its column's own
    SQLAlchemy bind processor: what SQLAlchemy's insert does, without its cost per row."""
    if not rows:
        return
    t: Table = table.__table__  # type: ignore[assignment]
    names = list(rows[0])
    procs = [
        (i, p) for i, name in enumerate(names)
        if (p := t.c[name].type._cached_bind_processor(dialect)) is not None
    ]  # fmt: skip
    get = itemgetter(*names)
    values = []
    for d in rows:
        if len(d) != len(names):
            raise ValueError(f"{t.name}: rows with different columns")
        row = list(get(d))
        for i, p in procs:
            if row[i] is not None:
                row[i] = p(row[i])
        values.append(row)
    marks = ", ".join(["?"] * len(names))
    conn.executemany(
        f"INSERT INTO {t.name} ({', '.join(names)}) VALUES ({marks}) ON CONFLICT DO NOTHING",
        values,
    )


def insert_many(
    conn: sqlite3.Connection, head: str, row: str, rows: Sequence[Sequence[Any]]
) -> range:
    """``head VALUES row`` for each of ``rows`` (``row`` has a ``?`` per value), in order, in
    multi-row groups; the new rows' ids (consecutive: the caller holds the write lock)."""
    width = len(rows[0]) if rows else 1
    k = max(1, min(GROUP, 999 // max(1, width)))
    whole = len(rows) - len(rows) % k
    inserted = 0
    if whole:
        flat = chain.from_iterable
        groups = [list(flat(rows[i : i + k])) for i in range(0, whole, k)]
        inserted += conn.executemany(f"{head} VALUES {', '.join([row] * k)}", groups).rowcount
    if whole < len(rows):
        inserted += conn.executemany(f"{head} VALUES {row}", rows[whole:]).rowcount
    if inserted != len(rows):
        raise RuntimeError(f"{len(rows)} rows given, {inserted} inserted")
    (last,) = conn.execute("SELECT last_insert_rowid()").fetchone()
    return range(last - len(rows) + 1, last + 1)


iso_date: Processor = date.isoformat


def _processor(kind: TypeEngine[Any], dialect: Dialect) -> Processor | None:
    """The column's bind processor, or a faster one that gives the same result."""
    if isinstance(kind, JSON):
        return None  # JSON columns are given their (canonical) text
    proc: Processor | None = kind._cached_bind_processor(dialect)
    if proc is None:
        return None
    if isinstance(kind, Boolean) and proc(True) == 1 and proc(False) == 0:
        return None  # the driver stores True and False as 1 and 0 itself
    if type(kind) in (Date, DATE) and proc(date(987, 6, 5)) == iso_date(date(987, 6, 5)):
        return iso_date
    return proc


def driver_connection(dbapi: Any) -> sqlite3.Connection:
    conn = getattr(dbapi, "driver_connection", dbapi)
    if not isinstance(conn, sqlite3.Connection):
        raise TypeError(f"not an sqlite3 connection: {type(conn).__name__}")
    return conn


def check_ids(conn: sqlite3.Connection, table: str, ids: range, key: tuple[str, Any]) -> None:
    """Make sure the id arithmetic holds (it does unless something else wrote concurrently)."""
    column, value = key
    found = conn.execute(f"SELECT {column} FROM {table} WHERE id = ?", (ids.start,)).fetchone()
    if found is None or found[0] != value:
        raise RuntimeError(f"{table}: inserted rows did not get consecutive ids")
