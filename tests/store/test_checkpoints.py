"""Background checkpoints during a bulk write into SQLite (``engine.background_checkpoints``)."""

from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from pathlib import Path

from sqlalchemy import text

from nexo.store import engine as store_engine
from nexo.store.engine import background_checkpoints, make_engine


def _write(path: Path, checkpoints: bool) -> int:
    """Rows written by a connection that never checkpoints itself; the database file's size
    once they are committed (only a checkpoint copies them there from the log)."""
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v TEXT)"))
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
        conn.commit()
        before = path.stat().st_size
        with background_checkpoints(engine) if checkpoints else nullcontext():
            for _ in range(5):
                conn.execute(text("INSERT INTO t VALUES (:v)"), [{"v": "x" * 500}] * 200)
                conn.commit()
            time.sleep(store_engine.CHECKPOINT_EVERY * 3)
        grown = path.stat().st_size - before
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 1_000
    engine.dispose()
    return grown


def test_the_log_is_copied_into_the_database_by_a_thread_of_its_own(tmp_path: Path) -> None:
    assert _write(tmp_path / "without.db", checkpoints=False) == 0  # (all in the log)
    assert _write(tmp_path / "with.db", checkpoints=True) > 500 * 1_000


def test_other_stores_are_left_alone() -> None:
    for url in ("sqlite:///:memory:", "postgresql://nexo@127.0.0.1:5432/test"):
        with background_checkpoints(make_engine(url)):
            assert "nexo-checkpoints" not in {t.name for t in threading.enumerate()}
