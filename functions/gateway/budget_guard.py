"""The in-memory budget guard: today's and this month's spend plus in-flight reservations.

Seeded from the ledger at start, then kept in memory so the request path never touches SQLite.
A request is admitted while committed spend (settled + reserved) is below the critical threshold,
and reserves its worst-case cost; so a burst can overshoot a budget by at most one request.
Periods are calendar days and months in the configured zone; they roll over by themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from llm_shared import budget as budget_maths
from llm_shared.budget import Budgets, Thresholds
from llm_shared.periods import Period, day_period, month_period, parse_zone

from .openai_errors import GatewayError

SpendLookup = Callable[[datetime, datetime], int]
BUDGET_EXCEEDED = "budget_exceeded"


def budget_exceeded(retry_after_s: int) -> GatewayError:
    """The OpenAI-style 429 every refusal carries.

    `x-should-retry: false` stops the OpenAI SDKs' automatic retries (two by default, so each
    refusal would cost three requests); `retry-after` says when the used-up period rolls over.
    """
    return GatewayError(429, "budget exceeded: the daily or monthly LLM budget is used up; "
                        "try again in the next period", type_="insufficient_quota", code=BUDGET_EXCEEDED,
                        headers=((b"x-should-retry", b"false"),
                                 (b"retry-after", str(retry_after_s).encode())))


@dataclass(slots=True)
class Reservation:
    """Worst-case cost held for one in-flight request, tied to the periods it started in."""

    amount_pico: int
    day_start: datetime
    month_start: datetime
    settled: bool = False


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


class BudgetGuard:
    """Admission, downgrade advice and settlement; used from the event loop only."""

    def __init__(self, budgets: Budgets, thresholds: Thresholds, time_zone: str,
                 spend_lookup: SpendLookup, clock: Callable[[], datetime] | None = None) -> None:
        self._budgets = budgets
        self._thresholds = thresholds
        self._zone = parse_zone(time_zone)
        self._lookup = spend_lookup
        self._clock = clock or (lambda: datetime.now(UTC))
        now = self._clock()
        self._day = self._window(day_period(now, self._zone), budgets.daily_pico)
        self._month = self._window(month_period(now, self._zone), budgets.monthly_pico)

    def _window(self, period: Period, budget_pico: int) -> _Window:
        warning = budget_maths.threshold_pico(budget_pico, self._thresholds.warning)
        critical = budget_maths.threshold_pico(budget_pico, self._thresholds.critical)
        spent = self._lookup(period.start, period.end)
        return _Window(period, budget_pico, warning, critical, spent_pico=spent)

    def _roll(self) -> None:
        now = self._clock()
        if now >= self._day.period.end or now < self._day.period.start:
            self._day = self._window(day_period(now, self._zone), self._budgets.daily_pico)
        if now >= self._month.period.end or now < self._month.period.start:
            self._month = self._window(month_period(now, self._zone), self._budgets.monthly_pico)

    def status(self) -> str:
        """The worse of the day's and month's status on committed spend: ok, warning or exceeded."""
        self._roll()
        day, month = self._day.status(), self._month.status()
        if day == month or month == budget_maths.OK:
            return day
        return month if day == budget_maths.OK or month == budget_maths.EXCEEDED else day

    def windows(self) -> tuple[WindowState, WindowState]:
        """(day, month) as admission sees them: settled spend, reservations and each one's status."""
        self._roll()
        day, month = (WindowState(w.period, w.budget_pico, w.spent_pico, w.reserved_pico, w.status())
                      for w in (self._day, self._month))
        return day, month

    def reserve(self, worst_case_pico: int) -> Reservation:
        """Admit and hold the worst case, or raise 429 budget_exceeded."""
        if self.status() == budget_maths.EXCEEDED:
            raise self.refusal()
        self._day.reserved_pico += worst_case_pico
        self._month.reserved_pico += worst_case_pico
        return Reservation(worst_case_pico, self._day.period.start, self._month.period.start)

    def refusal(self) -> GatewayError:
        """The 429 for a request refused now: retry after the month ends if its budget is used up,
        else after the day ends (the earliest moment a fresh period admits again)."""
        self._roll()
        month = self._month
        end = month.period.end if month.status() == budget_maths.EXCEEDED else self._day.period.end
        return budget_exceeded(max(1, math.ceil((end - self._clock()).total_seconds())))

    def settle(self, reservation: Reservation, actual_pico: int) -> None:
        """Release the hold and count the actual cost (in the periods the request started in)."""
        if reservation.settled:
            return
        reservation.settled = True
        self._roll()
        for window, start in ((self._day, reservation.day_start), (self._month, reservation.month_start)):
            if window.period.start == start:
                window.reserved_pico -= reservation.amount_pico
                window.spent_pico += actual_pico

    def used_ratio(self) -> dict[str, float]:
        """Settled spend over budget per period, for the metrics gauge."""
        self._roll()
        return {"day": self._day.spent_pico / self._day.budget_pico,
                "month": self._month.spent_pico / self._month.budget_pico}

