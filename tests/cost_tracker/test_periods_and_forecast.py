"""Calendar periods in the configured zone, month boundaries, DST, GPU hours and the forecast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cost_tracker import env_names as env
from cost_tracker.config import load_tracker_config
from cost_tracker.figures import SECONDS_PER_DAY, calendar_periods, forecast_month_pico, run_timestamp
from cost_tracker.gpu import GpuPrice, host_hours_cost_pico, hosted_seconds
from cost_tracker.run import run_once
from llm_shared.money import usd_to_pico
from llm_shared.pricing import cost_for
from standins.gateway_usage import gateway_standin

from .conftest import GATEWAY_TOKEN, SMALL, add_usage, make_deps, make_env

HOURLY = GpuPrice(usd_to_pico("1.10"), "config")


def test_forecast_doubles_at_exactly_half_of_february():
    now = datetime(2026, 2, 15, tzinfo=ZoneInfo("Europe/Berlin"))  # 14 of 28 local days gone
    _, month = calendar_periods(now, ZoneInfo("Europe/Berlin"))
    assert forecast_month_pico(month=month, now=now, token_spent_pico=7_000_003, gpu_spent_pico=0,
                               gpu_price=None) == 14_000_006


@pytest.mark.parametrize(("zone", "year", "month", "hours"), [
    ("Europe/Berlin", 2026, 3, 743),     # clocks go forward: one hour short
    ("America/New_York", 2026, 11, 721),  # clocks go back: one hour long
    ("UTC", 2028, 2, 29 * 24),            # leap February
])
def test_the_forecast_counts_real_seconds_in_the_local_month(zone, year, month, hours):
    tz = ZoneInfo(zone)
    _, period = calendar_periods(datetime(year, month, 10, tzinfo=tz), tz)
    assert period.end - period.start == timedelta(hours=hours)
    halfway = period.start + (period.end - period.start) / 2
    assert forecast_month_pico(month=period, now=halfway, token_spent_pico=123_456_789, gpu_spent_pico=0,
                               gpu_price=None) == 2 * 123_456_789


def test_forecast_in_the_first_hour_of_a_month_uses_at_least_one_day_of_history():
    now = datetime(2026, 4, 1, 0, 30, tzinfo=UTC)
    _, month = calendar_periods(now, UTC)
    spent = usd_to_pico("3")
    left = int((month.end - now).total_seconds())
    forecast = forecast_month_pico(month=month, now=now, token_spent_pico=spent, gpu_spent_pico=0,
                                   gpu_price=None)
    assert forecast == spent + spent * left // SECONDS_PER_DAY  # not x48 per day from 30 minutes
    assert forecast < usd_to_pico("93")


def test_forecast_on_the_last_second_of_the_month_is_the_spend():
    now = datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)
    _, month = calendar_periods(now, UTC)
    spent = usd_to_pico("812.5")
    forecast = forecast_month_pico(month=month, now=now, token_spent_pico=spent, gpu_spent_pico=0,
                                   gpu_price=None)
    assert spent <= forecast <= spent + spent // 2_000_000


def test_forecast_adds_the_gpu_host_at_its_hourly_price_for_the_hours_left():
    now = datetime(2026, 6, 30, 12, tzinfo=UTC)  # 12 hours left in June
    _, month = calendar_periods(now, UTC)
    forecast = forecast_month_pico(month=month, now=now, token_spent_pico=0,
                                   gpu_spent_pico=usd_to_pico("500"), gpu_price=HOURLY)
    assert forecast == usd_to_pico("500") + usd_to_pico("1.10") * 12


def test_a_host_starting_later_this_month_is_forecast_from_its_start():
    now = datetime(2026, 6, 30, 12, tzinfo=UTC)
    _, month = calendar_periods(now, UTC)
    later = datetime(2026, 6, 30, 20, tzinfo=UTC)  # 4 hours of June left once it starts
    forecast = forecast_month_pico(month=month, now=now, token_spent_pico=0, gpu_spent_pico=0,
                                   gpu_price=HOURLY, gpu_started_at=later)
    assert forecast == usd_to_pico("1.10") * 4


def test_gpu_hours_follow_a_23_hour_dst_day_in_berlin():
    zone = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 3, 29, 23, 59, 59, tzinfo=zone)  # clocks went forward at 02:00
    day, _ = calendar_periods(now, zone)
    assert day.end - day.start == timedelta(hours=23)
    seconds = hosted_seconds(day, None, now)
    assert seconds == 23 * 3600 - 1
    assert host_hours_cost_pico(HOURLY, seconds) == usd_to_pico("1.10") * seconds // 3600


def test_gpu_hours_start_at_the_host_start_and_stop_at_now():
    now = datetime(2026, 3, 16, 12, tzinfo=UTC)
    day, month = calendar_periods(now, UTC)
    started = datetime(2026, 3, 16, 9, 15, tzinfo=UTC)
    assert hosted_seconds(day, started, now) == 2 * 3600 + 45 * 60
    assert hosted_seconds(month, started, now) == 2 * 3600 + 45 * 60
    assert hosted_seconds(day, now + timedelta(hours=1), now) == 0  # not started yet
    assert hosted_seconds(month, None, now) == 15 * 86400 + 12 * 3600


@pytest.mark.parametrize(("now", "period", "expected"), [
    (datetime(2026, 3, 16, 12, 59, 59, tzinfo=UTC), 3600, datetime(2026, 3, 16, 12, tzinfo=UTC)),
    (datetime(2026, 3, 16, 12, 44, tzinfo=UTC), 900, datetime(2026, 3, 16, 12, 30, tzinfo=UTC)),
    # A zone with a half-hour offset still gets UTC-aligned periods, as CloudWatch aligns them.
    (datetime(2026, 3, 16, 18, 20, tzinfo=ZoneInfo("Asia/Kolkata")), 3600, datetime(2026, 3, 16, 12,
                                                                                   tzinfo=UTC)),
])
def test_the_metric_timestamp_is_the_start_of_the_alarm_period(now, period, expected):
    assert run_timestamp(now, period) == expected


def test_a_new_york_evening_still_belongs_to_march(aws, ledger):
    zone = "America/New_York"
    now = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)  # 22:00 on 31 March in New York
    in_day = add_usage(ledger, datetime(2026, 4, 1, 1, 0, tzinfo=UTC), SMALL)  # 21:00 local, 31 March
    in_day += add_usage(ledger, datetime(2026, 3, 31, 5, 0, tzinfo=UTC), SMALL)  # 01:00 local
    add_usage(ledger, datetime(2026, 3, 31, 3, 59, tzinfo=UTC), SMALL, prompt=5000)  # 30 March local
    first_local = add_usage(ledger, datetime(2026, 3, 1, 5, 30, tzinfo=UTC), SMALL, prompt=7000)
    add_usage(ledger, datetime(2026, 3, 1, 4, 30, tzinfo=UTC), SMALL, prompt=9000)  # 28 Feb local
    add_usage(ledger, datetime(2026, 4, 1, 4, 0, tzinfo=UTC), SMALL, prompt=3000)  # 1 April local
    with gateway_standin(ledger, GATEWAY_TOKEN, lambda: now, time_zone=zone) as gateway:
        environ = make_env(aws, gateway.url, **{env.TIME_ZONE: zone})
        result = run_once(load_tracker_config(environ), make_deps(aws), now=now)
    figures = result.figures
    assert figures.day.start == datetime(2026, 3, 31, 4, tzinfo=UTC)
    assert figures.month.end == datetime(2026, 4, 1, 4, tzinfo=UTC)
    assert figures.daily_pico == in_day
    expected_month = in_day + first_local + cost_for(SMALL, 5000, 500)
    assert figures.monthly_pico == expected_month
    assert figures.seconds_left_in_month == 2 * 3600



class FakeClock:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self, now: datetime) -> None:
        self.now, self.slept = now, []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += timedelta(seconds=seconds)


@pytest.mark.parametrize(("local", "slept", "day"), [
    (datetime(2026, 3, 31, 23, 59, 55), [7.0], datetime(2026, 4, 1)),        # waits for the new day
    (datetime(2026, 4, 1, 0, 0, 0, 500_000), [1.5], datetime(2026, 4, 1)),   # a gateway clock behind
    (datetime(2026, 3, 31, 23, 59, 40), [], datetime(2026, 3, 31)),           # far enough: no wait
])
def test_a_run_near_local_midnight_waits_until_both_clocks_agree(aws, ledger, local, slept, day):
    zone = ZoneInfo("Europe/Berlin")
    clock = FakeClock(local.replace(tzinfo=zone).astimezone(UTC))
    add_usage(ledger, datetime(2026, 3, 31, 12, tzinfo=zone), SMALL)
    with gateway_standin(ledger, GATEWAY_TOKEN, clock, time_zone="Europe/Berlin") as gateway:
        deps = make_deps(aws)
        deps.clock, deps.sleep = clock, clock.sleep
        config = load_tracker_config(make_env(aws, gateway.url, **{env.TIME_ZONE: "Europe/Berlin"}))
        result = run_once(config, deps)
    assert clock.slept == slept
    assert result.figures.day.start == day.replace(tzinfo=zone).astimezone(UTC)
