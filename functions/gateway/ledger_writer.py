"""Batched ledger writes off the request path.

Requests only append to a queue; a daemon thread writes everything queued in one SQLite
transaction every `interval_s` (150 ms by default). A graceful stop writes the rest, so only a
crash (SIGKILL, power loss) can lose records: at most the last interval's worth.
"""

from __future__ import annotations

import logging
import queue
import threading

from llm_shared.ledger import Ledger, UsageRecord

log = logging.getLogger("gateway.ledger")
DEFAULT_INTERVAL_S = 0.15


class LedgerWriter:
    """Owns a writer thread; `submit` is O(1) and never blocks on SQLite."""

    def __init__(self, ledger: Ledger, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.ledger = ledger
        self.interval_s = interval_s
        self._queue: queue.SimpleQueue[UsageRecord] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._flushed = threading.Condition()
        self._submitted = 0
        self._written = 0  # records taken off the queue and handled (written or failed)
        self.failed_batches = 0
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, record: UsageRecord) -> None:
        self._submitted += 1
        self._queue.put(record)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _drain(self) -> None:
        batch: list[UsageRecord] = []
        while True:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if batch:
            try:
                self.ledger.record_many(batch)
            except Exception:
                self.failed_batches += 1
                log.exception("ledger: writing %d records failed", len(batch))
        with self._flushed:
            self._written += len(batch)
            self._flushed.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            self._drain()
        self._drain()

    def flush(self, timeout: float = 5.0) -> bool:
        """Block until everything submitted so far is written (True) or the timeout passes."""
        target = self._submitted
        self._wake.set()
        with self._flushed:
            return self._flushed.wait_for(lambda: self._written >= target, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued and end the thread (graceful shutdown)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        else:
            self._drain()
