"""A query against an agency's database, streamed with a server-side cursor.

The input is a database URL (``postgresql://...``, ``mysql+pymysql://...``, ``sqlite:///...``;
``env:NAME`` reads it from an environment variable, keeping passwords off command lines). Rows
are fetched ``batch_rows`` at a time; give the query an ORDER BY so that a resumed ingest skips
the same rows it committed before.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from nexo.adapters.readers.base import RawRow, ReadInfo, as_text, json_raw, typed_row
from nexo.adapters.spec import SqlFormat
from nexo.config import normalise_database_url
from nexo.errors import TerminalError, TransientError, UsageError


def database_url(source: str) -> str:
    """The URL an input names (``env:NAME`` reads the environment)."""
    if source.startswith("env:"):
        value = os.environ.get(source[4:])
        if not value:
            raise UsageError(f"environment variable {source[4:]} is not set", hint="export it")
        source = value
    return normalise_database_url(source)


def safe_name(source: str) -> str:
    """The input as it may be shown and stored: the URL without its password."""
    try:
        return make_url(database_url(source)).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def read_sql(
    source: Path | str, fmt: SqlFormat, fields: Sequence[str], info: ReadInfo
) -> Iterator[RawRow]:
    url = database_url(str(source))
    try:
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError) as e:
        raise UsageError(
            f"{safe_name(str(source))} is not a database URL Nexo can open: {e}",
            hint="e.g. postgresql://user@host/db, mysql+pymysql://user@host/db, sqlite:///file.db",
        ) from e
    number = 0
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=fmt.batch_rows).execute(
                text(fmt.query)
            )
            names = list(result.keys())
            info.columns = names
            for row in result:
                number += 1
                values = {k: as_text(v) for k, v in zip(names, row, strict=True)}
                yield typed_row(number, json_raw(values), values)
    except DBAPIError as e:
        kind = TransientError if e.connection_invalidated or _transient(e) else TerminalError
        raise kind(
            f"agency database {safe_name(str(source))}: {type(e.orig).__name__}: {e.orig}",
            hint="a retry may help" if kind is TransientError else "check the query and the URL",
        ) from e
    except SQLAlchemyError as e:
        raise TerminalError(f"agency database {safe_name(str(source))}: {e}") from e
    finally:
        engine.dispose()


_TRANSIENT = ("connect", "connection", "timeout", "timed out", "server closed", "lost",
              "too many", "locked", "unavailable", "shutdown", "reset by peer")  # fmt: skip


def _transient(e: DBAPIError) -> bool:
    """Whether a retry can help: the database could not be reached or was busy."""
    message = str(e.orig).lower()
    return type(e.orig).__name__ in {"OperationalError", "InterfaceError"} and any(
        word in message for word in _TRANSIENT
    )
