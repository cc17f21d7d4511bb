"""The tracker's settings, read from the environment and validated before anything else happens.

Every problem is collected and reported at once, each naming its variable and what is allowed,
so a bad deployment fails on its first run with one readable message. Secret values are never
settings: only the Secrets Manager ids of the secrets are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation

from llm_shared.budget import DEFAULT_CRITICAL_PERCENT, DEFAULT_WARNING_PERCENT, Budgets, Thresholds
from llm_shared.errors import ConfigError
from llm_shared.money import usd_to_pico
from llm_shared.periods import parse_zone
from llm_shared.urls import secret_url_problem

from . import env_names as env

DEFAULT_LAMBDA_CLOUD_API_URL = "https://cloud.lambda.ai/api/v1"
DEFAULT_TIME_ZONE = "UTC"
DEFAULT_METRIC_PERIOD_SECONDS = 3600
MAX_METRIC_PERIOD_SECONDS = 86_400
_MAX_NAMESPACE = 255
_MAX_DIMENSION_VALUE = 1024


class TrackerConfigError(ConfigError):
    """One or more environment variables are missing or invalid; the message lists them all."""


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    namespace: str
    stack: str
    budgets: Budgets
    thresholds: Thresholds
    time_zone: str
    zone: tzinfo
    gateway_url: str
    gateway_token_secret: str
    lambda_api_key_secret: str | None
    lambda_api_url: str
    gpu_instance_type: str | None
    gpu_hourly_pico: int | None
    gpu_started_at: datetime | None
    metric_period_seconds: int = DEFAULT_METRIC_PERIOD_SECONDS

    @property
    def gpu_configured(self) -> bool:
        return self.gpu_instance_type is not None


def _zone(name: str) -> tzinfo:
    """UTC needs no tz database (the Lambda image may lack one); other zones come from zoneinfo."""
    return UTC if name.upper() in ("UTC", "ETC/UTC", "Z") else parse_zone(name)


def secret_base_url(name: str, value: str, problems: list[str]) -> str:
    """A bearer token or API key travels on it: the shared rule (TLS, plain http only to loopback),
    reported as a problem naming the variable; the tracker and the usage exporter both read with it."""
    problem = secret_url_problem(value)
    if problem:
        problems.append(f"{name}: {problem}; give a base URL such as https://gateway.example.com")
    return value.rstrip("/")


def _percent(name: str, raw: str | None, default: Decimal, problems: list[str]) -> Decimal:
    if raw is None or not raw.strip():
        return default
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        problems.append(f"{name}: {raw!r} is not a number; give a percentage in (0, 100] such as 80")
        return default
    return value


def _usd(name: str, raw: str, problems: list[str], *, allow_zero: bool) -> int | None:
    try:
        pico = usd_to_pico(raw.strip(), name=name)
    except ConfigError as exc:
        problems.append(f"{exc}; give USD as a decimal such as 50 or 2.49")
        return None
    if pico < 0 or (pico == 0 and not allow_zero):
        problems.append(f"{name}: must be {'>= 0' if allow_zero else '> 0'} USD, got {raw.strip()}")
        return None
    return pico


def _moment(name: str, raw: str, problems: list[str]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        problems.append(f"{name}: {raw!r} is not an ISO 8601 timestamp such as 2026-01-31T12:00:00Z")
        return None
    if moment.tzinfo is None:
        problems.append(f"{name}: {raw!r} has no UTC offset; add Z or +00:00")
        return None
    return moment.astimezone(UTC)


def load_tracker_config(environ: Mapping[str, str]) -> TrackerConfig:
    """Validate the tracker's environment; raise TrackerConfigError naming every bad variable."""
    problems: list[str] = []

    def get(name: str) -> str | None:
        value = environ.get(name)
        return value.strip() if value is not None and value.strip() else None

    for name in env.REQUIRED:
        if get(name) is None:
            problems.append(f"{name}: required, not set")

    namespace = get(env.METRIC_NAMESPACE) or ""
    if namespace and (len(namespace) > _MAX_NAMESPACE or namespace.startswith("AWS/")):
        problems.append(f"{env.METRIC_NAMESPACE}: must be 1-{_MAX_NAMESPACE} characters and not start "
                        f"with 'AWS/', got {namespace!r}")
    stack = get(env.STACK_NAME) or ""
    if len(stack) > _MAX_DIMENSION_VALUE or not all(" " <= c <= "~" for c in stack):
        problems.append(f"{env.STACK_NAME}: at most {_MAX_DIMENSION_VALUE} printable ASCII characters "
                        f"(a CloudWatch dimension value)")

    budgets = None
    daily_raw, monthly_raw = get(env.DAILY_BUDGET_USD), get(env.MONTHLY_BUDGET_USD)
    if daily_raw is not None and monthly_raw is not None:
        daily = _usd(env.DAILY_BUDGET_USD, daily_raw, problems, allow_zero=False)
        monthly = _usd(env.MONTHLY_BUDGET_USD, monthly_raw, problems, allow_zero=False)
        if daily is not None and monthly is not None:
            try:
                budgets = Budgets(daily, monthly)
            except ConfigError as exc:
                problems.append(f"{env.DAILY_BUDGET_USD}/{env.MONTHLY_BUDGET_USD}: {exc}")

    warning = _percent(env.WARNING_THRESHOLD_PERCENT, get(env.WARNING_THRESHOLD_PERCENT),
                       DEFAULT_WARNING_PERCENT, problems)
    critical = _percent(env.CRITICAL_THRESHOLD_PERCENT, get(env.CRITICAL_THRESHOLD_PERCENT),
                        DEFAULT_CRITICAL_PERCENT, problems)
    thresholds = Thresholds()
    try:
        thresholds = Thresholds(warning, critical)
    except ConfigError as exc:
        problems.append(f"{env.WARNING_THRESHOLD_PERCENT}/{env.CRITICAL_THRESHOLD_PERCENT}: {exc}")

    time_zone = get(env.TIME_ZONE) or DEFAULT_TIME_ZONE
    zone: tzinfo = UTC
    try:
        zone = _zone(time_zone)
    except ConfigError as exc:
        problems.append(f"{env.TIME_ZONE}: {exc}")

    gateway_url = get(env.GATEWAY_URL)
    if gateway_url is not None:
        gateway_url = secret_base_url(env.GATEWAY_URL, gateway_url, problems)
    lambda_api_url = secret_base_url(env.LAMBDA_CLOUD_API_URL,
                                    get(env.LAMBDA_CLOUD_API_URL) or DEFAULT_LAMBDA_CLOUD_API_URL, problems)

    instance_type = get(env.GPU_INSTANCE_TYPE)
    api_key_secret = get(env.LAMBDA_API_KEY_SECRET_ARN)
    hourly_raw = get(env.GPU_HOURLY_USD)
    hourly = _usd(env.GPU_HOURLY_USD, hourly_raw, problems, allow_zero=True) if hourly_raw else None
    if instance_type and api_key_secret is None and hourly_raw is None:
        problems.append(f"{env.GPU_HOURLY_USD}: required when {env.GPU_INSTANCE_TYPE} is set and "
                        f"{env.LAMBDA_API_KEY_SECRET_ARN} is not (the GPU host needs an hourly price)")
    started_raw = get(env.GPU_HOST_STARTED_AT)
    started = _moment(env.GPU_HOST_STARTED_AT, started_raw, problems) if started_raw else None

    period_raw = get(env.METRIC_PERIOD_SECONDS)
    period = DEFAULT_METRIC_PERIOD_SECONDS
    if period_raw is not None:
        if not period_raw.isdigit() or not 60 <= int(period_raw) <= MAX_METRIC_PERIOD_SECONDS \
                or int(period_raw) % 60:
            problems.append(f"{env.METRIC_PERIOD_SECONDS}: {period_raw!r} must be a whole number of "
                            f"minutes in seconds, 60-{MAX_METRIC_PERIOD_SECONDS} (the alarms' period)")
        else:
            period = int(period_raw)

    if problems or budgets is None or gateway_url is None:
        raise TrackerConfigError("invalid cost-tracker settings: " + "; ".join(problems))
    return TrackerConfig(
        namespace=namespace, stack=stack, budgets=budgets, thresholds=thresholds,
        time_zone=time_zone, zone=zone, gateway_url=gateway_url,
        gateway_token_secret=get(env.GATEWAY_TOKEN_SECRET_ARN) or "",
        lambda_api_key_secret=api_key_secret, lambda_api_url=lambda_api_url,
        gpu_instance_type=instance_type, gpu_hourly_pico=hourly, gpu_started_at=started,
        metric_period_seconds=period,
    )
