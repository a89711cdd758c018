"""SQLite WAL checkpoints in the background while the API serves.

SQLite copies its write-ahead log back into the database file every 1,000 pages, inside the
commit that crosses the mark, and that copy ends with an fsync. On a large store the fsync can
take hundreds of milliseconds, and with store work on the event loop it would stall every
request. While the API runs, its connections leave checkpoints to a thread that runs a
PASSIVE checkpoint (one that never blocks readers or writers) twice a second.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, event, text

from nexo.logging import get_logger

log = get_logger("nexo.api")
INTERVAL_SECONDS = 0.5


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


class WalCheckpointer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        event.listen(self.engine, "connect", _no_autocheckpoint)
        self.engine.dispose()  # connections opened before (migrations) would keep checkpointing
        self._thread = threading.Thread(target=self._run, name="nexo-wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        event.remove(self.engine, "connect", _no_autocheckpoint)
        self._checkpoint("TRUNCATE")

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL_SECONDS):
            self._checkpoint("PASSIVE")

    def _checkpoint(self, mode: str) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(text(f"PRAGMA wal_checkpoint({mode})"))
        except Exception as e:  # noqa: BLE001 - a failed checkpoint is retried next time
            log.warning("WAL checkpoint failed", extra={"fields": {"error": type(e).__name__}})
