"""The gateway container's env file: exactly the variables in gateway.env_names, one NAME=value a line.

Docker's --env-file takes values literally (no quoting, no multi-line values), so a secret with
a line break is rejected here, by key name, without ever showing the value.
"""

from __future__ import annotations

import json
from typing import Any

from components.client_keys import ALLOWED as CLIENT_KEYS_ALLOWED
from components.client_keys import client_keys_env
from components.naming import PROJECT
from components.settings import LEDGER_URL_ALLOWED, Settings, SettingsError
from gateway import env_names
from gateway.config import GatewayConfig
from llm_shared.errors import ConfigError

LEDGER_PATH_IN_CONTAINER = "/data/ledger.db"
DEAD_LETTER_PATH_IN_CONTAINER = "/data/ledger.dead-letter.jsonl"  # with a DSN: on the data volume too


def _check(key: str, value: str) -> str:
    if not value.strip():
        raise SettingsError(f"secret config {PROJECT}:{key} is empty. Allowed: a non-empty value")
    if "\n" in value or "\r" in value or "\0" in value:
        raise SettingsError(f"secret config {PROJECT}:{key} contains a line break (value not "
                            "shown). Allowed: a single-line value (docker --env-file format)")
    return value.strip()


def gateway_environment(settings: Settings, *, client_tokens: str | None, admin_token: str,
                        serverless_api_key: str, client_key_tokens: Any = None,
                        bind_address: str = "127.0.0.1",
                        ledger_url: str = LEDGER_PATH_IN_CONTAINER) -> dict[str, str]:
    """The gateway's environment for these settings, checked by the gateway's own loader; the host's
    env file and the local demo both start the gateway with it. `client_key_tokens` (ESC
    gatewayClientKeyTokens, name -> token) goes with gatewayClientKeys; `client_tokens` (the
    unnamed key `default`) is then optional. `ledger_url` is the SQLite file in the container or the
    shared Postgres DSN of ledgerKind postgres or rds (a secret: it goes into the env file like the
    tokens; with a DSN the dead letters stay on the data volume)."""
    g = settings.gateway
    values: dict[str, str] = {}
    if client_tokens is not None or not g.client_keys:
        values[env_names.CLIENT_TOKENS] = _check("gatewayClientTokens", client_tokens or "")
    if g.client_keys:
        try:
            values[env_names.CLIENT_KEYS] = client_keys_env(g.client_keys, client_key_tokens)
        except ConfigError as exc:
            raise SettingsError(f"{exc}. Allowed: {CLIENT_KEYS_ALLOWED}") from None
    values |= {
        env_names.ADMIN_TOKEN: _check("gatewayAdminToken", admin_token),
        env_names.SERVERLESS_BASE_URL: g.serverless_base_url,
        env_names.SERVERLESS_API_KEY: _check("serverlessApiKey", serverless_api_key),
        env_names.GPU_BASE_URL: g.gpu_base_url,
        env_names.GPU_MODEL_MAP: json.dumps(dict(g.gpu_model_map), sort_keys=True, separators=(",", ":")),
        env_names.SERVERLESS_RATIO: repr(settings.serverless_ratio),
        env_names.DAILY_BUDGET_USD: str(settings.daily_budget_usd),
        env_names.MONTHLY_BUDGET_USD: str(settings.monthly_budget_usd),
        env_names.WARNING_THRESHOLD_PERCENT: str(settings.thresholds.warning),
        env_names.CRITICAL_THRESHOLD_PERCENT: str(settings.thresholds.critical),
        env_names.TIME_ZONE: settings.time_zone,
        env_names.LEDGER_URL: _check("ledgerUrl", ledger_url) if "://" in ledger_url else ledger_url,
        **({env_names.LEDGER_DEAD_LETTER_PATH: DEAD_LETTER_PATH_IN_CONTAINER} if "://" in ledger_url else {}),
        env_names.HOST: bind_address,
        env_names.PORT: str(g.port),
    }
    if g.force_backend:
        values[env_names.FORCE_BACKEND] = g.force_backend
    try:
        # The gateway's own loader: a file it would refuse at start fails `pulumi preview` instead.
        GatewayConfig.from_env(values)
    except ConfigError as exc:
        if str(exc).startswith(f"{env_names.LEDGER_URL}:"):  # the gateway's rule; it never shows the DSN
            raise SettingsError(f"invalid secret config {PROJECT}:ledgerUrl: {exc}. Allowed: "
                                f"{LEDGER_URL_ALLOWED}") from None
        raise SettingsError(
            f"the gateway would reject its env file: {exc}. Allowed: see README.md (Configuration reference) "
            "(ESC keys gatewayClientTokens, gatewayClientKeyTokens, gatewayAdminToken, serverlessApiKey)"
        ) from None
    return values


def render_env_file(settings: Settings, *, client_tokens: str | None, admin_token: str,
                    serverless_api_key: str, client_key_tokens: Any = None,
                    bind_address: str = "127.0.0.1", ledger_url: str | None = None) -> str:
    """The env file text; the gateway binds to bind_address on the host network. `ledger_url`: the
    shared ledger's DSN, or None for SQLite on the host's data volume."""
    values = gateway_environment(settings, client_tokens=client_tokens, admin_token=admin_token,
                                 serverless_api_key=serverless_api_key, client_key_tokens=client_key_tokens,
                                 bind_address=bind_address, ledger_url=ledger_url or LEDGER_PATH_IN_CONTAINER)
    return "".join(f"{key}={value}\n" for key, value in values.items())
