"""The in-memory budget guard: today's and this month's spend plus in-flight reservations, for the
stack and for every client key with a budget of its own.

Seeded from the ledger at start (the stack's spend, and each budgeted key's), then kept in memory so
the request path never touches the ledger. A request is admitted while committed spend (settled +
reserved) is below the critical threshold in every window it counts against (the stack's day and
month, and its key's day and/or month when the key has those budgets), and reserves its worst-case
cost in all of them; so a burst can overshoot any one budget by at most one request. Periods are
calendar days and months in the configured zone; they roll over by themselves.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from llm_shared import budget as budget_maths
from llm_shared.budget import Budgets, Thresholds
from llm_shared.periods import Period, day_period, month_period, parse_zone

from .budget_leases_client import LeaseHolder, PoolWindow
from .budget_leases_pg import STACK_SCOPE, key_scope
from .client_keys import ClientKey
from .openai_errors import GatewayError

log = logging.getLogger("gateway")

SpendLookup = Callable[[datetime, datetime], int]
KeySpendLookup = Callable[[datetime, datetime, str], int]  # (start, end, key name) -> spend
BUDGET_EXCEEDED = "budget_exceeded"
STACK = "stack"  # what a refusal calls the stack's own budgets ("stack daily", "stack monthly")


class SliceExhausted(Exception):
    """Shared mode: the request does not fit the slices this replica holds; await `reserve_leasing`."""


_EXHAUSTED = SliceExhausted()  # raised as is: no allocation on the path that leases
_ORDER = {budget_maths.OK: 0, budget_maths.WARNING: 1, budget_maths.EXCEEDED: 2}


LEASE_RETRY_S = 5  # retry-after when the shared budget could not be leased (Postgres unreachable)
LEASE_UNREACHABLE = ("budget exceeded: this gateway's share of the shared budget is used up and the ledger "
                     "database cannot be reached to lease more; try again shortly")


def budget_exceeded(retry_after_s: int, which: str = "daily or monthly LLM",
                    detail: str | None = None) -> GatewayError:
    """The OpenAI-style 429 every refusal carries; `which` names the used-up budget
    ("stack daily", "key 'alice' monthly").

    `x-should-retry: false` stops the OpenAI SDKs' automatic retries (two by default, so each
    refusal would cost three requests); `retry-after` says when the used-up period rolls over.
    """
    message = detail or f"budget exceeded: the {which} budget is used up; try again in the next period"
    return GatewayError(429, message, type_="insufficient_quota", code=BUDGET_EXCEEDED,
                        headers=((b"x-should-retry", b"false"),
                                 (b"retry-after", str(retry_after_s).encode())))


def scope_label(key_name: str | None, period_name: str) -> str:
    """'stack daily' / "key 'alice' monthly": how refusals and reports name one budget."""
    adjective = "daily" if period_name == "day" else "monthly"
    return f"{STACK} {adjective}" if key_name is None else f"key {key_name!r} {adjective}"


@dataclass(slots=True)
class Reservation:
    """Worst-case cost held for one in-flight request, tied to the periods it started in and to
    its key's budget windows (None: the key has no budget of its own)."""

    amount_pico: int
    day_start: datetime
    month_start: datetime
    key: _KeyWindows | None = None
    settled: bool = False
    pool: tuple[PoolWindow, ...] = ()  # shared mode: the slices it is held in


@dataclass(slots=True)
class _Window:
    period: Period
    budget_pico: int
    warning_pico: int  # least committed spend that is a warning / exceeded (budget.threshold_pico)
    critical_pico: int
    spent_pico: int = 0
    reserved_pico: int = 0

    def status(self) -> str:
        committed = self.spent_pico + self.reserved_pico
        if committed >= self.critical_pico:
            return budget_maths.EXCEEDED
        return budget_maths.WARNING if committed >= self.warning_pico else budget_maths.OK

    def exceeded(self) -> bool:
        return self.spent_pico + self.reserved_pico >= self.critical_pico


@dataclass(frozen=True, slots=True)
class WindowState:
    """One period as the guard holds it right now (what GET /v1/usage/budget reports)."""

    period: Period
    budget_pico: int
    spent_pico: int
    reserved_pico: int
    status: str

    @property
    def committed_pico(self) -> int:
        return self.spent_pico + self.reserved_pico


def _state(window: _Window) -> WindowState:
    return WindowState(window.period, window.budget_pico, window.spent_pico, window.reserved_pico,
                       window.status())


def _worse(a: str, b: str) -> str:
    return a if _ORDER[a] >= _ORDER[b] else b


@dataclass(slots=True)
class _KeyWindows:
    """A budgeted key's windows; a period without a key budget is None."""

    key: ClientKey
    day: _Window | None = None
    month: _Window | None = None
    windows: tuple[_Window, ...] = field(default=())
    pool: tuple[PoolWindow, ...] = field(default=())  # shared mode: the stack's and this key's


@dataclass(frozen=True, slots=True)
class KeyState:
    """One budgeted key's windows (None where the key has no budget for that period)."""

    key_name: str
    day: WindowState | None
    month: WindowState | None

    @property
    def status(self) -> str:
        return max((w.status for w in (self.day, self.month) if w is not None), key=_ORDER.__getitem__)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _pool_window(scope: str, key_name: str | None, window: _Window) -> PoolWindow:
    period = window.period
    return PoolWindow(scope, _ms(period.start), _ms(period.end), window.critical_pico,
                      scope_label(key_name, period.name))


class BudgetGuard:
    """Admission, downgrade advice and settlement; used from the event loop only."""

    def __init__(self, budgets: Budgets, thresholds: Thresholds, time_zone: str,
                 spend_lookup: SpendLookup, clock: Callable[[], datetime] | None = None,
                 keys: Iterable[ClientKey] = (), key_spend_lookup: KeySpendLookup | None = None,
                 shared: LeaseHolder | None = None) -> None:
        self._budgets = budgets
        self._thresholds = thresholds
        self._zone = parse_zone(time_zone)
        self._lookup = spend_lookup
        self._key_lookup = key_spend_lookup
        self._clock = clock or (lambda: datetime.now(UTC))
        self._shared = shared
        self._pool: tuple[PoolWindow, ...] = ()
        now = self._clock()
        self._day = self._window(day_period(now, self._zone), budgets.daily_pico)
        self._month = self._window(month_period(now, self._zone), budgets.monthly_pico)
        self._pool = self._stack_pool()
        self._keys: dict[str, _KeyWindows] = {}
        for key in keys:
            if key.daily_budget_pico is not None or key.monthly_budget_pico is not None:
                if self._key_lookup is None:
                    raise ValueError("a key with a budget needs key_spend_lookup (its ledger spend)")
                windows = self._key_windows(_KeyWindows(key), self._day.period, self._month.period)
                self._keys[key.name] = windows

    def _stack_pool(self) -> tuple[PoolWindow, ...]:
        return (_pool_window(STACK_SCOPE, None, self._day), _pool_window(STACK_SCOPE, None, self._month))

    def _window(self, period: Period, budget_pico: int, key_name: str | None = None) -> _Window:
        warning = budget_maths.threshold_pico(budget_pico, self._thresholds.warning)
        critical = budget_maths.threshold_pico(budget_pico, self._thresholds.critical)
        if key_name is None:
            spent = self._lookup(period.start, period.end)
        else:
            assert self._key_lookup is not None  # checked in __init__
            spent = self._key_lookup(period.start, period.end, key_name)
        return _Window(period, budget_pico, warning, critical, spent_pico=spent)

    def _key_windows(self, kw: _KeyWindows, day: Period, month: Period) -> _KeyWindows:
        """(Re)build the windows of `kw` whose period is not `day` / `month` any more."""
        key = kw.key
        if key.daily_budget_pico is not None and (kw.day is None or kw.day.period != day):
            kw.day = self._window(day, key.daily_budget_pico, key.name)
        if key.monthly_budget_pico is not None and (kw.month is None or kw.month.period != month):
            kw.month = self._window(month, key.monthly_budget_pico, key.name)
        kw.windows = tuple(w for w in (kw.day, kw.month) if w is not None)
        kw.pool = self._pool + tuple(_pool_window(key_scope(key.name), key.name, w) for w in kw.windows)
        return kw

    def _roll(self) -> None:
        now = self._clock()
        if now >= self._day.period.end or now < self._day.period.start:
            self._day = self._window(day_period(now, self._zone), self._budgets.daily_pico)
        if now >= self._month.period.end or now < self._month.period.start:
            self._month = self._window(month_period(now, self._zone), self._budgets.monthly_pico)
        if (self._pool[0].start_ms != _ms(self._day.period.start)
                           or self._pool[1].start_ms != _ms(self._month.period.start)):
            self._pool = self._stack_pool()

    def _key(self, key: ClientKey | None) -> _KeyWindows | None:
        """The key's windows in the current periods (rolled with the stack's), or None."""
        kw = self._keys.get(key.name) if key is not None else None
        # Key windows share the stack's periods, and the stack's pool windows are rebuilt exactly
        # when those roll: two identity checks per request tell whether the key's are current.
        if kw is not None and (kw.pool[0] is not self._pool[0] or kw.pool[1] is not self._pool[1]):
            self._key_windows(kw, self._day.period, self._month.period)
        return kw

    def status(self, key: ClientKey | None = None) -> str:
        """The worst status on committed spend, ok, warning or exceeded, over the stack's day and
        month (and the key's windows when a key with a budget is given)."""
        self._roll()
        status = _worse(self._day.status(), self._month.status())
        kw = self._key(key)
        for window in kw.windows if kw is not None else ():
            status = _worse(status, window.status())
        return status

    def windows(self) -> tuple[WindowState, WindowState]:
        """The stack's (day, month) as admission sees them: settled spend, reservations, status."""
        self._roll()
        return _state(self._day), _state(self._month)

    def key_windows(self) -> list[KeyState]:
        """Every budgeted key's windows as admission sees them, in configuration order."""
        self._roll()
        states = []
        for kw in self._keys.values():
            self._key(kw.key)
            states.append(KeyState(kw.key.name, _state(kw.day) if kw.day else None,
                                   _state(kw.month) if kw.month else None))
        return states

    def reserve(self, worst_case_pico: int, key: ClientKey | None = None) -> Reservation:
        """Admit and hold the worst case in the stack's windows and the key's, or raise the 429
        budget_exceeded naming the used-up budget."""
        self._roll()
        day, month = self._day, self._month
        kw = self._key(key)
        if day.exceeded() or month.exceeded() or (kw is not None and any(w.exceeded() for w in kw.windows)):
            raise self.refusal(key)
        pool: tuple[PoolWindow, ...] = ()
        if self._shared is not None:
            pool = kw.pool if kw is not None else self._pool
            if not self._shared.reserve(pool, worst_case_pico):
                raise _EXHAUSTED
        return self._hold(worst_case_pico, kw, pool)

    async def reserve_leasing(self, worst_case_pico: int, key: ClientKey | None = None) -> Reservation:
        """Shared mode, after SliceExhausted: one lease round trip in a worker thread, then hold;
        the 429 naming the budget whose pool refused, also when Postgres cannot be reached (the
        slices held keep serving meanwhile: never a 5xx for a budget)."""
        assert self._shared is not None, "reserve_leasing is for the shared mode"
        self._roll()
        kw = self._key(key)
        pool = kw.pool if kw is not None else self._pool
        try:
            refuser = await asyncio.get_running_loop().run_in_executor(
                None, self._shared.lease_or_refuser, pool, worst_case_pico)
        except Exception as exc:  # Postgres down or unreachable: refuse within what is held
            log.warning("budget lease failed, request refused: %s", type(exc).__name__)
            raise budget_exceeded(LEASE_RETRY_S, detail=LEASE_UNREACHABLE) from None
        if refuser is not None:
            end = datetime.fromtimestamp(refuser.end_ms / 1000, UTC)
            raise budget_exceeded(max(1, math.ceil((end - self._clock()).total_seconds())), refuser.label)
        return self._hold(worst_case_pico, kw, pool)

    def _hold(self, worst_case_pico: int, kw: _KeyWindows | None,
              pool: tuple[PoolWindow, ...]) -> Reservation:
        day, month = self._day, self._month
        day.reserved_pico += worst_case_pico
        month.reserved_pico += worst_case_pico
        if kw is not None:
            for window in kw.windows:
                window.reserved_pico += worst_case_pico
        return Reservation(worst_case_pico, day.period.start, month.period.start, kw, pool=pool)

    def refusal(self, key: ClientKey | None = None) -> GatewayError:
        """The 429 for a request refused now, naming the used-up budget whose period ends last
        (retry-after: the earliest moment every used-up budget admits again). The stack's month,
        then its day, then the key's month and day, when several end together."""
        self._roll()
        candidates: list[tuple[str | None, _Window]] = [(None, self._month), (None, self._day)]
        kw = self._key(key)
        if kw is not None:
            candidates += [(kw.key.name, w) for w in (kw.month, kw.day) if w is not None]
        exceeded = [(name, w) for name, w in candidates if w.exceeded()] or [(None, self._day)]
        name, window = max(exceeded, key=lambda c: c[1].period.end)  # first of equal ends wins
        retry = max(1, math.ceil((window.period.end - self._clock()).total_seconds()))
        return budget_exceeded(retry, scope_label(name, window.period.name))

    def settle(self, reservation: Reservation, actual_pico: int) -> None:
        """Release the hold and count the actual cost (in the periods the request started in)."""
        if reservation.settled:
            return
        reservation.settled = True
        self._roll()
        amount = reservation.amount_pico
        if reservation.pool and self._shared is not None:
            self._shared.settle(reservation.pool, amount, actual_pico)
        for window, start in ((self._day, reservation.day_start), (self._month, reservation.month_start)):
            if window.period.start == start:
                window.reserved_pico -= amount
                window.spent_pico += actual_pico
        kw = reservation.key
        if kw is not None:
            self._key(kw.key)
            for key_window, start in ((kw.day, reservation.day_start), (kw.month, reservation.month_start)):
                if key_window is not None and key_window.period.start == start:
                    key_window.reserved_pico -= amount
                    key_window.spent_pico += actual_pico

    def used_ratio(self) -> dict[str, float]:
        """Settled spend over budget per period, for the metrics gauge."""
        self._roll()
        return {"day": self._day.spent_pico / self._day.budget_pico,
                "month": self._month.spent_pico / self._month.budget_pico}
