"""A replica's side of shared budgets (docs/adr/0010): the slices it holds, admission against them,
and the background renewal that keeps the request path off Postgres.

`reserve` is the hot path: integer maths under an uncontended lock, no I/O. Only when a request
does not fit a slice does the caller pay one round trip (`lease_for`, from a worker thread); the
renewal thread tops slices up and extends their leases before they run out. A slice past its
local expiry admits nothing, so a replica cut off from Postgres serves from what it holds until
then and refuses afterwards; it never spends money the pool may have taken back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import budget_leases as maths
from .budget_leases_pg import LeaseAnswer, LeaseAsk, LeaseStore

log = logging.getLogger("gateway")


@dataclass(frozen=True, slots=True)
class PoolWindow:
    """One budget a request counts against: scope ('stack' / 'key:<name>'), period, limit."""

    scope: str
    start_ms: int
    end_ms: int
    limit_pico: int
    label: str = ""  # how a refusal names it ("stack daily", "key 'alice' monthly")


@dataclass(slots=True)
class _Held:
    window: PoolWindow
    slice: maths.Slice
    available_pico: int = 0      # the pool's room at the last round trip
    replicas: int = 1
    rate_pico_per_s: int = 0
    rate_mark: tuple[float, int] = (0.0, 0)  # (when, settled) at the last rate update
    refused_until: float = 0.0   # the pool refused a request's need: refuse locally until then


class LeaseHolder:
    """Slices per (scope, period); thread-safe (the event loop, a lease worker, the renewer)."""

    def __init__(self, store: LeaseStore, ttl_s: float, margin_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 <= margin_s < ttl_s:
            raise ValueError(f"lease margin ({margin_s} s) must be below the lease time ({ttl_s} s)")
        self._store = store
        self._ttl_s = ttl_s
        self._margin_s = margin_s
        self._clock = clock
        self._held: dict[tuple[str, int], _Held] = {}
        self._lock = threading.Lock()
        self._io = threading.Lock()  # one round trip at a time per replica
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # hot path ---------------------------------------------------------------------------------

    def reserve(self, windows: Sequence[PoolWindow], worst_pico: int) -> bool:
        """Hold `worst` in every window's slice, or nothing (False: lease_for first)."""
        now = self._clock()
        with self._lock:
            held = [self._held.get((w.scope, w.start_ms)) for w in windows]
            for h in held:
                if h is None or not h.slice.fits(worst_pico, now):
                    return False
            for h in held:
                h.slice.reserved_pico += worst_pico  # type: ignore[union-attr]
        return True

    def settle(self, windows: Sequence[PoolWindow], worst_pico: int, actual_pico: int) -> None:
        with self._lock:
            for w in windows:
                h = self._held.get((w.scope, w.start_ms))
                if h is not None:
                    h.slice.reserved_pico -= worst_pico
                    h.slice.settled_pico += actual_pico

    # round trips -------------------------------------------------------------------------------

    def lease_for(self, windows: Sequence[PoolWindow], worst_pico: int) -> bool:
        """Blocking: one round trip asking each window whose slice cannot hold `worst` for a slice
        (at least `worst`), then `reserve`. False when the pools refuse (or refused within
        REFUSAL_HOLD_S: refusals cost no round trip each); psycopg errors propagate. Callers
        queue on one lock and recheck, so a burst finding its slice empty costs one round trip."""
        return self.lease_or_refuser(windows, worst_pico) is None

    def lease_or_refuser(self, windows: Sequence[PoolWindow], worst_pico: int) -> PoolWindow | None:
        """`lease_for`, answering None when admitted (and held), else the window that refused."""
        with self._io:
            now = self._clock()
            with self._lock:
                asks = []
                for w in windows:
                    h = self._held.get((w.scope, w.start_ms))
                    if h is None or not h.slice.fits(worst_pico, now):
                        if h is not None and now < h.refused_until and h.available_pico < worst_pico:
                            return w
                        asks.append(self._ask(w, h, need=worst_pico, now=now))
            if asks:
                self._send(asks)
        if self.reserve(windows, worst_pico):
            return None
        now = self._clock()
        with self._lock:
            for w in windows:
                h = self._held.get((w.scope, w.start_ms))
                if h is None or not h.slice.fits(worst_pico, now):
                    return w
        return windows[0]

    def renew(self) -> bool:
        """One round trip renewing every slice due (topping up the ones running low); False when
        nothing was due."""
        now = self._clock()
        wall_ms = time.time() * 1000
        with self._lock:
            done = [k for k, h in self._held.items()
                    if h.window.end_ms < wall_ms and not h.slice.reserved_pico]
            for key in done:
                del self._held[key]  # a past period's slice: its pool is closed, nothing in flight
            asks = []
            for h in self._held.values():
                if maths.needs_renewal(h.slice.free(now), h.rate_pico_per_s, h.slice.usable_until, now,
                                       self._ttl_s):
                    asks.append(self._ask(h.window, h, need=0, now=now))
        if not asks:
            return False
        self._round_trip(asks)
        return True

    def give_back(self) -> None:
        """Return every slice's free part (a graceful stop); in-flight holds stay leased until
        their rows are written."""
        now = self._clock()
        with self._lock:
            asks = [LeaseAsk(h.window.scope, h.window.start_ms, h.window.end_ms, h.window.limit_pico,
                             give_back_pico=max(h.slice.free(now), 0)) for h in self._held.values()]
            for h in self._held.values():
                h.slice.granted_pico -= max(h.slice.free(now), 0)
        if asks:
            self._round_trip(asks)

    def _ask(self, w: PoolWindow, h: _Held | None, *, need: int, now: float) -> LeaseAsk:
        if h is None:
            want = maths.slice_size(w.limit_pico, 1, 0, need) if need else 0
            return LeaseAsk(w.scope, w.start_ms, w.end_ms, w.limit_pico, want, need)
        settled = h.slice.settled_pico
        when, before = h.rate_mark
        if now - when >= 1.0:
            h.rate_pico_per_s = int((settled - before) / (now - when)) if when else 0
            h.rate_mark = (now, settled)
        want = maths.slice_size(h.available_pico + max(h.slice.free(now), 0), h.replicas, h.rate_pico_per_s,
                                max(need, 1))
        free = max(h.slice.free(now), 0)
        top_up = max(want - free, 0) if (need or free < want // 2) else 0
        return LeaseAsk(w.scope, w.start_ms, w.end_ms, w.limit_pico, top_up, need)

    def _round_trip(self, asks: list[LeaseAsk]) -> None:
        with self._io:
            self._send(asks)

    def _send(self, asks: list[LeaseAsk]) -> None:
        sent_at = self._clock()
        answers = self._store.lease(asks)
        until = maths.usable_until(sent_at, self._ttl_s, self._margin_s)
        by_key = {(a.scope, a.start_ms): a for a in asks}
        with self._lock:
            for answer in answers:
                ask = by_key[(answer.scope, answer.start_ms)]
                self._apply(ask, answer, until)
                if ask.need_pico and not answer.granted_pico:
                    self._held[(answer.scope, answer.start_ms)].refused_until = sent_at + maths.REFUSAL_HOLD_S

    def _apply(self, ask: LeaseAsk, answer: LeaseAnswer, until: float) -> None:
        key = (answer.scope, answer.start_ms)
        h = self._held.get(key)
        if h is None:
            window = PoolWindow(ask.scope, ask.start_ms, ask.end_ms, ask.limit_pico)
            h = self._held[key] = _Held(window, maths.Slice(), rate_mark=(self._clock(), 0))
        if answer.fresh:  # no lease there before (or the pool reaped ours): only the new grant is held
            h.slice.granted_pico = h.slice.settled_pico + h.slice.reserved_pico
        h.slice.granted_pico += answer.granted_pico
        h.slice.usable_until = until
        h.available_pico = answer.available_pico
        h.replicas = max(answer.replicas, 1)

    @property
    def round_trips(self) -> int:
        return self._store.round_trips

    def snapshot(self) -> dict[tuple[str, int], maths.Slice]:
        with self._lock:
            return {k: maths.Slice(h.slice.granted_pico, h.slice.settled_pico, h.slice.reserved_pico,
                                   h.slice.usable_until) for k, h in self._held.items()}

    # background ------------------------------------------------------------------------------

    def start(self, interval_s: float) -> None:
        """Renew from a daemon thread every `interval_s` (a failed round trip is logged and retried)."""
        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.renew()
                except Exception as exc:  # Postgres down: keep serving from the slices held
                    log.warning("budget lease renewal failed: %s", type(exc).__name__)

        self._thread = threading.Thread(target=loop, name="budget-leases", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


RENEW_INTERVAL_DIVISOR = 6  # the renewal thread wakes six times per lease time
REAP_SLACK_S = 1.0  # past expiry + the request deadline: the ledger writer's flush (0.15 s) and a retry


def shared_holder(dsn: str, replica: str, lease_s: float, margin_s: float,
                  request_deadline_s: float) -> LeaseHolder:
    """The gateway's lease holder on a Postgres ledger, renewing in the background (started).

    Leases are reaped `request_deadline_s` + REAP_SLACK_S after their expiry: the requests admitted
    before it have finished and their rows are written by then (ADR 0010, bound 4)."""
    import psycopg  # the gateway extra; only the Postgres mode needs it

    store = LeaseStore(lambda: psycopg.connect(dsn, autocommit=True, connect_timeout=3), replica, lease_s,
                       request_deadline_s + REAP_SLACK_S)
    holder = LeaseHolder(store, lease_s, margin_s)
    holder.start(lease_s / RENEW_INTERVAL_DIVISOR)
    return holder
