"""Shared budgets across gateway replicas: the pure maths of leasing slices (docs/adr/0010).

Each replica leases a slice of a budget's remaining room per (scope, period) from Postgres and
admits locally against it; these functions decide how big a slice to ask for, what the pool may
grant (with the one global overdraft that keeps the overshoot within one request's worst case),
whether a request fits the slice a replica holds, and when to renew. Integer picodollars
throughout, no I/O: the Postgres adapter (budget_leases_pg) applies `grant` inside one UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass

SLICE_SHARE = 4         # a slice is at most 1/(SLICE_SHARE x replicas) of what the pool has left
RATE_HORIZON_S = 20.0   # ... and at most this many seconds of the replica's recent spend rate, x2
RENEW_LEAD_S = 3.0      # renew in the background when the free part lasts less than this at the rate
REFUSAL_HOLD_S = 1.0    # after the pool refused, refuse locally this long (no round trip per refusal)


def grant(available_pico: int, want_pico: int, need_pico: int, overdraft_used: bool) -> tuple[int, bool]:
    """(granted, is_overdraft) for a replica asking for `want` while its next request needs `need`.

    `available` is the pool's limit (the critical threshold) minus its spent and outstanding
    money. Normal grants never take the pool past its limit: min(want, available), and only when
    at least `need` is available (a smaller grant would admit nothing). When 0 < available < need,
    the pool grants exactly `need` once per (scope, period) (`overdraft_used` is then set): that
    is the single-host rule (admit while committed < critical) applied globally, so all replicas
    together pass the limit by less than one request's worst case. Nothing is granted otherwise.
    """
    if need_pico <= 0:
        raise ValueError(f"need_pico must be > 0, got {need_pico}")
    want = max(want_pico, need_pico)
    if available_pico >= need_pico:
        return min(want, available_pico), False
    if available_pico > 0 and not overdraft_used:
        return need_pico, True
    return 0, False


def slice_size(remaining_pico: int, replicas: int, rate_pico_per_s: int, need_pico: int) -> int:
    """How much to ask for: a share of what is left, sized to cover the next ~RATE_HORIZON_S x 2
    seconds at this replica's recent spend rate (no rate yet: just the share), never below `need`.

    The share (remaining / (SLICE_SHARE x replicas)) keeps most of a nearly used-up budget in the
    pool for the other replicas, so slices shrink as the budget runs out and a dead replica strands
    at most a quarter of its fair part; the rate cap keeps a large budget from being parked in one
    replica. With a large budget a slice covers tens of seconds of traffic: a few lease round trips
    per minute however many requests.
    """
    share = max(remaining_pico, 0) // (SLICE_SHARE * max(replicas, 1))
    if rate_pico_per_s > 0:
        share = min(share, int(rate_pico_per_s * RATE_HORIZON_S * 2))
    return max(share, need_pico)


@dataclass(slots=True)
class Slice:
    """One (scope, period) slice a replica holds: what it was granted and what it committed of it.

    `granted` is cumulative over the period (returns subtract), so free = granted - settled -
    reserved; a request is admitted only if its worst case fits the free part (hard), and the
    slice is usable only until `usable_until` (monotonic seconds; lease expiry minus a margin).
    """

    granted_pico: int = 0
    settled_pico: int = 0
    reserved_pico: int = 0
    usable_until: float = 0.0

    def free(self, now: float) -> int:
        if now >= self.usable_until:
            return 0
        return self.granted_pico - self.settled_pico - self.reserved_pico

    def fits(self, worst_case_pico: int, now: float) -> bool:
        return worst_case_pico <= self.free(now)


def needs_renewal(free_pico: int, rate_pico_per_s: int, usable_until: float, now: float,
                  ttl_s: float) -> bool:
    """Renew in the background before the slice runs out: when its free part lasts less than
    RENEW_LEAD_S at the recent rate, or a third of the lease time is left."""
    if usable_until - now < ttl_s / 3:
        return True
    return rate_pico_per_s > 0 and free_pico < rate_pico_per_s * RENEW_LEAD_S


def usable_until(sent_at: float, ttl_s: float, margin_s: float) -> float:
    """Local end of a lease: measured from when the request was *sent* (the server's expiry is
    later than that), less a margin for clock rate differences, so a replica never uses a slice
    the pool may already have taken back and granted to another."""
    return sent_at + ttl_s - margin_s
