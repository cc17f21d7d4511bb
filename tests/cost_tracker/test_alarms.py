"""Would each alarm the program defines fire? moto stores metrics but never evaluates alarms, so
this test does: it queries the pushed metric with the alarm's statistic, period and exact
dimensions and applies the alarm's comparison over its evaluation periods.

The alarm table mirrors components/budget_alarms.py (thresholds from its own `threshold_usd`,
dimensions from its `alarm_dimensions`, the forecast's consecutive periods from its constant).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from components.budget_alarms import FORECAST_EVALUATION_PERIODS, alarm_dimensions, threshold_usd
from cost_tracker import env_names as env
from cost_tracker.config import load_tracker_config
from cost_tracker.run import run_once
from llm_shared import cloudwatch_contract as mc
from llm_shared.money import usd_to_pico
from standins.gateway_usage import gateway_standin

from .conftest import GATEWAY_TOKEN, NOW, SMALL, add_usage, make_deps, make_env

EARLIER_THIS_MONTH = datetime(2026, 3, 2, 9, 0, tzinfo=NOW.tzinfo)
PERIOD = 3600
GE, GT = operator.ge, operator.gt

# key: (metric, budget variable, percent variable or None for 100 %, comparison, evaluation periods)
ALARMS: dict[str, tuple[str, str, str | None, Callable[[float, float], bool], int]] = {
    "daily-cost-warning": (mc.DAILY_COST, env.DAILY_BUDGET_USD, env.WARNING_THRESHOLD_PERCENT, GE, 1),
    "daily-cost-critical": (mc.DAILY_COST, env.DAILY_BUDGET_USD, env.CRITICAL_THRESHOLD_PERCENT, GE, 1),
    "monthly-cost-warning": (mc.MONTHLY_COST, env.MONTHLY_BUDGET_USD, env.WARNING_THRESHOLD_PERCENT, GE, 1),
    "monthly-cost-critical": (mc.MONTHLY_COST, env.MONTHLY_BUDGET_USD, env.CRITICAL_THRESHOLD_PERCENT, GE, 1),
    "monthly-forecast": (mc.FORECAST_MONTHLY_COST, env.MONTHLY_BUDGET_USD, None, GT,
                         FORECAST_EVALUATION_PERIODS),
}


def firing(aws, environ, at: datetime) -> set[str]:
    """The alarms in ALARM state when the period ending after `at` has been evaluated."""
    fired = set()
    end = datetime.fromtimestamp((int(at.timestamp()) // PERIOD + 1) * PERIOD, at.tzinfo)
    dims = [{"Name": k, "Value": v} for k, v in alarm_dimensions(environ[env.STACK_NAME]).items()]
    assert dims == mc.stack_dimensions(environ[env.STACK_NAME])
    for key, (metric, budget, percent, compare, periods) in ALARMS.items():
        share = Decimal(environ[percent]) if percent else Decimal(100)
        limit = threshold_usd(Decimal(environ[budget]), share)
        points = aws.cloudwatch.get_metric_statistics(
            Namespace=environ[env.METRIC_NAMESPACE], MetricName=metric, Dimensions=dims,
            StartTime=end - timedelta(seconds=PERIOD * periods), EndTime=end, Period=PERIOD,
            Statistics=["Maximum"])["Datapoints"]
        if len(points) == periods and all(compare(p["Maximum"], limit) for p in points):
            fired.add(key)
    return fired


def push_hourly(aws, ledger, environ, hours: int) -> None:
    """One run per hour for the `hours` hours ending at NOW, as the schedule would."""
    clock = {"now": NOW}
    with gateway_standin(ledger, GATEWAY_TOKEN, lambda: clock["now"]) as gateway:
        environ[env.GATEWAY_URL] = gateway.url
        settings, deps = load_tracker_config(environ), make_deps(aws)
        for back in range(hours - 1, -1, -1):
            clock["now"] = NOW - timedelta(hours=back)
            run_once(settings, deps, now=clock["now"])


@pytest.mark.parametrize(("where", "percent", "expected"), [
    ("day", 79, set()),
    ("day", 80, {"daily-cost-warning"}),
    ("day", 100, {"daily-cost-warning", "daily-cost-critical"}),
    ("month", 79, {"monthly-forecast"}),  # 790 spent by mid-month projects about 1580
    ("month", 80, {"monthly-cost-warning", "monthly-forecast"}),
    ("month", 100, {"monthly-cost-warning", "monthly-cost-critical", "monthly-forecast"}),
    ("forecast", 79, set()),
    ("forecast", 80, set()),  # the forecast alarm is on the whole monthly budget
    ("forecast", 100, set()),  # ... and strictly above it: exactly on budget is not over
    ("forecast", 101, {"monthly-forecast"}),
])
def test_each_alarm_fires_exactly_at_its_threshold(aws, ledger, where, percent, expected):
    environ = make_env(aws, "http://127.0.0.1:1")
    if where == "day":  # today's spend = percent of the daily budget
        add_usage(ledger, NOW - timedelta(hours=3), SMALL, cost_pico=usd_to_pico("50") * percent // 100)
    elif where == "month":  # earlier this month: percent of the monthly budget, nothing today
        add_usage(ledger, EARLIER_THIS_MONTH, SMALL, cost_pico=usd_to_pico("1000") * percent // 100)
    else:  # half of March gone at NOW: half of (percent x monthly budget) projects exactly percent
        add_usage(ledger, EARLIER_THIS_MONTH, SMALL, cost_pico=usd_to_pico("500") * percent // 100)
    push_hourly(aws, ledger, environ, FORECAST_EVALUATION_PERIODS)
    assert firing(aws, environ, NOW) == expected


def test_the_forecast_alarm_needs_consecutive_breaching_pushes(aws, ledger):
    environ = make_env(aws, "http://127.0.0.1:1")
    add_usage(ledger, EARLIER_THIS_MONTH, SMALL, cost_pico=usd_to_pico("300"))  # projects ~600
    push_hourly(aws, ledger, environ, 1)
    add_usage(ledger, EARLIER_THIS_MONTH, SMALL, cost_pico=usd_to_pico("300"))  # now ~1200
    clock = {"now": NOW}
    with gateway_standin(ledger, GATEWAY_TOKEN, lambda: clock["now"]) as gateway:
        environ[env.GATEWAY_URL] = gateway.url
        settings, deps = load_tracker_config(environ), make_deps(aws)
        seen = []
        for hours in range(1, FORECAST_EVALUATION_PERIODS + 1):
            clock["now"] = NOW + timedelta(hours=hours)
            run_once(settings, deps, now=clock["now"])
            seen.append("monthly-forecast" in firing(aws, environ, clock["now"]))
    assert seen == [False] * (FORECAST_EVALUATION_PERIODS - 1) + [True]
