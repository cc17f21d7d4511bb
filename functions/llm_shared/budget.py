"""Budget evaluation: spend against daily and monthly budgets, as pure maths.

Statuses: `ok` below the warning threshold, `warning` from it, `exceeded` from the critical one.
Thresholds are percentages of the budget (defaults 80 and 100) and are validated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .errors import ConfigError
from .money import pico_to_usd, usd_to_pico

OK = "ok"
WARNING = "warning"
EXCEEDED = "exceeded"
DEFAULT_WARNING_PERCENT = Decimal(80)
DEFAULT_CRITICAL_PERCENT = Decimal(100)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Warning and critical thresholds as percentages of a budget, 0 < warning < critical <= 100."""

    warning: Decimal = DEFAULT_WARNING_PERCENT
    critical: Decimal = DEFAULT_CRITICAL_PERCENT

    def __post_init__(self) -> None:
        for name in ("warning", "critical"):
            value = getattr(self, name)
            if isinstance(value, float | int) and not isinstance(value, bool):
                object.__setattr__(self, name, Decimal(str(value)))
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or not 0 < value <= 100:
                raise ConfigError(f"{name} threshold must be in (0, 100], got {value}")
        if self.warning >= self.critical:
            raise ConfigError(
                f"warning threshold ({self.warning}) must be below critical ({self.critical})"
            )


@dataclass(frozen=True, slots=True)
class Budgets:
    """Daily and monthly budgets in picodollars; monthly must be at least daily."""

    daily_pico: int
    monthly_pico: int

    @classmethod
    def from_usd(cls, daily: Decimal | str | int, monthly: Decimal | str | int) -> Budgets:
        return cls(usd_to_pico(daily, name="daily budget"), usd_to_pico(monthly, name="monthly budget"))

    def __post_init__(self) -> None:
        if self.daily_pico <= 0:
            raise ConfigError(f"daily budget must be > 0 USD, got {pico_to_usd(self.daily_pico)}")
        if self.monthly_pico <= 0:
            raise ConfigError(f"monthly budget must be > 0 USD, got {pico_to_usd(self.monthly_pico)}")
        if self.monthly_pico < self.daily_pico:
            raise ConfigError(
                f"monthly budget ({pico_to_usd(self.monthly_pico)}) must be >= daily budget "
                f"({pico_to_usd(self.daily_pico)})"
            )


@dataclass(frozen=True, slots=True)
class PeriodStatus:
    """Where one period's spend stands against its budget."""

    period: str
    spent_pico: int
    budget_pico: int
    percent_used: Decimal
    remaining_pico: int
    status: str

    def as_dict(self) -> dict[str, object]:
        return {
            "period": self.period,
            "spent_usd": str(pico_to_usd(self.spent_pico)),
            "budget_usd": str(pico_to_usd(self.budget_pico)),
            "percent_used": str(self.percent_used.quantize(Decimal("0.01"))),
            "remaining_usd": str(pico_to_usd(self.remaining_pico)),
            "status": self.status,
        }


def percent_used(spent_pico: int, budget_pico: int) -> Decimal:
    """Exact percentage of the budget spent."""
    return Decimal(spent_pico) * 100 / Decimal(budget_pico)


def status_for(spent_pico: int, budget_pico: int, thresholds: Thresholds = Thresholds()) -> str:
    """`ok`, `warning` or `exceeded`, compared exactly (79.99 % is still ok)."""
    pct = percent_used(spent_pico, budget_pico)
    if pct >= thresholds.critical:
        return EXCEEDED
    if pct >= thresholds.warning:
        return WARNING
    return OK


def threshold_pico(budget_pico: int, percent: Decimal) -> int:
    """The least whole-picodollar spend at which `status_for` reaches `percent` of the budget.

    Precomputed once per period, it turns the request path's exact Decimal comparison into one
    integer comparison (spent >= threshold_pico  <=>  percent_used >= percent).
    """
    return math.ceil(Fraction(percent) * budget_pico / 100)


def evaluate_period(period: str, spent_pico: int, budget_pico: int,
                    thresholds: Thresholds = Thresholds()) -> PeriodStatus:
    if spent_pico < 0:
        raise ConfigError(f"{period} spend cannot be negative, got {pico_to_usd(spent_pico)}")
    return PeriodStatus(
        period=period,
        spent_pico=spent_pico,
        budget_pico=budget_pico,
        percent_used=percent_used(spent_pico, budget_pico),
        remaining_pico=max(budget_pico - spent_pico, 0),
        status=status_for(spent_pico, budget_pico, thresholds),
    )


def evaluate(daily_spent_pico: int, monthly_spent_pico: int, budgets: Budgets,
             thresholds: Thresholds = Thresholds()) -> dict[str, PeriodStatus]:
    """Status of both periods, keyed 'day' and 'month'."""
    return {
        "day": evaluate_period("day", daily_spent_pico, budgets.daily_pico, thresholds),
        "month": evaluate_period("month", monthly_spent_pico, budgets.monthly_pico, thresholds),
    }


def worst_status(statuses: dict[str, PeriodStatus]) -> str:
    order = {OK: 0, WARNING: 1, EXCEEDED: 2}
    return max((s.status for s in statuses.values()), key=order.__getitem__, default=OK)
