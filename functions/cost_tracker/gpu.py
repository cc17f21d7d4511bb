"""Dedicated-GPU cost: hours the host has run in a period times its hourly price.

The token ledger only knows pay-per-token spend; the GPU host bills by the hour whether busy or
idle, so the true total is tokens + host hours. The price comes from the Lambda Cloud API's
instance types (`data[<type>].instance_type.price_cents_per_hour`) when an API key is configured,
else from GPU_HOURLY_USD. If the API fails and a configured price exists, that price is used and
the report says so; with neither, the run fails rather than under-report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from llm_shared.money import PICO_PER_USD
from llm_shared.periods import Period

INSTANCE_TYPES_PATH = "/instance-types"
PICO_PER_CENT = PICO_PER_USD // 100
SECONDS_PER_HOUR = 3600
DEFAULT_TIMEOUT = (3.05, 10.0)


class GpuPriceError(RuntimeError):
    """The hourly GPU price could not be determined; the message says why (never the API key)."""


@dataclass(frozen=True, slots=True)
class GpuPrice:
    pico_per_hour: int
    source: str  # "lambda-cloud-api", "config" or "config (fallback: <why the API failed>)"


def hosted_seconds(period: Period, started_at: datetime | None, now: datetime) -> int:
    """Whole seconds the host ran inside `period` up to `now` (from `started_at` if later)."""
    start = period.start if started_at is None else max(period.start, started_at)
    end = min(now, period.end)
    return max(int((end - start).total_seconds()), 0)


def host_hours_cost_pico(price: GpuPrice | None, seconds: int) -> int:
    """Exact picodollar cost of `seconds` of GPU host time (floored to the picodollar); not a token
    cost, which is llm_shared.pricing.cost_pico."""
    if price is None:
        return 0
    return price.pico_per_hour * seconds // SECONDS_PER_HOUR


def parse_instance_price(payload: Any, instance_type: str) -> int:
    """Picodollars per hour of `instance_type` from an instance-types response."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise GpuPriceError("Lambda Cloud API instance-types: response has no 'data' object")
    entry = data.get(instance_type)
    if not isinstance(entry, dict):
        known = ", ".join(sorted(data)[:20]) or "none"
        raise GpuPriceError(f"Lambda Cloud API instance-types: no instance type {instance_type!r} "
                            f"(known: {known})")
    spec = entry.get("instance_type")
    cents = spec.get("price_cents_per_hour") if isinstance(spec, dict) else None
    if not isinstance(cents, int) or isinstance(cents, bool) or cents < 0:
        raise GpuPriceError(f"Lambda Cloud API instance-types: data.{instance_type}.instance_type."
                            f"price_cents_per_hour must be an integer >= 0, got {cents!r}")
    return cents * PICO_PER_CENT


def fetch_price(session: Any, api_url: str, api_key: str, instance_type: str, *,
                timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> int:
    """GET {api_url}/instance-types with the key as a bearer token; picodollars per hour."""
    import requests

    from llm_shared.redaction import redact

    url = f"{api_url}{INSTANCE_TYPES_PATH}"
    try:
        response = session.get(url, timeout=timeout, headers={"Authorization": f"Bearer {api_key}"})
    except requests.RequestException as exc:
        raise GpuPriceError(f"Lambda Cloud API {url}: unreachable ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise GpuPriceError(f"Lambda Cloud API {url}: HTTP {response.status_code}: "
                            f"{redact(response.text, api_key)[:200]}")
    try:
        payload = response.json()
    except ValueError:
        raise GpuPriceError(f"Lambda Cloud API {url}: response is not JSON") from None
    return parse_instance_price(payload, instance_type)


def resolve_price(*, instance_type: str | None, configured_pico: int | None,
                  api_key: str | None, api_url: str, session: Any,
                  timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> GpuPrice | None:
    """The hourly price to charge, or None when no dedicated GPU host is configured."""
    if instance_type is None:
        return None
    if api_key is None:
        if configured_pico is None:
            raise GpuPriceError(f"no price for GPU instance type {instance_type!r}: set GPU_HOURLY_USD "
                                f"or LAMBDA_API_KEY_SECRET_ARN")
        return GpuPrice(configured_pico, "config")
    try:
        return GpuPrice(fetch_price(session, api_url, api_key, instance_type, timeout=timeout),
                        "lambda-cloud-api")
    except GpuPriceError as exc:
        if configured_pico is None:
            raise
        return GpuPrice(configured_pico, f"config (fallback: {exc})")
