"""Batched ledger writes off the request path.

Requests only append to a queue; a daemon thread writes everything queued in one SQLite
transaction (multi-row INSERT statements) every `interval_s` (150 ms by default), sooner when
`wake_at_pending` records wait. A graceful stop writes the rest, so only a crash (SIGKILL, power
loss) can lose records: those still queued, whose age `lag_s` reports. A failed write (disk full,
a lock held too long) is retried; records that still cannot be written are written one by one,
and each one the store refuses goes to the dead-letter file (one JSON object a line), never away.

A store that cannot be reached (Postgres down: `LedgerUnavailable`) is not a refusal: the rows stay
queued in memory, retried every interval (the pool reconnects with backoff), up to `queue_limit`
rows; the oldest beyond it go to the dead-letter file, as does what a graceful stop cannot write.
`store_up` says whether the last write reached the store (/readyz, gateway_ledger_store_up).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import logging
import threading
import time
from pathlib import Path

from gateway.ledger import UsageRecord
from gateway.ledger_store import LedgerStore, LedgerUnavailable

log = logging.getLogger("gateway.ledger")
DEFAULT_INTERVAL_S = 0.15
MAX_ATTEMPTS = 5  # a failing batch is retried on the next intervals, then written record by record
WAKE_AT_PENDING = 2000  # this many queued records wake the writer before its interval ends
DEAD_LETTER_SUFFIX = ".dead-letter.jsonl"
# Rows held in memory while the store is down (LEDGER_QUEUE_LIMIT): 10 minutes at 250 requests/s,
# ~100 MB at most; beyond it the oldest go to the dead-letter file.
DEFAULT_QUEUE_LIMIT = 150_000


class LedgerWriter:
    """Owns a writer thread; `submit` is O(1) and never blocks on SQLite."""

    def __init__(self, ledger: LedgerStore, interval_s: float = DEFAULT_INTERVAL_S, *,
                 dead_letter_path: str | Path | None = None, wake_at_pending: int = WAKE_AT_PENDING,
                 queue_limit: int = DEFAULT_QUEUE_LIMIT) -> None:
        self.ledger = ledger
        self.interval_s = interval_s
        self.dead_letter_path = Path(dead_letter_path or f"{getattr(ledger, 'path', 'gateway-ledger')}"
                                     f"{DEAD_LETTER_SUFFIX}")
        self.queue_limit = queue_limit
        self.store_up = True  # the last write reached the store
        self._wake_at = wake_at_pending
        # (monotonic submit time, record); deque appends and pops are atomic, so no lock is needed.
        self._queue: collections.deque[tuple[float, UsageRecord]] = collections.deque()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._flushed = threading.Condition()
        self._submitted = 0
        self._written = 0  # records taken off the queue and handled (written or dead-lettered)
        self._writing_since: float | None = None  # submit time of the oldest record being written
        self._writing = 0  # records in the write under way (a down store can hold it for seconds)
        self.dead_letter_records = 0
        self.failed_writes = 0
        self._retry: list[tuple[float, UsageRecord]] = []
        self._attempts = 0
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, record: UsageRecord) -> None:
        self._submitted += 1
        self._queue.append((time.monotonic(), record))
        if len(self._queue) >= self._wake_at:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._queue) + len(self._retry) + self._writing

    @property
    def lag_s(self) -> float:
        """Age of the oldest record not yet committed: what a hard kill now would lose, in time."""
        oldest = [t for t in (self._writing_since,) if t is not None]
        if self._retry:
            oldest.append(self._retry[0][0])
        with contextlib.suppress(IndexError):  # the writer may empty the queue meanwhile
            oldest.append(self._queue[0][0])
        return max(time.monotonic() - min(oldest), 0.0) if oldest else 0.0

    def _drain(self) -> None:
        batch, self._retry = self._retry, []
        for _ in range(len(self._queue)):
            batch.append(self._queue.popleft())
        if not batch:
            return
        self._writing_since, self._writing = batch[0][0], len(batch)
        handled = len(batch)
        try:
            self.ledger.record_many(record for _, record in batch)
            self._attempts = 0
            if not self.store_up:
                log.warning("ledger: the store is back; %d held records written", len(batch))
            self.store_up = True
        except LedgerUnavailable as exc:
            handled = self._hold(batch, exc)
        except Exception as exc:
            self.failed_writes += 1
            self._attempts += 1
            if self._attempts < MAX_ATTEMPTS and not self._stop.is_set():
                log.warning("ledger: writing %d records failed (%s); retrying", len(batch), exc)
                self._retry, handled = batch, 0
            else:
                self._attempts = 0
                self._write_one_by_one([record for _, record in batch])
        finally:
            self._writing_since, self._writing = None, 0
        with self._flushed:
            self._written += handled
            self._flushed.notify_all()

    def _hold(self, batch: list[tuple[float, UsageRecord]], exc: LedgerUnavailable) -> int:
        """The store is down: keep the batch for the next interval, within the bound; returns how many
        records left the queue (dead-lettered: beyond the bound, or at a stop)."""
        if self.store_up:
            log.warning("ledger: the store is unavailable (%s); %d records held in memory", exc, len(batch))
        self.store_up = False
        self.failed_writes += 1
        keep = 0 if self._stop.is_set() else self.queue_limit
        spill, self._retry = batch[:max(len(batch) - keep, 0)], batch[max(len(batch) - keep, 0):]
        if spill:
            reason = "stopping" if self._stop.is_set() else f"more than {self.queue_limit} queued"
            self._dead_letter([(record, exc) for _, record in spill],
                              f"not written (the store is unavailable, {reason})")
        return len(spill)

    def _write_one_by_one(self, batch: list[UsageRecord]) -> None:
        """Last resort: keep every record that can be written; the others go to the dead-letter file."""
        refused = []
        for record in batch:
            try:
                self.ledger.record(record)
            except Exception as exc:
                refused.append((record, exc))
        if refused:
            self._dead_letter(refused)

    def _dead_letter(self, refused: list[tuple[UsageRecord, Exception]], why: str = "") -> None:
        lines = "".join(json.dumps({**dataclasses.asdict(record), "error": f"{type(exc).__name__}: {exc}"})
                        + "\n" for record, exc in refused)
        try:
            with open(self.dead_letter_path, "a", encoding="utf-8") as file:
                file.write(lines)
        except OSError:  # the disk refuses too: the log line is the record of last resort
            log.exception("ledger: cannot write the dead-letter file %s; records: %s",
                          self.dead_letter_path, lines)
        self.dead_letter_records += len(refused)
        log.error("ledger: %d record(s) %s, kept in %s: %s", len(refused),
                  why or f"refused by the store after {MAX_ATTEMPTS} attempts", self.dead_letter_path,
                  ", ".join(record.request_id for record, _ in refused[:100])
                  + (f" and {len(refused) - 100} more" if len(refused) > 100 else ""))

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
