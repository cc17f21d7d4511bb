"""Batched ledger writes off the request path.

Requests only append to a queue; a daemon thread writes everything queued in one SQLite
transaction every `interval_s` (150 ms by default). A graceful stop writes the rest, so only a
crash (SIGKILL, power loss) can lose records: at most the last interval's worth. A failed write
(disk full, a lock held too long) is retried; a record that still cannot be written is logged and
dropped alone, never with its batch.
"""

from __future__ import annotations

import logging
import queue
import threading

from gateway.ledger import Ledger, UsageRecord

log = logging.getLogger("gateway.ledger")
DEFAULT_INTERVAL_S = 0.15
MAX_ATTEMPTS = 5  # a failing batch is retried on the next intervals, then written record by record


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
        self.dropped_records = 0
        self.failed_writes = 0
        self._retry: list[UsageRecord] = []
        self._attempts = 0
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
        batch, self._retry = self._retry, []
        while True:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if not batch:
            return
        handled = len(batch)
        try:
            self.ledger.record_many(batch)
            self._attempts = 0
        except Exception as exc:
            self.failed_writes += 1
            self._attempts += 1
            if self._attempts < MAX_ATTEMPTS and not self._stop.is_set():
                log.warning("ledger: writing %d records failed (%s); retrying", len(batch), exc)
                self._retry, handled = batch, 0
            else:
                self._attempts = 0
                self._write_one_by_one(batch)
        with self._flushed:
            self._written += handled
            self._flushed.notify_all()

    def _write_one_by_one(self, batch: list[UsageRecord]) -> None:
        """Last resort: keep every record that can be written, drop (and log) only the others."""
        for record in batch:
            try:
                self.ledger.record(record)
            except Exception:
                self.dropped_records += 1
                log.exception("ledger: dropping record %s after %d failed attempts", record.request_id,
                              MAX_ATTEMPTS)

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
