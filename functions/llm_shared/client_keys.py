"""Client key names and key budgets: the rules the gateway, the Pulumi program and the tracker share.

A key name goes into ledger rows, Prometheus labels, CloudWatch dimensions and Snowflake rows, so
it is short and plain (letters, digits, `_`, `-`, `.`; starting with a letter or digit). Tokens
configured without a name (GATEWAY_CLIENT_TOKENS) all carry DEFAULT_KEY_NAME. A key budget is
optional per period; when both are set the monthly one is at least the daily one (as for the stack).
"""

from __future__ import annotations

import re
from decimal import Decimal

from .errors import ConfigError
from .money import pico_to_usd, usd_to_pico

DEFAULT_KEY_NAME = "default"
MAX_KEY_NAME = 64
# Each name is a Prometheus series and a CloudWatch custom metric (billed per metric and month), so
# the count is bounded; a team with more clients shares keys between them.
MAX_KEYS = 100
_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_KEY_NAME - 1}}}")
NAME_ALLOWED = (f"1-{MAX_KEY_NAME} characters of letters, digits, '_', '-' or '.', starting with a "
                "letter or digit")


def name_problem(name: object) -> str | None:
    """Why `name` is not a usable key name, or None when it is."""
    if not isinstance(name, str):
        return f"name must be a string, got {type(name).__name__}"
    if not _NAME.fullmatch(name):
        return f"name {name!r} is not allowed: {NAME_ALLOWED}"
    return None


def is_key_name(name: object) -> bool:
    return name_problem(name) is None


def budget_pico(value: object, what: str) -> int | None:
    """A key's budget for one period in picodollars (None when not set); > 0 USD when set.
    `value` is a USD amount as a string, an int or a Decimal (JSON numbers parsed as Decimal)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ConfigError(f"{what} must be a USD amount (a number or a decimal string), got "
                          f"{type(value).__name__}")
    pico = usd_to_pico(value, name=what)
    if pico <= 0:
        raise ConfigError(f"{what} must be > 0 USD, got {pico_to_usd(pico)}")
    return pico


def check_budget_order(daily_pico: int | None, monthly_pico: int | None) -> None:
    """The monthly budget of a key, when both are set, is at least its daily one."""
    if daily_pico is not None and monthly_pico is not None and monthly_pico < daily_pico:
        raise ConfigError(f"monthly budget ({pico_to_usd(monthly_pico)}) must be >= daily budget "
                          f"({pico_to_usd(daily_pico)})")


def check_unique_names(names: list[str]) -> None:
    """Key names are unique: they label rows, metrics and budgets (the first repeat is named)."""
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in first:
            raise ConfigError(f"entry {index} ({name!r}): the name is already used by entry "
                              f"{first[name]}; key names must be unique")
        first[name] = index


def key_budgets(raw: dict, daily_field: str, monthly_field: str) -> tuple[int | None, int | None]:
    """(daily, monthly) picodollars of one key entry, each optional, monthly >= daily when both."""
    daily = budget_pico(raw.get(daily_field), daily_field)
    monthly = budget_pico(raw.get(monthly_field), monthly_field)
    check_budget_order(daily, monthly)
    return daily, monthly
