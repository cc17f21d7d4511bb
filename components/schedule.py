"""EventBridge schedule expressions: validated once, and turned into the metric push interval.

The alarms' period must equal the tracker's push interval (one cost-to-date datapoint per
period), so the interval is derived from the same `rate(...)` expression the rule uses.
"""

from __future__ import annotations

import re

DEFAULT_SCHEDULE = "rate(1 hour)"
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\(([^()]+)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
ALLOWED = (
    "rate(N unit) with unit minute|hour|day (singular when N is 1, plural otherwise), "
    "or cron(minutes hours day-of-month month day-of-week year)"
)


def rate_interval_seconds(expression: str) -> int | None:
    """Seconds between runs for a rate(...) expression; None for a valid cron(...).

    Raises ValueError with the reason for anything EventBridge would reject.
    """
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise ValueError("the rate value must be at least 1")
        singular = unit.rstrip("s")
        if (value == 1) != (unit == singular):
            raise ValueError(f"use '{singular}' when the value is 1 and '{singular}s' otherwise")
        return value * _UNIT_SECONDS[singular]
    cron = _CRON.match(expression)
    if cron:
        fields = cron.group(1).split()
        if len(fields) != 6:
            raise ValueError(f"cron(...) needs 6 fields, got {len(fields)}")
        if "?" not in (fields[2], fields[4]):
            raise ValueError("cron(...) needs '?' in either day-of-month or day-of-week")
        return None
    raise ValueError("not a rate(...) or cron(...) expression")
