"""One tracker run, shared by the Lambda handler and the local CLI.

Order matters for the failure rules: every read (secrets, both summaries, GPU price) and every
calculation happens before the first PutMetricData, so any failure raises with nothing pushed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from llm_shared.money import pico_to_usd
from llm_shared.periods import Period
from llm_shared.redaction import redact
from llm_shared.usage_schema import UsageSummary

from .cloudwatch_push import build_metric_data, push
from .config import TrackerConfig
from .figures import Figures, calendar_periods, compute_figures, run_timestamp
from .gateway_deps import GatewayDeps, default_session
from .gpu import DEFAULT_TIMEOUT as GPU_TIMEOUT
from .gpu import resolve_price
from .secrets import SecretCache, aws_client
from .usage import DEFAULT_TIMEOUT, UsageReadError, fetch_summary

log = logging.getLogger("cost_tracker")
MIDNIGHT_GUARD_BEFORE_S = 10.0  # a run this close before local midnight waits for the new day
MIDNIGHT_GUARD_AFTER_S = 2.0    # ... and starts this long after it (gateway clock skew)


class InconsistentUsageError(UsageReadError):
    """The day's spend exceeds the month's: the two reads disagree, so neither can be trusted."""


@dataclass
class Deps(GatewayDeps):
    """What a run talks to; the handler keeps one per warm container, tests build their own."""

    cloudwatch_factory: Callable[[], Any]
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    @cached_property
    def cloudwatch(self) -> Any:
        return self.cloudwatch_factory()


def default_cloudwatch() -> Any:
    return aws_client("cloudwatch")


def default_deps() -> Deps:
    return Deps(SecretCache(), default_session, default_cloudwatch)


@dataclass(frozen=True, slots=True)
class RunResult:
    figures: Figures
    day: UsageSummary
    month: UsageSummary
    report: dict[str, Any]


def _usd(pico: int) -> str:
    return str(pico_to_usd(pico))


def _read_usage(settings: TrackerConfig, deps: Deps, day_period: Period,
                month_period: Period) -> tuple[UsageSummary, UsageSummary]:
    def read(token: str) -> tuple[UsageSummary, UsageSummary]:
        return (fetch_summary(deps.session, settings.gateway_url, token, day_period, timeout=deps.timeout),
                fetch_summary(deps.session, settings.gateway_url, token, month_period, timeout=deps.timeout))

    day, month = deps.with_token(settings.gateway_token_secret, read)
    if day.total_cost_pico > month.total_cost_pico:
        raise InconsistentUsageError(
            f"usage summaries disagree: the day's cost {day.total_cost_pico} pUSD exceeds the month's "
            f"{month.total_cost_pico} pUSD")
    return day, month


def build_report(settings: TrackerConfig, figures: Figures, *, metric_timestamp: datetime,
                 datums: int, calls: list[int], pushed: bool) -> dict[str, Any]:
    """The figures as one JSON-ready dict: logged, returned by the handler, printed by the CLI."""
    price = figures.gpu_price
    day, month = figures.statuses["day"], figures.statuses["month"]
    return {
        "event": "cost_tracker.run",
        "stack": settings.stack,
        "namespace": settings.namespace,
        "time_zone": settings.time_zone,
        "run_at": figures.now.isoformat(),
        "metric_timestamp": metric_timestamp.isoformat(),
        "status": figures.worst_status,
        "day": {"start": figures.day.start.isoformat(), "end": figures.day.end.isoformat(), **day.as_dict()},
        "month": {"start": figures.month.start.isoformat(), "end": figures.month.end.isoformat(),
                  **month.as_dict()},
        "forecast": {"monthly_usd": _usd(figures.forecast_pico), "status": figures.forecast_status,
                     "days_left": round(figures.seconds_left_in_month / 86_400, 4)},
        "serverless": {"day_usd": _usd(figures.serverless_day_pico),
                       "month_usd": _usd(figures.serverless_month_pico)},
        "gpu": {
            "instance_type": settings.gpu_instance_type,
            "hourly_usd": _usd(price.pico_per_hour) if price else None,
            "price_source": price.source if price else None,
            "day_usd": _usd(figures.gpu_day_pico),
            "month_usd": _usd(figures.gpu_month_pico),
            "token_value_day_usd": _usd(figures.gpu_token_value_day_pico),
        },
        "requests_day": sum(b.requests for b in figures.backends),
        "tokens_day": sum(b.tokens for b in figures.backends),
        "models_day": len(figures.models),
        "keys_day": {key.key_name: _usd(key.cost_pico) for key in figures.keys},
        "metrics": {"datums": datums, "calls": len(calls), "datums_per_call": calls, "pushed": pushed},
    }


def clear_of_midnight(deps: Deps, zone: Any) -> datetime:
    """The clock's now, first waiting out the seconds around a local midnight.

    The gateway works out the day and month from its own clock when the request arrives; a run
    that straddles midnight (or a gateway clock a little behind) would ask for one day and be
    served another, and fail on the bounds check. Waiting at most ~12 s avoids that.
    """
    now = deps.clock().astimezone(UTC)
    today = calendar_periods(now, zone)[0]
    day_start, next_start = today.start, today.end
    if (next_start - now).total_seconds() < MIDNIGHT_GUARD_BEFORE_S:
        deps.sleep((next_start - now).total_seconds() + MIDNIGHT_GUARD_AFTER_S)
    elif (now - day_start).total_seconds() < MIDNIGHT_GUARD_AFTER_S:
        deps.sleep(MIDNIGHT_GUARD_AFTER_S - (now - day_start).total_seconds())
    else:
        return now
    return deps.clock().astimezone(UTC)


def run_once(settings: TrackerConfig, deps: Deps, *, now: datetime | None = None,
             dry_run: bool = False) -> RunResult:
    """Read, compute, push (unless dry_run), log one JSON line; raise on any failure.

    `now` pins the run's clock (tests, backfills); without it the deps' clock is read, clear of
    a local midnight.
    """
    now = now.astimezone(UTC) if now is not None else clear_of_midnight(deps, settings.zone)
    day_period, month_period = calendar_periods(now, settings.zone)
    day, month = _read_usage(settings, deps, day_period, month_period)
    api_key = deps.secrets.get(settings.lambda_api_key_secret) if (
        settings.lambda_api_key_secret and settings.gpu_configured) else None
    gpu_timeout = (min(deps.timeout[0], GPU_TIMEOUT[0]), min(deps.timeout[1], GPU_TIMEOUT[1]))
    price = resolve_price(instance_type=settings.gpu_instance_type, configured_pico=settings.gpu_hourly_pico,
                          api_key=api_key, api_url=settings.lambda_api_url, session=deps.session,
                          timeout=gpu_timeout)
    figures = compute_figures(now=now, day=day, month=month, day_period=day_period,
                              month_period=month_period, gpu_price=price,
                              gpu_started_at=settings.gpu_started_at, budgets=settings.budgets,
                              thresholds=settings.thresholds)
    stamp = run_timestamp(now, settings.metric_period_seconds)
    data = build_metric_data(figures, settings.stack, stamp)
    calls = [] if dry_run else push(deps.cloudwatch, settings.namespace, data)
    report = build_report(settings, figures, metric_timestamp=stamp, datums=len(data), calls=calls,
                          pushed=not dry_run)
    log_line(report, deps.secrets)
    return RunResult(figures, day, month, report)


def log_line(record: dict[str, Any], secrets: SecretCache) -> None:
    """One structured log record: Lambda's JSON log format writes `event` and `report` as fields of
    the line (queryable in Logs Insights as report.day.spent_usd); secret values are redacted even
    if one slipped into a field."""
    report = json.loads(redact(json.dumps(record, sort_keys=True, default=str), *secrets.values()))
    event = report.pop("event", "cost_tracker.run")
    log.info("cost tracker run", extra={"event": event, "report": report})
