"""Evaluate CloudWatch metric alarms ourselves: moto stores alarms but never evaluates them.

`decide` is the pure rule (M of N datapoints breaching, with the alarm's missing-data treatment);
`evaluate_alarm` fetches the alarm's own metric with its own statistic, period and exact
dimensions from a CloudWatch endpoint and applies the rule.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

ALARM, OK, INSUFFICIENT = "ALARM", "OK", "INSUFFICIENT_DATA"

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


@dataclass(frozen=True, slots=True)
class Verdict:
    alarm: str
    state: str
    latest: float | None
    threshold: float
    reason: str


def decide(values: Sequence[float | None], *, threshold: float, comparison: str, evaluation_periods: int,
           datapoints_to_alarm: int | None, treat_missing: str) -> tuple[str, str]:
    """State for the last `evaluation_periods` periods (oldest first; None = no datapoint)."""
    compare = OPERATORS[comparison]
    window: list[float | None] = list(values)[-evaluation_periods:]
    missing: list[float | None] = [None] * (evaluation_periods - len(window))
    window = missing + window
    needed = datapoints_to_alarm or evaluation_periods
    if treat_missing == "ignore":
        window = [v for v in window if v is not None]
        if not window:
            return INSUFFICIENT, "no data (missing data ignored)"
    breaching = 0
    for value in window:
        if value is None:
            breaching += treat_missing == "breaching"
        else:
            breaching += compare(value, threshold)
    if all(v is None for v in window) and treat_missing == "missing":
        return INSUFFICIENT, "no data"
    if breaching >= min(needed, len(window)) and breaching > 0:
        return ALARM, f"{breaching} of {len(window)} datapoints breach {comparison} {threshold}"
    return OK, f"{breaching} of {len(window)} datapoints breach {comparison} {threshold}"


def evaluate_alarm(cloudwatch: Any, alarm: dict[str, Any], now: datetime) -> Verdict:
    """Fetch the alarm's metric as the alarm would see it and decide its state."""
    period = int(alarm["Period"])
    periods = int(alarm["EvaluationPeriods"])
    # CloudWatch aligns periods to the clock: the window ends with the period `now` falls in.
    epoch = int(now.timestamp())
    end = datetime.fromtimestamp(epoch - epoch % period + period, now.tzinfo)
    start = end - timedelta(seconds=period * periods)
    stat = alarm["Statistic"]
    points = cloudwatch.get_metric_statistics(
        Namespace=alarm["Namespace"], MetricName=alarm["MetricName"],
        Dimensions=alarm.get("Dimensions", []), StartTime=start, EndTime=end, Period=period,
        Statistics=[stat],
    )["Datapoints"]
    # moto matches a superset of dimensions; keep exactly the alarm's set by re-querying is not
    # possible, so callers push headline metrics with exactly one dimension set (tests check that).
    buckets: list[float | None] = []
    for index in range(periods):
        lo = start + timedelta(seconds=period * index)
        hi = lo + timedelta(seconds=period)
        inside = [p[stat] for p in points if lo <= p["Timestamp"].replace(tzinfo=lo.tzinfo) < hi]
        buckets.append(max(inside) if inside else None)
    state, reason = decide(
        buckets, threshold=float(alarm["Threshold"]), comparison=alarm["ComparisonOperator"],
        evaluation_periods=periods, datapoints_to_alarm=alarm.get("DatapointsToAlarm"),
        treat_missing=alarm.get("TreatMissingData", "missing"),
    )
    latest = next((v for v in reversed(buckets) if v is not None), None)
    return Verdict(alarm["AlarmName"], state, latest, float(alarm["Threshold"]), reason)
