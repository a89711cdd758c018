"""The SQLite driver path for quarantine rows and findings writes what SQLAlchemy's insert
writes (``sqlite_writer.insert_new``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from nexo.adapters.tables import IngestFindingRow, QuarantineRow
from nexo.store.base import Base
from nexo.store.engine import make_engine, session_factory, transaction
from nexo.store.migrate import upgrade
from nexo.store.sqlite_writer import driver_connection, insert_new

T0 = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def _quarantine(n: int) -> dict[str, Any]:
    return {
        "batch_id": "b1", "agency": "a", "source": "s", "input_name": "in.csv",
        "input_sha256": "f" * 64, "row_number": n, "record_id": None if n % 2 else f"R{n}",
        "raw": f"R{n},Ana,\u00f1,\"x\"\n",
        "reasons": [{"code": "invalid_date", "field": "birth_date", "message": "día 30"}],
        "reason_code": "invalid_date", "status": "open", "created_at": T0,
        "resolved_at": None, "raw_original": None, "edited_at": None,
    }  # fmt: skip


def _finding(n: int) -> dict[str, Any]:
    return {
        "batch_id": "b1", "agency": "a", "source": "s", "input_sha256": "f" * 64,
        "row_number": n, "entity_type": "person", "record_id": f"R{n}",
        "field": "identifiers[0].value", "code": "invalid_check_digit",
        "message": "check digit ñ", "created_at": T0,
    }  # fmt: skip


def _store(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def _dump(engine: Engine, table: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]


@pytest.mark.parametrize(
    ("table", "row"), [(QuarantineRow, _quarantine), (IngestFindingRow, _finding)]
)
def test_rows_are_stored_as_sqlalchemy_stores_them_and_once(
    tmp_path: Path, table: type[Base], row: Any
) -> None:
    ours, theirs = _store(tmp_path / "ours.db"), _store(tmp_path / "theirs.db")
    first, again = [row(n) for n in range(1, 6)], [row(n) for n in range(4, 9)]
    for rows in (first, again):  # (the second holds two rows stored already: skipped)
        with transaction(session_factory(ours)) as s:
            bind = s.get_bind().dialect
            insert_new(driver_connection(s.connection().connection), table, bind, rows)
        with transaction(session_factory(theirs)) as s:
            s.execute(sqlite_insert(table).on_conflict_do_nothing(), rows)
    name = table.__tablename__
    assert _dump(ours, name) == _dump(theirs, name)
    assert len(_dump(ours, name)) == 8
