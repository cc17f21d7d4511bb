"""Exact money: costs are whole picodollars (1e-12 USD) held in Python ints.

Why integers: summing millions of per-request float costs drifts; ints never do, and SQLite
sums them exactly in SQL. A picodollar resolves a single token at any price quoted with up to
six decimals per million tokens (e.g. $0.07/M = 70,000 pUSD per token). A signed 64-bit SQLite
integer holds about 9.2 million USD, far above any budget this project guards.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .errors import ConfigError

PICO_PER_USD = 10**12
_PICO = Decimal(PICO_PER_USD)


def usd_to_pico(value: Decimal | str | int, *, name: str = "amount") -> int:
    """Convert an exact USD amount (Decimal, str or int; never float) to picodollars."""
    if isinstance(value, float | bool):
        raise ConfigError(f"{name}: pass USD as a string or Decimal, not {type(value).__name__}")
    try:
        dec = Decimal(value)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ConfigError(f"{name}: {value!r} is not a number") from exc
    if not dec.is_finite():
        raise ConfigError(f"{name}: {value!r} is not a finite number")
    scaled = dec * _PICO
    if scaled != scaled.to_integral_value():
        raise ConfigError(f"{name}: {value!r} has more precision than a picodollar")
    return int(scaled)


def pico_to_usd(pico: int) -> Decimal:
    """Exact USD Decimal for a picodollar amount."""
    return Decimal(pico) / _PICO


def pico_to_float(pico: int) -> float:
    """USD as float, for presentation and metrics only (never for sums)."""
    return pico / PICO_PER_USD
