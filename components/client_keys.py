"""gatewayClientKeys: named client keys in stack config, their tokens from ESC, never plain config.

Stack config lists names and optional budgets (`[{name, dailyBudgetUsd?, monthlyBudgetUsd?}]`);
the ESC secret `gatewayClientKeyTokens` maps each name to its token. The two meet only inside a
Pulumi secret Output, where they become the gateway's GATEWAY_CLIENT_KEYS (gateway/client_keys.py
validates it again at start). The name and budget rules are llm_shared.client_keys'. No message
here quotes a value that could be a token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from llm_shared.client_keys import (
    MAX_KEYS,
    NAME_ALLOWED,
    check_unique_names,
    key_budgets,
    name_problem,
)
from llm_shared.errors import ConfigError
from llm_shared.money import pico_to_usd

CONFIG_KEY = "gatewayClientKeys"
ESC_KEY = "gatewayClientKeyTokens"
ALLOWED = (f"a list of at most {MAX_KEYS} {{name, dailyBudgetUsd?, monthlyBudgetUsd?}} objects; name: "
           f"{NAME_ALLOWED}, unique; budgets USD > 0, monthly >= daily; the tokens go in the ESC "
           f"secret {ESC_KEY} (name -> token), never in stack config")
_FIELDS = ("name", "dailyBudgetUsd", "monthlyBudgetUsd")


@dataclass(frozen=True)
class ClientKeySpec:
    """One named key as the stack config gives it (no token)."""

    name: str
    daily_budget_usd: Decimal | None = None
    monthly_budget_usd: Decimal | None = None


def _usd(pico: int | None) -> Decimal | None:
    return None if pico is None else pico_to_usd(pico)


def _spec(index: int, raw: Any) -> ClientKeySpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"entry {index} is a {type(raw).__name__}, not an object")
    name = raw.get("name")
    problem = name_problem(name)
    if problem or not isinstance(name, str):
        raise ConfigError(f"entry {index}: {problem}")
    where = f"entry {index} ({name!r})"
    if "token" in raw:
        raise ConfigError(f"{where} has a token: tokens are secrets, put it in the ESC secret "
                          f"{ESC_KEY} under {name!r} (value not shown)")
    unknown = sorted(str(k) for k in raw if k not in _FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
    try:
        daily, monthly = key_budgets(raw, "dailyBudgetUsd", "monthlyBudgetUsd")
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return ClientKeySpec(name, _usd(daily), _usd(monthly))


def parse_specs(text: str) -> tuple[ClientKeySpec, ...]:
    """The config value (JSON, as Pulumi hands structured config over); raises ConfigError."""
    if not text.strip():
        return ()
    try:
        entries = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not a YAML/JSON list ({exc.msg})") from None
    if not isinstance(entries, list):
        raise ConfigError(f"a {type(entries).__name__}, not a list")
    if len(entries) > MAX_KEYS:
        raise ConfigError(f"{len(entries)} keys, more than {MAX_KEYS} (each name is a metric series)")
    specs = tuple(_spec(i, raw) for i, raw in enumerate(entries))
    check_unique_names([spec.name for spec in specs])
    return specs


def client_keys_env(specs: tuple[ClientKeySpec, ...], tokens: Any) -> str:
    """GATEWAY_CLIENT_KEYS for the env file (a secret): each spec with its token from ESC.

    Every configured name needs a token and every token a configured name, so a typo in either
    fails the preview naming the key (the tokens are never shown)."""
    where = f"secret config {ESC_KEY}"
    if not isinstance(tokens, Mapping):
        raise ConfigError(f"{where} must be an object of key name -> token (value not shown)")
    missing = [spec.name for spec in specs if spec.name not in tokens]
    if missing:
        raise ConfigError(f"{where} has no token for key(s) {', '.join(map(repr, missing))} of {CONFIG_KEY}")
    names = {spec.name for spec in specs}
    extra = sorted(str(name) for name in tokens if name not in names)
    if extra:
        raise ConfigError(f"{where} has token(s) for {', '.join(map(repr, extra))}, which {CONFIG_KEY} does "
                          "not list (a typo, or a key to add there)")
    entries = []
    for spec in specs:
        token = tokens[spec.name]
        if not isinstance(token, str):
            raise ConfigError(f"{where}: the token of {spec.name!r} must be a string (value not shown)")
        entry: dict[str, str] = {"name": spec.name, "token": token.strip()}
        if spec.daily_budget_usd is not None:
            entry["daily_budget_usd"] = str(spec.daily_budget_usd)
        if spec.monthly_budget_usd is not None:
            entry["monthly_budget_usd"] = str(spec.monthly_budget_usd)
        entries.append(entry)
    return json.dumps(entries, separators=(",", ":"))
