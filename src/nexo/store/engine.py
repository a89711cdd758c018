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
CHECKPOINT_EVERY = 0.25


@contextmanager
def background_checkpoints(engine: Engine) -> Iterator[None]:
    """During a bulk write into a SQLite file, copy the write-ahead log into the database from
    a thread of its own (``wal_checkpoint(PASSIVE)``, which never blocks the writer) instead
    of in the writer's commits. SQLite runs a checkpoint inside the commit that fills the log
    past 1,000 pages, and a checkpoint waits for the disk twice (``synchronous=NORMAL``):
    the writer then waited about a microsecond a row. Elsewhere, nothing changes."""
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

    thread = threading.Thread(target=run, name="nexo-checkpoints", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
