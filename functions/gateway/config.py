"""Gateway settings from the environment, validated once at start.

Every problem names the variable and what is allowed; secret values are never echoed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs, urlsplit

from llm_shared.budget import DEFAULT_CRITICAL_PERCENT, DEFAULT_WARNING_PERCENT, Budgets, Thresholds
from llm_shared.catalog import TIERS, Catalog, default_catalog, load_catalog
from llm_shared.errors import ConfigError, UnknownModelError
from llm_shared.periods import parse_zone
from llm_shared.routing import DEFAULT_SERVERLESS_RATIO, validate_backend
from llm_shared.urls import BASE_URL_ALLOWED, SECRET_URL_ALLOWED, base_url_problem, secret_url_problem

from . import env_names as names
from .client_keys import TOKEN_ALLOWED, ClientKey, client_keys, token_ok
from .ledger_writer import DEAD_LETTER_SUFFIX
from .ledger_writer import DEFAULT_QUEUE_LIMIT as DEFAULT_LEDGER_QUEUE_LIMIT
from .usage_clamp import INT64_MAX, largest_cost_pico

log = logging.getLogger("gateway")
DEFAULT_MAX_BODY_BYTES = 1_048_576
DEFAULT_LEDGER_URL = "gateway-ledger.sqlite3"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
TLS_SSLMODES = ("require", "verify-ca", "verify-full")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
LEDGER_URL_ALLOWED = (f"a SQLite file path, or a {POSTGRES_SCHEMES[0]}user:password@host:port/db DSN with "
                      f"sslmode={'|'.join(TLS_SSLMODES)} (TLS; optional only for a loopback host)")
DEFAULT_DAILY_BUDGET_USD = "50"
DEFAULT_MONTHLY_BUDGET_USD = "1000"


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Everything the gateway needs; build with `from_env` (or directly in tests)."""

    client_keys: tuple[ClientKey, ...]  # named keys first, then GATEWAY_CLIENT_TOKENS as `default`
    admin_token: str = field(repr=False)
    serverless_base_url: str
    gpu_base_url: str
    serverless_api_key: str = field(default="", repr=False)
    gpu_model_map: Mapping[str, str] = field(default_factory=dict)
    serverless_ratio: float = DEFAULT_SERVERLESS_RATIO
    budgets: Budgets = field(default_factory=lambda: Budgets.from_usd(DEFAULT_DAILY_BUDGET_USD,
                                                                       DEFAULT_MONTHLY_BUDGET_USD))
    thresholds: Thresholds = field(default_factory=Thresholds)
    time_zone: str = "UTC"
    ledger_url: str = field(default=DEFAULT_LEDGER_URL, repr=False)  # SQLite path or Postgres DSN (secret)
    ledger_queue_limit: int = DEFAULT_LEDGER_QUEUE_LIMIT
    ledger_dead_letter_path: str = ""  # empty: next to the SQLite file / gateway-ledger.dead-letter.jsonl
    catalog: Catalog = field(default_factory=default_catalog)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    host: str = "127.0.0.1"
    port: int = 8080
    upstream_timeout_s: float = 60.0
    upstream_connect_timeout_s: float = 3.0
    request_deadline_s: float = 90.0
    stream_stall_timeout_s: float = 10.0
    force_backend: str | None = None
    budget_lease_s: float = 30.0         # shared budget (several replicas, ADR 0010): lease time
    budget_lease_margin_s: float = 2.0   # ... and how long before its end a replica stops using it

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewayConfig:
        env = os.environ if env is None else env
        catalog_path = _get(env, names.CATALOG_PATH)
        catalog = load_catalog(catalog_path) if catalog_path else default_catalog()
        missing = [tier for tier in TIERS if all(m.tier != tier for m in catalog)]
        if missing:  # `auto` routes by tier: a request needing a missing one could not be served
            raise ConfigError(f"{names.CATALOG_PATH}: the catalog needs a model of every tier "
                              f"({', '.join(TIERS)}); none of tier {', '.join(missing)}")
        too_costly = [m.id for m in catalog if largest_cost_pico(m) > INT64_MAX]
        if too_costly:  # a ledger row of such a request would overflow SQLite's 64-bit integers
            raise ConfigError(f"{names.CATALOG_PATH}: the largest request to {', '.join(too_costly)} (a full "
                              "context window in, n x the window out) would cost more picodollars than "
                              "a 64-bit integer holds; lower the price or the context window")
        time_zone = _get(env, names.TIME_ZONE) or "UTC"
        try:
            parse_zone(time_zone)
        except ConfigError as exc:
            raise ConfigError(f"{names.TIME_ZONE}: {exc}") from None
        try:
            budgets = Budgets.from_usd(_decimal(env, names.DAILY_BUDGET_USD, DEFAULT_DAILY_BUDGET_USD),
                                       _decimal(env, names.MONTHLY_BUDGET_USD, DEFAULT_MONTHLY_BUDGET_USD))
        except ConfigError as exc:
            raise ConfigError(f"{names.DAILY_BUDGET_USD}/{names.MONTHLY_BUDGET_USD}: {exc}") from None
        try:
            thresholds = Thresholds(
                _decimal(env, names.WARNING_THRESHOLD_PERCENT, str(DEFAULT_WARNING_PERCENT)),
                _decimal(env, names.CRITICAL_THRESHOLD_PERCENT, str(DEFAULT_CRITICAL_PERCENT)))
        except ConfigError as exc:
            raise ConfigError(
                f"{names.WARNING_THRESHOLD_PERCENT}/{names.CRITICAL_THRESHOLD_PERCENT}: {exc}") from None
        keys = client_keys(_get(env, names.CLIENT_KEYS), _get(env, names.CLIENT_TOKENS))
        admin = _get(env, names.ADMIN_TOKEN)
        if not admin:
            raise ConfigError(f"{names.ADMIN_TOKEN} is required (the cost tracker's bearer token)")
        if not token_ok(admin):
            raise ConfigError(f"{names.ADMIN_TOKEN}: the token must be {TOKEN_ALLOWED}")
        if any(key.token == admin for key in keys):
            raise ConfigError(f"{names.ADMIN_TOKEN} must differ from every client token "
                              f"({names.CLIENT_KEYS}, {names.CLIENT_TOKENS})")
        return cls(
            client_keys=keys,
            admin_token=admin,
            serverless_base_url=_url(env, names.SERVERLESS_BASE_URL, secret=True),  # the key goes on it
            gpu_base_url=_url(env, names.GPU_BASE_URL, secret=False),
            serverless_api_key=_get(env, names.SERVERLESS_API_KEY),
            gpu_model_map=_model_map(env, catalog),
            serverless_ratio=float(_number(env, names.SERVERLESS_RATIO, str(DEFAULT_SERVERLESS_RATIO),
                                           low=Decimal(0), high=Decimal(1))),
            budgets=budgets,
            thresholds=thresholds,
            time_zone=time_zone,
            ledger_url=_ledger_url(env),
            ledger_queue_limit=int(_number(env, names.LEDGER_QUEUE_LIMIT, str(DEFAULT_LEDGER_QUEUE_LIMIT),
                                           low=Decimal(100), high=Decimal(10_000_000), integer=True)),
            ledger_dead_letter_path=_get(env, names.LEDGER_DEAD_LETTER_PATH),
            catalog=catalog,
            max_body_bytes=int(_number(env, names.MAX_BODY_BYTES, str(DEFAULT_MAX_BODY_BYTES),
                                       low=Decimal(1024), high=Decimal(64 * 1024 * 1024), integer=True)),
            host=_get(env, names.HOST) or "127.0.0.1",
            port=int(_number(env, names.PORT, "8080", low=Decimal(1), high=Decimal(65535), integer=True)),
            upstream_timeout_s=float(_number(env, names.UPSTREAM_TIMEOUT_SECONDS, "60",
                                             low=Decimal("0.01"), high=Decimal(3600))),
            upstream_connect_timeout_s=float(_number(env, names.UPSTREAM_CONNECT_TIMEOUT_SECONDS, "3",
                                                     low=Decimal("0.01"), high=Decimal(120))),
            request_deadline_s=float(_number(env, names.REQUEST_DEADLINE_SECONDS, "90",
                                             low=Decimal("0.01"), high=Decimal(7200))),
            stream_stall_timeout_s=float(_number(env, names.STREAM_STALL_SECONDS, "10",
                                                 low=Decimal("0.01"), high=Decimal(600))),
            force_backend=_backend(env, names.FORCE_BACKEND),
            **_lease_times(env),
        )

    @property
    def ledger_is_postgres(self) -> bool:
        return self.ledger_url.startswith(POSTGRES_SCHEMES)

    @property
    def dead_letter_path(self) -> str:
        """Where rows the store refuses (or cannot take in time) are kept, one JSON object a line."""
        if self.ledger_dead_letter_path:
            return self.ledger_dead_letter_path
        return ("gateway-ledger" if self.ledger_is_postgres else self.ledger_url) + DEAD_LETTER_SUFFIX

    @property
    def ledger_label(self) -> str:
        """The ledger for a log line: the SQLite path, or `postgres://host:port/db` without credentials."""
        if not self.ledger_is_postgres:
            return self.ledger_url
        parts = urlsplit(self.ledger_url)
        return f"postgres://{parts.hostname or ''}:{parts.port or 5432}{parts.path}"

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a log line or an error body."""
        tokens = (key.token for key in self.client_keys)
        postgres = self.ledger_is_postgres
        ledger = (self.ledger_url, urlsplit(self.ledger_url).password or "") if postgres else ()
        return tuple(s for s in (*tokens, self.admin_token, self.serverless_api_key, *ledger) if s)


def _ledger_url(env: Mapping[str, str]) -> str:
    """LEDGER_URL (or the deprecated LEDGER_PATH, a SQLite path): checked without echoing it."""
    url, old = _get(env, names.LEDGER_URL), _get(env, names.LEDGER_PATH)
    if old and url:
        raise ConfigError(f"{names.LEDGER_PATH} is the old name of {names.LEDGER_URL}; set only "
                          f"{names.LEDGER_URL}")
    if old:
        if old.startswith(POSTGRES_SCHEMES) or "://" in old:
            raise ConfigError(f"{names.LEDGER_PATH} takes a SQLite file path only; put a DSN in "
                              f"{names.LEDGER_URL} (the value is not shown, it may be a secret)")
        log.warning("%s is deprecated (removed in the next release): use %s", names.LEDGER_PATH,
                    names.LEDGER_URL)
        return old
    if not url:
        return DEFAULT_LEDGER_URL
    if "://" not in url:
        return url  # a SQLite file path
    problem = _postgres_problem(url) if url.startswith(POSTGRES_SCHEMES) else "not a postgresql:// DSN"
    if problem:
        raise ConfigError(f"{names.LEDGER_URL}: {LEDGER_URL_ALLOWED} is required; {problem} (the value is "
                          "not shown, it may hold a password)")
    return url


def _postgres_problem(url: str) -> str:
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError:
        return "it cannot be parsed as a URL"
    query = parse_qs(parts.query)
    if not host and not query.get("host"):
        return "it names no host"
    if not parts.path.strip("/"):
        return "it names no database"
    loopback = host in LOOPBACK_HOSTS or (not host and all(h.startswith("/") for h in query["host"]))
    modes = query.get("sslmode", [])
    if not loopback and (len(modes) != 1 or modes[0] not in TLS_SSLMODES):
        return f"a non-loopback host needs sslmode={'|'.join(TLS_SSLMODES)}"
    return ""


def _lease_times(env: Mapping[str, str]) -> dict[str, float]:
    lease = _number(env, names.BUDGET_LEASE_SECONDS, "30", low=Decimal("0.2"), high=Decimal(3600))
    margin = _number(env, names.BUDGET_LEASE_MARGIN_SECONDS, "2", low=Decimal(0), high=Decimal(600))
    if margin >= lease:
        raise ConfigError(f"{names.BUDGET_LEASE_MARGIN_SECONDS} ({margin}) must be below "
                          f"{names.BUDGET_LEASE_SECONDS} ({lease})")
    return {"budget_lease_s": float(lease), "budget_lease_margin_s": float(margin)}


def _backend(env: Mapping[str, str], name: str) -> str | None:
    try:
        return validate_backend(_get(env, name))
    except ConfigError as exc:
        raise ConfigError(f"{name}: {exc} (or empty for routing by the rules)") from None


def _get(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def _decimal(env: Mapping[str, str], name: str, default: str) -> Decimal:
    return _number(env, name, default, low=None, high=None)


def _number(env: Mapping[str, str], name: str, default: str, *, low: Decimal | None, high: Decimal | None,
            integer: bool = False) -> Decimal:
    raw = _get(env, name) or default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigError(f"{name}: {raw!r} is not a number") from None
    if not value.is_finite():
        raise ConfigError(f"{name}: {raw!r} is not a finite number")
    if integer and value != value.to_integral_value():
        raise ConfigError(f"{name}: {raw!r} must be a whole number")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{name}: {raw!r} must be between {low} and {high}")
    return value


def _url(env: Mapping[str, str], name: str, *, secret: bool) -> str:
    raw = _get(env, name)
    problem = "it is empty" if not raw else (secret_url_problem if secret else base_url_problem)(raw)
    if problem:
        # The value is not echoed: a key pasted into the wrong variable must not reach the log.
        allowed = SECRET_URL_ALLOWED if secret else BASE_URL_ALLOWED
        raise ConfigError(f"{name}: {allowed} is required; {problem} (the value is not shown, it may be "
                          "a secret)")
    return raw.rstrip("/")


def _model_map(env: Mapping[str, str], catalog: Catalog) -> dict[str, str]:
    raw = _get(env, names.GPU_MODEL_MAP)
    if not raw:
        return {}
    try:
        return catalog.check_model_map(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{names.GPU_MODEL_MAP}: invalid JSON ({exc.msg})") from None
    except (ConfigError, UnknownModelError) as exc:
        raise ConfigError(f"{names.GPU_MODEL_MAP}: {exc}") from None
