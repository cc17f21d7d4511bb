"""The usage-summary payload: what the gateway serves and the cost tracker reads.

Written down once here. The gateway builds it with `build_summary`; the tracker validates it
with `parse_summary`, which is strict: unknown shapes, negative or non-finite numbers, costs that
disagree with their USD string, or a period other than the one asked for all raise.
`JSON_SCHEMA` is the same contract as a JSON Schema document, for other consumers and tests.

Version 2 added `by_key`: the same window per client key name and backend (`key_name` null for
rows recorded before keys had names); its sums equal the totals. Every other field is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .client_keys import is_key_name
from .errors import LLMSharedError
from .money import pico_to_usd

SCHEMA_VERSION = 2  # a strict reader of another version refuses the payload


class UsageSummaryError(LLMSharedError, ValueError):
    """The usage payload is not what the contract says; the message says what is off."""


_COUNTS = ("requests", "errors", "prompt_tokens", "completion_tokens", "estimated_requests",
           "unique_users", "low_complexity_requests", "low_complexity_prompt_tokens",
           "low_complexity_completion_tokens")
_ROW_KEYS = {"model", "backend", *_COUNTS, "cost_pico", "cost_usd", "avg_latency_ms",
             "p95_latency_ms"}
_TOTAL_KEYS = {"requests", "errors", "prompt_tokens", "completion_tokens", "cost_pico", "cost_usd",
               "unique_users"}
_KEY_COUNTS = ("requests", "errors", "prompt_tokens", "completion_tokens")
_KEY_ROW_KEYS = {"key_name", "backend", *_KEY_COUNTS, "cost_pico", "cost_usd"}
_TOP_KEYS = {"schema_version", "period", "start", "end", "time_zone", "generated_at", "totals",
             "breakdown", "by_key"}

_NON_NEG_INT = {"type": "integer", "minimum": 0}
JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Gateway usage summary",
    "type": "object",
    "additionalProperties": False,
    "required": sorted(_TOP_KEYS),
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "period": {"enum": ["day", "month", "custom"]},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "time_zone": {"type": "string", "minLength": 1},
        "generated_at": {"type": "string", "format": "date-time"},
        "totals": {
            "type": "object",
            "additionalProperties": False,
            "required": sorted(_TOTAL_KEYS),
            "properties": {
                **{k: _NON_NEG_INT for k in _TOTAL_KEYS - {"cost_usd"}},
                "cost_usd": {"type": "string", "pattern": r"^\d+(\.\d+)?$"},
            },
        },
        "breakdown": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": sorted(_ROW_KEYS),
                "properties": {
                    "model": {"type": "string", "minLength": 1},
                    "backend": {"enum": ["serverless", "gpu"]},
                    **{k: _NON_NEG_INT for k in (*_COUNTS, "cost_pico")},
                    "cost_usd": {"type": "string", "pattern": r"^\d+(\.\d+)?$"},
                    "avg_latency_ms": {"type": "number", "minimum": 0},
                    "p95_latency_ms": {"type": "number", "minimum": 0},
                },
            },
        },
        "by_key": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": sorted(_KEY_ROW_KEYS),
                "properties": {
                    "key_name": {"type": ["string", "null"], "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
                    "backend": {"enum": ["serverless", "gpu"]},
                    **{k: _NON_NEG_INT for k in (*_KEY_COUNTS, "cost_pico")},
                    "cost_usd": {"type": "string", "pattern": r"^\d+(\.\d+)?$"},
                },
            },
        },
    },
}


@dataclass(frozen=True, slots=True)
class UsageRow:
    model: str
    backend: str
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    estimated_requests: int
    unique_users: int
    low_complexity_requests: int
    low_complexity_prompt_tokens: int
    low_complexity_completion_tokens: int
    cost_pico: int
    avg_latency_ms: float
    p95_latency_ms: float


@dataclass(frozen=True, slots=True)
class KeyUsageRow:
    """One client key's requests on one backend; key_name None for rows from before key names."""

    key_name: str | None
    backend: str
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cost_pico: int


@dataclass(frozen=True, slots=True)
class UsageSummary:
    period: str
    start: datetime
    end: datetime
    time_zone: str
    generated_at: datetime
    rows: tuple[UsageRow, ...]
    total_cost_pico: int
    total_requests: int
    total_prompt_tokens: int
    total_completion_tokens: int
    unique_users_total: int = 0  # distinct users over the whole window (not a sum of the rows)
    keys: tuple[KeyUsageRow, ...] = ()  # the same window per client key and backend (by_key)


def usd_string(pico: int) -> str:
    """Canonical USD text for a picodollar amount (no exponent, no trailing zeros)."""
    text = format(pico_to_usd(pico), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def build_summary(*, period: str, start: datetime, end: datetime, time_zone: str,
                  generated_at: datetime, rows: list[dict[str, Any]],
                  unique_users_total: int, key_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Assemble the payload from ledger aggregate rows (dicts with the _ROW_KEYS minus cost_usd) and
    per-key rows (the _KEY_ROW_KEYS minus cost_usd)."""
    breakdown = []
    for row in rows:
        item = {key: row[key] for key in _ROW_KEYS - {"cost_usd"}}
        item["cost_usd"] = usd_string(int(row["cost_pico"]))
        breakdown.append(item)
    total_pico = sum(int(r["cost_pico"]) for r in rows)
    totals = {
        "requests": sum(int(r["requests"]) for r in rows),
        "errors": sum(int(r["errors"]) for r in rows),
        "prompt_tokens": sum(int(r["prompt_tokens"]) for r in rows),
        "completion_tokens": sum(int(r["completion_tokens"]) for r in rows),
        "cost_pico": total_pico,
        "cost_usd": usd_string(total_pico),
        "unique_users": unique_users_total,
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "period": period,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "time_zone": time_zone,
        "generated_at": generated_at.isoformat(),
        "totals": totals,
        "breakdown": breakdown,
        "by_key": [{**{key: row[key] for key in _KEY_ROW_KEYS - {"cost_usd"}},
                    "cost_usd": usd_string(int(row["cost_pico"]))} for row in key_rows],
    }


def _fail(path: str, problem: str) -> UsageSummaryError:
    return UsageSummaryError(f"usage summary {path}: {problem}")


def _object(value: Any, path: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, f"expected an object, got {type(value).__name__}")
    missing = sorted(keys - value.keys())
    if missing:
        raise _fail(path, f"missing {', '.join(missing)}")
    extra = sorted(value.keys() - keys)
    if extra:
        raise _fail(path, f"unexpected {', '.join(extra)}")
    return value


def _count(value: Any, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(path, f"expected an integer, got {value!r}")
    if value < 0:
        raise _fail(path, f"must not be negative, got {value}")
    return value


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, f"expected a number, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise _fail(path, f"must be finite, got {value!r}")
    if value < 0:
        raise _fail(path, f"must not be negative, got {value}")
    return float(value)


def _cost(obj: dict[str, Any], path: str) -> int:
    pico = _count(obj["cost_pico"], f"{path}.cost_pico")
    text = obj["cost_usd"]
    if not isinstance(text, str):
        raise _fail(f"{path}.cost_usd", f"expected a decimal string, got {text!r}")
    try:
        usd = Decimal(text)
    except ArithmeticError:
        raise _fail(f"{path}.cost_usd", f"not a number: {text!r}") from None
    if not usd.is_finite() or usd < 0:
        raise _fail(f"{path}.cost_usd", f"must be a finite amount >= 0, got {text!r}")
    if usd != pico_to_usd(pico):
        raise _fail(f"{path}.cost_usd", f"{text} disagrees with cost_pico {pico}")
    return pico


def _moment(value: Any, path: str) -> datetime:
    if not isinstance(value, str):
        raise _fail(path, f"expected an ISO 8601 timestamp, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(path, f"not an ISO 8601 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        raise _fail(path, f"timestamp has no UTC offset: {value!r}")
    return moment


def parse_summary(payload: Any, *, expect_period: str | None = None,
                  expect_start: datetime | None = None,
                  expect_end: datetime | None = None) -> UsageSummary:
    """Validate a payload strictly and return it typed; raise UsageSummaryError otherwise."""
    top = _object(payload, "", _TOP_KEYS)
    if top["schema_version"] != SCHEMA_VERSION:
        raise _fail("schema_version", f"expected {SCHEMA_VERSION}, got {top['schema_version']!r}")
    period = top["period"]
    if period not in ("day", "month", "custom"):
        raise _fail("period", f"expected day, month or custom, got {period!r}")
    if expect_period is not None and period != expect_period:
        raise _fail("period", f"asked for {expect_period!r}, got {period!r}")
    start, end = _moment(top["start"], "start"), _moment(top["end"], "end")
    if end <= start:
        raise _fail("end", f"{top['end']} is not after start {top['start']}")
    if expect_start is not None and start != expect_start:
        raise _fail("start", f"asked for {expect_start.isoformat()}, got {top['start']}")
    if expect_end is not None and end != expect_end:
        raise _fail("end", f"asked for {expect_end.isoformat()}, got {top['end']}")
    if not isinstance(top["time_zone"], str) or not top["time_zone"]:
        raise _fail("time_zone", "expected a zone name")
    generated_at = _moment(top["generated_at"], "generated_at")

    items = top["breakdown"]
    if not isinstance(items, list):
        raise _fail("breakdown", f"expected a list, got {type(items).__name__}")
    rows, seen = [], set()
    for index, raw in enumerate(items):
        path = f"breakdown[{index}]"
        item = _object(raw, path, _ROW_KEYS)
        model, backend = item["model"], item["backend"]
        if not isinstance(model, str) or not model:
            raise _fail(f"{path}.model", "expected a non-empty string")
        if backend not in ("serverless", "gpu"):
            raise _fail(f"{path}.backend", f"expected serverless or gpu, got {backend!r}")
        if (model, backend) in seen:
            raise _fail(path, f"duplicate row for {model}/{backend}")
        seen.add((model, backend))
        counts = {key: _count(item[key], f"{path}.{key}") for key in _COUNTS}
        for part in ("errors", "estimated_requests", "low_complexity_requests", "unique_users"):
            if counts[part] > counts["requests"]:
                raise _fail(f"{path}.{part}", f"{counts[part]} exceeds requests {counts['requests']}")
        rows.append(UsageRow(
            model=model, backend=backend, **counts, cost_pico=_cost(item, path),
            avg_latency_ms=_number(item["avg_latency_ms"], f"{path}.avg_latency_ms"),
            p95_latency_ms=_number(item["p95_latency_ms"], f"{path}.p95_latency_ms"),
        ))

    totals = _object(top["totals"], "totals", _TOTAL_KEYS)
    total_pico = _cost(totals, "totals")
    checks = {
        "requests": sum(r.requests for r in rows),
        "errors": sum(r.errors for r in rows),
        "prompt_tokens": sum(r.prompt_tokens for r in rows),
        "completion_tokens": sum(r.completion_tokens for r in rows),
        "cost_pico": sum(r.cost_pico for r in rows),
    }
    for key, expected in checks.items():
        if _count(totals[key], f"totals.{key}") != expected:
            raise _fail(f"totals.{key}", f"{totals[key]} disagrees with the breakdown sum {expected}")
    unique_users = _count(totals["unique_users"], "totals.unique_users")
    keys = _key_rows(top["by_key"], checks)
    return UsageSummary(
        period=period, start=start, end=end, time_zone=top["time_zone"],
        generated_at=generated_at, rows=tuple(rows), total_cost_pico=total_pico,
        total_requests=checks["requests"], total_prompt_tokens=checks["prompt_tokens"],
        total_completion_tokens=checks["completion_tokens"], unique_users_total=unique_users, keys=keys,
    )


def _key_rows(items: Any, totals: dict[str, int]) -> tuple[KeyUsageRow, ...]:
    """by_key validated: known names, one row per (key, backend), sums equal to the totals."""
    if not isinstance(items, list):
        raise _fail("by_key", f"expected a list, got {type(items).__name__}")
    rows, seen = [], set()
    for index, raw in enumerate(items):
        path = f"by_key[{index}]"
        item = _object(raw, path, _KEY_ROW_KEYS)
        name, backend = item["key_name"], item["backend"]
        if name is not None and not is_key_name(name):
            raise _fail(f"{path}.key_name", f"expected a key name or null, got {name!r}")
        if backend not in ("serverless", "gpu"):
            raise _fail(f"{path}.backend", f"expected serverless or gpu, got {backend!r}")
        if (name, backend) in seen:
            raise _fail(path, f"duplicate row for key {name!r} on {backend}")
        seen.add((name, backend))
        counts = {key: _count(item[key], f"{path}.{key}") for key in _KEY_COUNTS}
        if counts["errors"] > counts["requests"]:
            raise _fail(f"{path}.errors", f"{counts['errors']} exceeds requests {counts['requests']}")
        rows.append(KeyUsageRow(key_name=name, backend=backend, **counts, cost_pico=_cost(item, path)))
    for key in (*_KEY_COUNTS, "cost_pico"):
        total = sum(getattr(row, key) for row in rows)
        if total != totals[key]:
            raise _fail(f"by_key.{key}", f"the keys' sum {total} disagrees with the total {totals[key]}")
    return tuple(rows)
