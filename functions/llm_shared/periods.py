"""Calendar periods in the configured time zone: "monthly" means this month, not 30 days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError

PERIODS = ("day", "month")


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open interval [start, end) in UTC, labelled in the configured zone."""

    name: str
    start: datetime
    end: datetime

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def parse_zone(name: str) -> ZoneInfo:
    """A ZoneInfo, or ConfigError naming the bad zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"time zone {name!r} is not a known IANA zone (e.g. UTC, Europe/Berlin)") from exc


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ConfigError("now must be timezone-aware")
    return now


def day_period(now: datetime, zone: ZoneInfo | str = "UTC") -> Period:
    """The calendar day containing `now` in `zone`, as UTC bounds (DST-safe)."""
    tz = parse_zone(zone) if isinstance(zone, str) else zone
    local = _aware(now).astimezone(tz)
    start_local = datetime.combine(local.date(), datetime.min.time(), tzinfo=tz)
    end_local = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return Period("day", start_local.astimezone(UTC), end_local.astimezone(UTC))


def month_period(now: datetime, zone: ZoneInfo | str = "UTC") -> Period:
    """The calendar month containing `now` in `zone`, as UTC bounds."""
    tz = parse_zone(zone) if isinstance(zone, str) else zone
    local = _aware(now).astimezone(tz)
    first = date(local.year, local.month, 1)
    nxt = date(local.year + (local.month == 12), local.month % 12 + 1, 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(nxt, datetime.min.time(), tzinfo=tz).astimezone(UTC)
    return Period("month", start, end)


def period(name: str, now: datetime, zone: ZoneInfo | str = "UTC") -> Period:
    """Look up a period by name ('day' or 'month')."""
    if name == "day":
        return day_period(now, zone)
    if name == "month":
        return month_period(now, zone)
    raise ConfigError(f"period {name!r} is not one of {', '.join(PERIODS)}")
