"""The DCI background worker: processes accepted asynchronous messages and delivers callbacks.

One thread per process, woken when a message is accepted and otherwise every ``poll`` seconds.
All its state is in the store (transactions, deliveries with leases), so several processes may
run one each, and a restart resumes where the last run stopped.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from nexo.dci.delivery import DeliveryReport, HttpTransport, Transport, deliver_due
from nexo.dci.service import DciRuntime, process_pending

log = logging.getLogger(__name__)


@dataclass
class Pass:
    processed: int
    deliveries: DeliveryReport


class DciWorker:
    def __init__(
        self, runtime: DciRuntime, *, transport: Transport | None = None, poll: float = 1.0
    ):
        self.runtime = runtime
        self.transport = transport or HttpTransport()
        self.poll = poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> Pass:
        """Process what is pending and try what is due, once."""
        processed = process_pending(self.runtime)
        report = deliver_due(
            self.runtime.factory, self.transport, self.runtime.settings, self.runtime.clock()
        )
        return Pass(processed, report)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                result = self.run_once()
                busy = result.processed or result.deliveries.attempted
            except Exception:  # keep the worker alive; the store keeps the work
                log.exception("dci: worker pass failed")
                busy = False
            if not busy:
                self._wake.wait(self.poll)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="nexo-dci-worker", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        """Stop, and release the HTTP connections."""
        self.stop()
        close = getattr(self.transport, "close", None)
        if callable(close):
            close()
