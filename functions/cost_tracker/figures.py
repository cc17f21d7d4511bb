"""From two validated usage summaries and the GPU price to the figures one run reports.

True spend = serverless token cost + GPU host hours. Rows the gateway served on the GPU backend
carry the catalog price of their tokens, but that money is not spent (the host is paid by the
hour), so their cost is reported as `gpu_token_value` and never added to the totals.

Forecast = month-to-date spend + (month-to-date token spend per second, over at least one day)
x seconds left in the calendar month + the GPU host's hourly price x the same seconds left. The
one-day floor keeps a burst in the first hours of the month from projecting a 700x month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from llm_shared.budget import Budgets, PeriodStatus, Thresholds, evaluate, status_for, worst_status
from llm_shared.periods import Period, day_period, month_period
from llm_shared.routing import GPU, SERVERLESS
from llm_shared.usage_schema import UsageSummary

from .gpu import SECONDS_PER_HOUR, GpuPrice, host_hours_cost_pico, hosted_seconds

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class ModelFigures:
    model: str
    serverless_cost_pico: int
    gpu_token_value_pico: int
    requests: int
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class BackendFigures:
    backend: str
    cost_pico: int  # serverless: token cost; gpu: host hours
    requests: int
    tokens: int


@dataclass(frozen=True, slots=True)
class KeyFigures:
    key_name: str
    cost_pico: int  # catalog prices on both backends: what the key's budget counts
    requests: int


@dataclass(frozen=True, slots=True)
class Figures:
    now: datetime
    day: Period
    month: Period
    daily_pico: int
    monthly_pico: int
    forecast_pico: int
    serverless_day_pico: int
    serverless_month_pico: int
    gpu_day_pico: int
    gpu_month_pico: int
    gpu_token_value_day_pico: int
    seconds_left_in_month: int
    statuses: dict[str, PeriodStatus]
    forecast_status: str
    models: tuple[ModelFigures, ...]
    backends: tuple[BackendFigures, ...]
    gpu_price: GpuPrice | None
    keys: tuple[KeyFigures, ...] = ()

    @property
    def worst_status(self) -> str:
        return worst_status(self.statuses)


def calendar_periods(now: datetime, zone: tzinfo) -> tuple[Period, Period]:
    """Today and this month in the configured zone, as UTC half-open bounds."""
    return day_period(now, zone), month_period(now, zone)  # type: ignore[arg-type]  # UTC tzinfo is fine


def serverless_cost(summary: UsageSummary) -> int:
    return sum(row.cost_pico for row in summary.rows if row.backend == SERVERLESS)


def forecast_month_pico(*, month: Period, now: datetime, token_spent_pico: int, gpu_spent_pico: int,
                        gpu_price: GpuPrice | None, gpu_started_at: datetime | None = None) -> int:
    """Month-end projection in exact picodollars (see the module docstring for the rule)."""
    elapsed = max(int((now - month.start).total_seconds()), 0)
    left = max(int((month.end - now).total_seconds()), 0)
    tokens = token_spent_pico + token_spent_pico * left // max(elapsed, SECONDS_PER_DAY)
    gpu_from = now if gpu_started_at is None else max(now, gpu_started_at)
    gpu_left = max(int((month.end - gpu_from).total_seconds()), 0)
    gpu = gpu_spent_pico + (gpu_price.pico_per_hour * gpu_left // SECONDS_PER_HOUR if gpu_price else 0)
    return tokens + gpu


def _models(day: UsageSummary) -> tuple[ModelFigures, ...]:
    acc: dict[str, list[int]] = {}
    for row in day.rows:
        slot = acc.setdefault(row.model, [0, 0, 0, 0, 0])
        slot[0 if row.backend == SERVERLESS else 1] += row.cost_pico
        slot[2] += row.requests
        slot[3] += row.prompt_tokens
        slot[4] += row.completion_tokens
    return tuple(ModelFigures(model, *values) for model, values in sorted(acc.items()))


def _backends(day: UsageSummary, gpu_day_pico: int) -> tuple[BackendFigures, ...]:
    out = []
    for backend in (SERVERLESS, GPU):
        rows = [r for r in day.rows if r.backend == backend]
        cost = sum(r.cost_pico for r in rows) if backend == SERVERLESS else gpu_day_pico
        out.append(BackendFigures(backend, cost, sum(r.requests for r in rows),
                                  sum(r.prompt_tokens + r.completion_tokens for r in rows)))
    return tuple(out)


def _keys(day: UsageSummary) -> tuple[KeyFigures, ...]:
    """The day per named key; rows from before key names (key_name null) stay in the totals only."""
    acc: dict[str, list[int]] = {}
    for row in day.keys:
        if row.key_name is not None:
            slot = acc.setdefault(row.key_name, [0, 0])
            slot[0] += row.cost_pico
            slot[1] += row.requests
    return tuple(KeyFigures(name, *values) for name, values in sorted(acc.items()))


def compute_figures(*, now: datetime, day: UsageSummary, month: UsageSummary, day_period: Period,
                    month_period: Period, gpu_price: GpuPrice | None, gpu_started_at: datetime | None,
                    budgets: Budgets, thresholds: Thresholds) -> Figures:
    """Every figure of one run, exactly, in picodollars."""
    serverless_day, serverless_month = serverless_cost(day), serverless_cost(month)
    gpu_day = host_hours_cost_pico(gpu_price, hosted_seconds(day_period, gpu_started_at, now))
    gpu_month = host_hours_cost_pico(gpu_price, hosted_seconds(month_period, gpu_started_at, now))
    daily, monthly = serverless_day + gpu_day, serverless_month + gpu_month
    forecast = forecast_month_pico(month=month_period, now=now, token_spent_pico=serverless_month,
                                   gpu_spent_pico=gpu_month, gpu_price=gpu_price,
                                   gpu_started_at=gpu_started_at)
    return Figures(
        now=now, day=day_period, month=month_period,
        daily_pico=daily, monthly_pico=monthly, forecast_pico=forecast,
        serverless_day_pico=serverless_day, serverless_month_pico=serverless_month,
        gpu_day_pico=gpu_day, gpu_month_pico=gpu_month,
        gpu_token_value_day_pico=sum(r.cost_pico for r in day.rows if r.backend == GPU),
        seconds_left_in_month=max(int((month_period.end - now).total_seconds()), 0),
        statuses=evaluate(daily, monthly, budgets, thresholds),
        forecast_status=status_for(forecast, budgets.monthly_pico, thresholds),
        models=_models(day), backends=_backends(day, gpu_day), gpu_price=gpu_price, keys=_keys(day),
    )


def run_timestamp(now: datetime, period_seconds: int = SECONDS_PER_HOUR) -> datetime:
    """Start of the alarm period `now` falls in: every push of that period shares it, so a retried or
    duplicate run adds an equal sample to the same period and leaves its Maximum unchanged."""
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period_seconds, UTC)
