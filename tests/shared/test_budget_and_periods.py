"""Budget statuses at the exact boundaries, and calendar periods in a time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from llm_shared import budget, periods
from llm_shared.errors import ConfigError
from llm_shared.money import usd_to_pico

BUDGETS = budget.Budgets.from_usd("50", "1000")


@pytest.mark.parametrize(
    ("spent", "status"),
    [("0", "ok"), ("39.995", "ok"), ("40", "warning"), ("49.99", "warning"), ("50", "exceeded"),
     ("75", "exceeded")],
)
def test_daily_status_boundaries(spent, status):
    """79.99 % is ok, 80 % is warning, 100 % is exceeded — compared exactly."""
    result = budget.evaluate(usd_to_pico(spent), 0, BUDGETS)["day"]
    assert result.status == status


def test_percent_remaining_and_dict():
    result = budget.evaluate(usd_to_pico("12.50"), usd_to_pico("412.30"), BUDGETS)
    assert result["day"].percent_used == Decimal(25)
    assert result["day"].remaining_pico == usd_to_pico("37.5")
    assert result["month"].percent_used == Decimal("41.23")
    assert result["month"].as_dict()["percent_used"] == "41.23"
    over = budget.evaluate(usd_to_pico("60"), 0, BUDGETS)["day"]
    assert over.remaining_pico == 0
    assert budget.worst_status(budget.evaluate(usd_to_pico("45"), usd_to_pico("10"), BUDGETS)) == "warning"


def test_custom_thresholds_move_the_boundaries():
    thresholds = budget.Thresholds(Decimal(50), Decimal(90))
    assert budget.status_for(usd_to_pico("24.99"), usd_to_pico("50"), thresholds) == "ok"
    assert budget.status_for(usd_to_pico("25"), usd_to_pico("50"), thresholds) == "warning"
    assert budget.status_for(usd_to_pico("45"), usd_to_pico("50"), thresholds) == "exceeded"
    assert budget.Thresholds(70, 95).warning == Decimal(70)


@pytest.mark.parametrize(
    ("warning", "critical", "message"),
    [(0, 100, "warning threshold must be in"), (80, 101, "critical threshold must be in"),
     (90, 80, "must be below critical"), (Decimal("NaN"), 100, "warning threshold")],
)
def test_bad_thresholds(warning, critical, message):
    with pytest.raises(ConfigError, match=message):
        budget.Thresholds(Decimal(warning) if isinstance(warning, int) else warning, Decimal(critical))


@pytest.mark.parametrize(
    ("daily", "monthly", "message"),
    [("0", "10", "daily budget must be > 0"), ("-5", "10", "daily budget must be > 0"),
     ("10", "0", "monthly budget must be > 0"), ("100", "50", "must be >= daily budget")],
)
def test_bad_budgets(daily, monthly, message):
    with pytest.raises(ConfigError, match=message):
        budget.Budgets.from_usd(daily, monthly)


def test_negative_spend_is_rejected():
    with pytest.raises(ConfigError, match="cannot be negative"):
        budget.evaluate(-1, 0, BUDGETS)


def test_month_is_the_calendar_month_not_thirty_days():
    now = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    month = periods.month_period(now)
    assert month.start == datetime(2026, 3, 1, tzinfo=UTC)
    assert month.end == datetime(2026, 4, 1, tzinfo=UTC)
    feb = periods.month_period(datetime(2028, 2, 10, tzinfo=UTC))
    assert (feb.end - feb.start).days == 29
    dec = periods.month_period(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert dec.end == datetime(2027, 1, 1, tzinfo=UTC)


def test_periods_follow_the_configured_time_zone():
    # 23:30 UTC on March 31 is already April 1 in Berlin (UTC+2 in summer time).
    now = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    day = periods.day_period(now, "Europe/Berlin")
    assert day.start == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    assert day.contains(now)
    month = periods.month_period(now, "Europe/Berlin")
    assert month.start == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    # In New York it is still March 31.
    ny = periods.month_period(now, "America/New_York")
    assert ny.start == datetime(2026, 3, 1, 5, 0, tzinfo=UTC)


def test_dst_day_is_23_hours_long():
    day = periods.day_period(datetime(2026, 3, 29, 12, tzinfo=UTC), "Europe/Berlin")
    assert (day.end - day.start).total_seconds() == 23 * 3600


def test_bad_zone_and_naive_datetime_and_period_name():
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        periods.parse_zone("Mars/Olympus")
    with pytest.raises(ConfigError, match="timezone-aware"):
        periods.day_period(datetime(2026, 1, 1))
    with pytest.raises(ConfigError, match="one of day, month"):
        periods.period("week", datetime(2026, 1, 1, tzinfo=UTC))
