"""Engines and transactions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from nexo.config import normalise_database_url
from nexo.errors import ConfigurationError

#: the page size of a new SQLite store (an existing one keeps its own): 16 KiB pages write a
#: bulk load's rows 15-20 % faster than the default 4 KiB (decision 0058)
SQLITE_PAGE_SIZE = 16384


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # (before WAL: fixed from then on)
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite, create the file's folder and turn on WAL and foreign keys."""
    url = normalise_database_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise ConfigurationError(
            f"NEXO_DATABASE_URL is not a database URL: {url!r}",
            hint="use sqlite:///path/nexo.db or postgresql://user@host:5432/db",
        ) from e
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    raise ConfigurationError(
        f"unsupported database {parsed.get_backend_name()!r}",
        hint="Nexo runs on SQLite (embedded) or PostgreSQL",
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The caller's unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


#: how often a background checkpoint runs during a bulk write (seconds)
CHECKPOINT_EVERY = 0.5
#: the log's size, in pages, at which the writer itself checkpoints during a bulk write
#: (SQLite's default is 1,000: 16 MB at 16 KiB pages; this is 128 MB)
BULK_AUTOCHECKPOINT = 8192
_AUTOCHECKPOINT = 1000  # SQLite's default


@contextmanager
def background_checkpoints(engine: Engine) -> Iterator[None]:
    """During a bulk write into a SQLite file, copy the write-ahead log into the database
    mostly from a thread of its own (``wal_checkpoint(PASSIVE)``, which never blocks the
    writer), and let the writer's own commits checkpoint only at a larger log.

    SQLite checkpoints inside the commit that fills the log past 1,000 pages, and a
    checkpoint waits for the disk twice (``synchronous=NORMAL``): the writer waited for it
    about a microsecond a row, as long as its commits took. With the thread copying the log
    all along, the writer's checkpoint at 8,192 pages finds it copied and only restarts the
    log (which only the writer can do), so the log stays under about 130 MB. Durability is
    unchanged. Elsewhere (PostgreSQL, a database in memory), nothing changes."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    stop = threading.Event()

    def run() -> None:
        conn = sqlite3.connect(database, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            while not stop.wait(CHECKPOINT_EVERY):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    def bulk(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={BULK_AUTOCHECKPOINT}")

    def usual(dbapi_connection: Any, *_: Any) -> None:
        if dbapi_connection is not None:
            dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT}")

    event.listen(engine, "checkout", bulk)
    event.listen(engine, "checkin", usual)
    thread = threading.Thread(target=run, name="nexo-checkpoints", daemon=True)
    thread.start()
    try:
        yield
    finally:
        event.remove(engine, "checkout", bulk)
        event.remove(engine, "checkin", usual)
        stop.set()
        thread.join()
