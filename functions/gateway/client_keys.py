"""Named client keys: who spent it (every ledger row carries the name) and optional key budgets.

GATEWAY_CLIENT_KEYS is a JSON list of {name, token, daily_budget_usd?, monthly_budget_usd?};
the older GATEWAY_CLIENT_TOKENS (comma-separated, unnamed) still works, each of its tokens a key
named `default` without a key budget. Errors name the variable and the entry (index and name),
never a token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from llm_shared.client_keys import (
    DEFAULT_KEY_NAME,
    MAX_KEYS,
    check_unique_names,
    key_budgets,
    name_problem,
)
from llm_shared.errors import ConfigError

from .env_names import CLIENT_KEYS, CLIENT_TOKENS

MIN_TOKEN_CHARS = 16
TOKEN_ALLOWED = f"at least {MIN_TOKEN_CHARS} printable characters without spaces"
_ENTRY_FIELDS = ("name", "token", "daily_budget_usd", "monthly_budget_usd")


@dataclass(frozen=True, slots=True)
class ClientKey:
    """One client bearer token under a name; the budgets (picodollars) are None when not set."""

    name: str
    token: str = field(repr=False)
    daily_budget_pico: int | None = None
    monthly_budget_pico: int | None = None


def token_ok(token: str) -> bool:
    return len(token) >= MIN_TOKEN_CHARS and token.isprintable() and not any(c.isspace() for c in token)


def unnamed_keys(raw: str) -> tuple[ClientKey, ...]:
    """GATEWAY_CLIENT_TOKENS: every comma-separated token a key named `default` (no key budget)."""
    tokens = tuple(dict.fromkeys(t.strip() for t in raw.split(",") if t.strip()))  # a repeat is one key
    if not all(token_ok(t) for t in tokens):
        raise ConfigError(f"{CLIENT_TOKENS}: each token must be {TOKEN_ALLOWED}")
    return tuple(ClientKey(DEFAULT_KEY_NAME, t) for t in tokens)


def _entry(index: int, raw: Any) -> ClientKey:
    where = f"{CLIENT_KEYS}: entry {index}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected an object {{name, token, daily_budget_usd?, "
                          f"monthly_budget_usd?}}, got {type(raw).__name__}")
    name = raw.get("name")
    problem = name_problem(name)
    if problem or not isinstance(name, str):
        raise ConfigError(f"{where}: {problem}")
    where = f"{where} ({name!r})"
    unknown = sorted(str(k) for k in raw if k not in _ENTRY_FIELDS)
    if unknown:  # the names only: a token pasted under the wrong field stays unseen
        raise ConfigError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; allowed: "
                          f"{', '.join(_ENTRY_FIELDS)}")
    token = raw.get("token")
    if not isinstance(token, str) or not token_ok(token.strip()):
        raise ConfigError(f"{where}: token must be a string of {TOKEN_ALLOWED} (value not shown)")
    try:
        daily, monthly = key_budgets(raw, "daily_budget_usd", "monthly_budget_usd")
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return ClientKey(name, token.strip(), daily, monthly)


def named_keys(raw: str) -> tuple[ClientKey, ...]:
    """GATEWAY_CLIENT_KEYS parsed and checked entry by entry; names unique."""
    try:
        entries = json.loads(raw, parse_float=Decimal)
    except json.JSONDecodeError as exc:  # exc.msg and position only: the text may hold tokens
        raise ConfigError(f"{CLIENT_KEYS}: invalid JSON ({exc.msg} at line {exc.lineno} column "
                          f"{exc.colno}; value not shown)") from None
    if not isinstance(entries, list):
        raise ConfigError(f"{CLIENT_KEYS}: expected a JSON list of {{name, token, daily_budget_usd?, "
                          f"monthly_budget_usd?}} objects, got {type(entries).__name__}")
    if len(entries) > MAX_KEYS:
        raise ConfigError(f"{CLIENT_KEYS}: {len(entries)} keys; at most {MAX_KEYS} (each name is a "
                          "metric series)")
    keys = tuple(_entry(i, e) for i, e in enumerate(entries))
    try:
        check_unique_names([key.name for key in keys])
    except ConfigError as exc:
        raise ConfigError(f"{CLIENT_KEYS}: {exc}") from None
    return keys


def client_keys(named_raw: str, unnamed_raw: str) -> tuple[ClientKey, ...]:
    """Every client key from both variables (named first); at least one, no token twice."""
    named = named_keys(named_raw) if named_raw else ()
    unnamed = unnamed_keys(unnamed_raw) if unnamed_raw else ()
    if not named and not unnamed:
        raise ConfigError(f"{CLIENT_KEYS} or {CLIENT_TOKENS} is required: {CLIENT_KEYS} a JSON list of "
                          f"{{name, token, daily_budget_usd?, monthly_budget_usd?}}, {CLIENT_TOKENS} "
                          "one or more comma-separated bearer tokens")
    if unnamed:
        for index, key in enumerate(named):
            if key.name == DEFAULT_KEY_NAME:
                raise ConfigError(f"{CLIENT_KEYS}: entry {index} ({key.name!r}): the name is taken by the "
                                  f"unnamed tokens of {CLIENT_TOKENS}; choose another name")
    owner: dict[str, str] = {}
    for key in (*named, *unnamed):
        if key.token in owner:  # a token must identify one key
            raise ConfigError(f"{CLIENT_KEYS}/{CLIENT_TOKENS}: key {key.name!r} has the same token as key "
                              f"{owner[key.token]!r} (value not shown); tokens must be unique")
        owner[key.token] = key.name
    return (*named, *unnamed)
