"""Typed, validated stack settings: every config key is read once, here.

Why one place: a bad value must fail `pulumi preview` before anything is created, with a message
that names the key, the value and what is allowed. Rules the runtime code also enforces (budgets,
thresholds, serverless ratio, time zone, catalog ids) are checked with the shared package so the
program and the functions can never disagree about what is valid.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict, TypeVar
from urllib.parse import urlparse

import pulumi

from components import iam_boundary
from components.client_keys import ALLOWED as CLIENT_KEYS_ALLOWED
from components.client_keys import ESC_KEY as CLIENT_KEY_TOKENS
from components.client_keys import ClientKeySpec, parse_specs
from components.insights_sql import DEFAULT_DATABASE as DEFAULT_INSIGHTS_DATABASE
from components.insights_sql import IDENTIFIER as INSIGHTS_IDENTIFIER
from components.naming import PROJECT
from components.schedule import ALLOWED as SCHEDULE_ALLOWED
from components.schedule import DEFAULT_SCHEDULE, rate_interval_seconds
from cost_tracker.config import DEFAULT_LAMBDA_CLOUD_API_URL
from llm_shared import cloudwatch_contract
from llm_shared.budget import DEFAULT_CRITICAL_PERCENT, DEFAULT_WARNING_PERCENT, Budgets, Thresholds
from llm_shared.catalog import default_catalog
from llm_shared.errors import ConfigError, UnknownModelError
from llm_shared.money import usd_to_pico
from llm_shared.periods import parse_zone
from llm_shared.routing import DEFAULT_SERVERLESS_RATIO, validate_backend, validate_ratio
from llm_shared.urls import BASE_URL_ALLOWED, LOOPBACK_HOSTS, base_url_problem, secret_url_problem

DEFAULT_GATEWAY_PORT = 8080
DEFAULT_HEALTH_TIMEOUT_SECONDS = 120
DEFAULT_GPU_BASE_URL = "http://127.0.0.1:8000/v1"
DEFAULT_MODEL_SERVER_IMAGE = "vllm/vllm-openai:v0.11.0"
DEFAULT_PROXY_IMAGE = "caddy:2.10"
DEFAULT_MODEL_SERVER_HEALTH_TIMEOUT_SECONDS = 1800  # a first start downloads the model weights
TLS_MODES = ("automatic", "provided", "none")
# Where the gateways keep their ledger: SQLite on the host's volume (one host only), a Postgres the
# user brings (ESC ledgerUrl), or an RDS PostgreSQL the program creates (LedgerDatabase).
LEDGER_KINDS = ("sqlite", "postgres", "rds")
MAX_GATEWAY_HOSTS = 20
# The ESC ledgerUrl; the rule itself is the gateway's (gateway.config), applied to the env file.
LEDGER_URL_ALLOWED = ("a postgresql://user:password@host:5432/db DSN with sslmode=require, verify-ca or "
                      "verify-full (TLS; optional only to a loopback host)")
DEFAULT_LEDGER_DB_INSTANCE_CLASS = "db.t4g.micro"
# Flags the program itself sets on the model server; an extra arg may not repeat (or move) them,
# and --api-key would put a secret on the command line.
MODEL_SERVER_OWN_FLAGS = ("--model", "--host", "--port", "--gpu-memory-utilization", "--served-model-name",
                          "--api-key")
MAX_ALARM_PERIOD_SECONDS = 86400

_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_NAMESPACE = re.compile(r"^[A-Za-z0-9._/#:-]{1,255}$")
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9-]{1,63}$|^[0-9A-Fa-f:]+$"
)
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_IMAGE = re.compile(
    r"^[a-z0-9][a-z0-9._/-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)
_REMOTE_DIR = re.compile(r"^/[A-Za-z0-9._/-]+$")
_HOST_KEY = re.compile(
    r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521"
    r"|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}(?: \S.*)?$"
)
_INSTANCE_TYPE = re.compile(r"^[a-z0-9_]{1,64}$")
_LAMBDA_REGION = re.compile(r"^[a-z]{2}-[a-z]+-\d+$")
_SSH_KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HOST_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_DB_INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}

T = TypeVar("T")


class SettingsError(pulumi.RunError):
    """Invalid stack config; the message names the key, the value and what is allowed."""


def _error(key: str, value: object, allowed: str, reason: str = "") -> SettingsError:
    why = f": {reason}" if reason else ""
    return SettingsError(f"invalid config {PROJECT}:{key} = {value!r}{why}. Allowed: {allowed}")


@dataclass(frozen=True)
class HostSpec:
    """One GPU host running a gateway. Per host: where SSH reaches it and the URL its proxy serves
    (Caddy gets a certificate per name); everything else in GatewaySettings is shared."""

    name: str  # "" for the one-host keys (gatewayHost...): its resources keep the names gateway-*
    host: str  # "" when launchInstance supplies it
    host_key: str
    url: str


@dataclass(frozen=True)
class LedgerSettings:
    """Where the gateways' ledger (and, shared, their budget) lives; several hosts need a shared one."""

    kind: str = "sqlite"
    db_instance_class: str = DEFAULT_LEDGER_DB_INSTANCE_CLASS
    db_allocated_storage_gb: int = 20
    db_backup_retention_days: int = 7
    db_deletion_protection: bool = True

    @property
    def shared(self) -> bool:
        return self.kind != "sqlite"


@dataclass(frozen=True)
class GatewaySettings:
    """Where and how the gateway container runs on the GPU host."""

    enabled: bool
    url: str
    host: str = ""
    user: str = ""
    image: str = ""
    host_key: str = ""
    ssh_port: int = 22
    port: int = DEFAULT_GATEWAY_PORT
    bind_address: str = "127.0.0.1"
    remote_dir: str = ""
    health_timeout_seconds: int = DEFAULT_HEALTH_TIMEOUT_SECONDS
    serverless_base_url: str = ""  # required when enabled: no provider is a sensible default
    gpu_base_url: str = DEFAULT_GPU_BASE_URL
    gpu_model_map: Mapping[str, str] = field(default_factory=dict)
    force_backend: str = ""  # rollback lever: "serverless" or "gpu" sends every request there
    model_server_port: int = 0  # 0: no model server is run on the host (no map, or gpuBaseUrl elsewhere)
    model_server_model: str = ""
    model_server_image: str = DEFAULT_MODEL_SERVER_IMAGE
    model_server_gpu_memory: float = 0.9
    model_server_args: tuple[str, ...] = ()
    model_server_health_timeout_seconds: int = DEFAULT_MODEL_SERVER_HEALTH_TIMEOUT_SECONDS
    tls_mode: str = "automatic"  # Caddy on the host: automatic HTTPS, a provided certificate, or none
    proxy_image: str = DEFAULT_PROXY_IMAGE
    acme_email: str = ""
    client_keys: tuple[ClientKeySpec, ...] = ()  # gatewayClientKeys (tokens: ESC gatewayClientKeyTokens)
    hosts: tuple[HostSpec, ...] = ()  # gatewayHosts, or the one host of gatewayHost/gatewayHostKey/gatewayUrl


@dataclass(frozen=True)
class TrackerSettings:
    """How often the cost tracker runs and what it needs to price the GPU host."""

    schedule: str
    period_seconds: int
    log_retention_days: int
    gpu_instance_type: str = ""
    gpu_hourly_usd: Decimal | None = None
    gpu_host_started_at: str = ""
    lambda_cloud_api_url: str = ""


@dataclass(frozen=True)
class LaunchSettings:
    """The Lambda Cloud instance `pulumi up` launches (and `pulumi destroy` terminates) as the host."""

    instance_type: str
    region: str
    ssh_key_name: str
    api_url: str


@dataclass(frozen=True)
class ExportSettings:
    """The hourly usage export to S3 and, on top of it, Snowflake's AI_INSIGHTS (issue 12)."""

    enabled: bool = False
    schedule: str = DEFAULT_SCHEDULE
    snowflake: bool = False
    snowflake_organization: str = ""
    snowflake_account: str = ""
    snowflake_user: str = ""
    snowflake_role: str = ""
    snowflake_database: str = DEFAULT_INSIGHTS_DATABASE


@dataclass(frozen=True)
class Settings:
    """Everything non-secret the program needs, validated."""

    project: str
    stack: str
    region: str
    namespace: str
    budgets: Budgets
    thresholds: Thresholds
    daily_budget_usd: Decimal
    monthly_budget_usd: Decimal
    serverless_ratio: float
    time_zone: str
    alert_emails: tuple[str, ...]
    encrypt_alert_topic: bool
    tracker: TrackerSettings
    gateway: GatewaySettings
    launch: LaunchSettings | None = None
    export: ExportSettings = ExportSettings()
    permissions_boundary_arn: str | None = None  # iam_boundary.KEY: on every IAM role when set
    ledger: LedgerSettings = LedgerSettings()


@dataclass(frozen=True)
class SecretSettings:
    """Secrets from the stack's Pulumi ESC environment, kept as Pulumi secret Outputs end to end."""

    gateway_admin_token: pulumi.Output[str]
    lambda_api_key: pulumi.Output[str]
    gateway_client_tokens: pulumi.Output[str] | None = None
    gateway_client_key_tokens: pulumi.Output[Any] | None = None  # name -> token, for gatewayClientKeys
    serverless_api_key: pulumi.Output[str] | None = None
    ssh_private_key: pulumi.Output[str] | None = None
    slack_webhook_url: pulumi.Output[str] | None = None
    hugging_face_token: pulumi.Output[str] | None = None
    tls_certificate: pulumi.Output[str] | None = None
    tls_private_key: pulumi.Output[str] | None = None
    snowflake_private_key: pulumi.Output[str] | None = None
    ledger_url: pulumi.Output[str] | None = None  # ledgerKind postgres: the DSN the user brings


# Keys read by parse_settings, in the order of the config reference.
KEYS = (
    "dailyBudgetUsd", "monthlyBudgetUsd", "warningThresholdPercent", "criticalThresholdPercent",
    "serverlessRatio", "timeZone", "trackerSchedule", "alarmPeriodSeconds", "metricNamespace",
    "alertEmails", "encryptAlertTopic", "logRetentionDays", "gatewayEnabled", "gatewayHost",
    "gatewayUser", "gatewayImage", "gatewayHostKey", "gatewaySshPort", "gatewayPort",
    "gatewayBindAddress", "gatewayUrl", "gatewayRemoteDir", "gatewayHealthTimeoutSeconds",
    "serverlessBaseUrl", "gpuBaseUrl", "gpuModelMap", "forceBackend", "gpuInstanceType", "gpuHourlyUsd",
    "gpuHostStartedAt", "lambdaCloudApiUrl", "modelServerImage", "modelServerGpuMemoryUtilization",
    "modelServerExtraArgs", "modelServerHealthTimeoutSeconds", "tlsMode", "proxyImage", "acmeEmail",
    "launchInstance", "lambdaRegion", "lambdaSshKeyName", "usageExportEnabled", "usageExportSchedule",
    "snowflakeEnabled", "snowflakeOrganization", "snowflakeAccount", "snowflakeUser", "snowflakeRole",
    "snowflakeDatabase", "gatewayClientKeys", iam_boundary.KEY, "gatewayHosts", "ledgerKind",
    "ledgerDbInstanceClass", "ledgerDbAllocatedStorageGb", "ledgerDbBackupRetentionDays",
    "ledgerDbDeletionProtection",
)
SECRET_KEYS = ("gatewayAdminToken", "lambdaApiKey", "gatewayClientTokens", "serverlessApiKey",
               "sshPrivateKey", "slackWebhookUrl", "huggingFaceToken", "tlsCertificate", "tlsPrivateKey",
               "snowflakePrivateKey", CLIENT_KEY_TOKENS, "ledgerUrl")


class _Reader:
    """Typed access to raw config strings; every failure names its key."""

    def __init__(self, raw: Mapping[str, str | None]) -> None:
        self.raw = raw

    def fail(self, key: str, allowed: str, reason: str = "") -> SettingsError:
        """The error for `key`, quoting the value exactly as configured."""
        return _error(key, self.raw.get(key), allowed, reason)

    def text(self, key: str, default: str = "") -> str:
        value = self.raw.get(key)
        return default if value is None or value.strip() == "" else value.strip()

    def required(self, key: str, allowed: str, why: str = "") -> str:
        value = self.text(key)
        if not value:
            raise self.fail(key, allowed, f"required{why}")
        return value

    def matching(self, key: str, pattern: re.Pattern[str], allowed: str, default: str = "") -> str:
        value = self.text(key, default)
        if value and not pattern.match(value):
            raise self.fail(key, allowed)
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.text(key).lower()
        if not value:
            return default
        if value in _TRUE | _FALSE:
            return value in _TRUE
        raise self.fail(key, "true or false")

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.text(key)
        if not value:
            return default
        try:
            number = int(value)
        except ValueError:
            raise self.fail(key, f"a whole number in [{low}, {high}]") from None
        if not low <= number <= high:
            raise self.fail(key, f"a whole number in [{low}, {high}]")
        return number

    def decimal(self, key: str, default: Decimal | None, allowed: str) -> Decimal | None:
        value = self.text(key)
        if not value:
            return default
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise self.fail(key, allowed, "not a number") from None
        if not number.is_finite():
            raise self.fail(key, allowed, "not a finite number")
        return number

    def url(self, key: str, default: str = "") -> str:
        """A base URL no secret travels on (the shared package's rule)."""
        value = self.text(key, default)
        problem = base_url_problem(value) if value else None
        if problem:
            raise self.fail(key, BASE_URL_ALLOWED, problem)
        return value.rstrip("/")

    def secret_url(self, key: str, allowed: str, *, required: bool, why: str = "") -> str:
        """A base URL a token or key is sent on: the shared rule (TLS, plain http only to loopback),
        so a value the gateway or the tracker would refuse at every start or run fails preview."""
        value = self.required(key, allowed, why) if required else self.text(key)
        problem = secret_url_problem(value) if value else None
        if problem:
            raise self.fail(key, allowed, problem)
        return value.rstrip("/")

    def json_value(self, key: str, default: T, kind: type[T], allowed: str) -> T:
        value = self.text(key)
        if not value:
            return default
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            # A bare string in YAML for a list key ("a@b.c") is a common slip: accept it as one item.
            parsed = [value] if kind is list else None
        if not isinstance(parsed, kind):
            raise self.fail(key, allowed)
        return parsed

    def shared_rule(self, keys: str | tuple[str, ...], allowed: str, check: Callable[[], T]) -> T:
        """Apply a rule of the shared package; its message becomes the reason. Several keys are all
        named when the rule relates them (e.g. monthly >= daily)."""
        try:
            return check()
        except (ConfigError, UnknownModelError) as exc:
            names = (keys,) if isinstance(keys, str) else keys
            quoted = ", ".join(f"{PROJECT}:{k} = {self.raw.get(k)!r}" for k in names)
            raise SettingsError(f"invalid config {quoted}: {exc}. Allowed: {allowed}") from None


def _budgets(r: _Reader) -> tuple[Budgets, Decimal, Decimal]:
    allowed = "a USD amount > 0 (at most 12 decimals), with monthlyBudgetUsd >= dailyBudgetUsd"
    daily_raw = r.required("dailyBudgetUsd", allowed)
    monthly_raw = r.required("monthlyBudgetUsd", allowed)
    daily = r.shared_rule("dailyBudgetUsd", allowed,
                          lambda: usd_to_pico(daily_raw, name="dailyBudgetUsd"))
    monthly = r.shared_rule("monthlyBudgetUsd", allowed,
                            lambda: usd_to_pico(monthly_raw, name="monthlyBudgetUsd"))
    # A budget <= 0 is that key's fault; monthly < daily relates both, so both are named.
    keys = ("dailyBudgetUsd",) if daily <= 0 else ("monthlyBudgetUsd",) if monthly <= 0 else (
        "dailyBudgetUsd", "monthlyBudgetUsd")
    budgets = r.shared_rule(keys, allowed, lambda: Budgets(daily, monthly))
    return budgets, Decimal(daily_raw), Decimal(monthly_raw)


def _thresholds(r: _Reader) -> Thresholds:
    allowed = "percentages with 0 < warningThresholdPercent < criticalThresholdPercent <= 100"
    warning = r.decimal("warningThresholdPercent", DEFAULT_WARNING_PERCENT, allowed) or Decimal(0)
    critical = r.decimal("criticalThresholdPercent", DEFAULT_CRITICAL_PERCENT, allowed) or Decimal(0)
    # Name the key whose own range is wrong; when both are in range their order is, so name both.
    for key, value in (("warningThresholdPercent", warning), ("criticalThresholdPercent", critical)):
        if not 0 < value <= 100:
            raise r.fail(key, allowed, "must be in (0, 100]")
    return r.shared_rule(("warningThresholdPercent", "criticalThresholdPercent"), allowed,
                         lambda: Thresholds(warning=warning, critical=critical))


def _schedule(r: _Reader) -> tuple[str, int]:
    schedule = r.text("trackerSchedule", DEFAULT_SCHEDULE)
    try:
        interval = rate_interval_seconds(schedule)
    except ValueError as exc:
        raise r.fail("trackerSchedule", SCHEDULE_ALLOWED, str(exc)) from None
    period_allowed = (f"a multiple of 60 seconds in [60, {MAX_ALARM_PERIOD_SECONDS}], "
                      "equal to the push interval")
    if r.text("alarmPeriodSeconds"):
        period = r.integer("alarmPeriodSeconds", 0, 60, MAX_ALARM_PERIOD_SECONDS)
        if period % 60:
            raise r.fail("alarmPeriodSeconds", period_allowed)
        if interval is not None and period != interval:
            raise r.fail("alarmPeriodSeconds", period_allowed,
                         f"trackerSchedule {schedule} pushes every {interval} s")
        return schedule, period
    if interval is None:
        raise r.fail("alarmPeriodSeconds", period_allowed, "required when trackerSchedule is a cron()")
    if interval > MAX_ALARM_PERIOD_SECONDS:
        raise r.fail("trackerSchedule", f"an interval of at most {MAX_ALARM_PERIOD_SECONDS} s",
                     "CloudWatch alarms cannot evaluate a longer period")
    return schedule, interval


def _namespace(r: _Reader) -> str:
    allowed = "1-255 of A-Z a-z 0-9 . _ / # : -, not starting with the reserved 'AWS/'"
    namespace = r.matching("metricNamespace", _NAMESPACE, allowed, cloudwatch_contract.DEFAULT_NAMESPACE)
    if namespace.upper().startswith("AWS/"):
        raise r.fail("metricNamespace", allowed, "the AWS/ prefix is reserved for AWS services")
    return namespace


def _emails(r: _Reader) -> tuple[str, ...]:
    allowed = "a list of email addresses, e.g. [ops@example.com]"
    emails = r.json_value("alertEmails", [], list, allowed)
    for email in emails:
        if not isinstance(email, str) or not _EMAIL.match(email):
            raise r.fail("alertEmails", allowed, f"{email!r} is not an email address")
    if len(set(emails)) != len(emails):
        raise r.fail("alertEmails", allowed, "duplicate address")
    return tuple(emails)


def _model_map(r: _Reader) -> dict[str, str]:
    catalog = default_catalog()
    allowed = f"a JSON object mapping catalog ids ({', '.join(catalog.ids)}) to GPU server model names"
    mapping = r.json_value("gpuModelMap", {}, dict, allowed)
    return r.shared_rule("gpuModelMap", allowed, lambda: catalog.check_model_map(mapping))


def _bind_address(r: _Reader) -> str:
    """127.0.0.1 when a TLS proxy on the host fronts the gateway; 0.0.0.0 when it is remote."""
    value = r.text("gatewayBindAddress", "127.0.0.1")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise r.fail("gatewayBindAddress", "an IP address such as 127.0.0.1 or 0.0.0.0") from None
    return value


GATEWAY_URL_ALLOWED = ("the gateway's https:// base URL as the cost tracker reaches it (TLS terminated in "
                       "front of gatewayPort), e.g. https://gateway.example.com; http:// only for "
                       "127.0.0.1/localhost")


def _gateway_url(r: _Reader) -> str:
    """The URL the cost tracker reads usage from; the admin token travels on it, so TLS only. With
    gatewayHosts it defaults to the first host's url (every gateway answers the same)."""
    return r.secret_url("gatewayUrl", GATEWAY_URL_ALLOWED, required=not r.text("gatewayHosts"))


class _BackendFields(TypedDict):
    """The GatewaySettings fields read whether or not this stack deploys the gateway."""

    port: int
    serverless_base_url: str
    gpu_base_url: str
    gpu_model_map: Mapping[str, str]
    force_backend: str


def _model_server(r: _Reader, model_map: Mapping[str, str], gpu_base_url: str) -> dict[str, object]:
    """The vLLM container the program runs when the map is set and gpuBaseUrl is on this host."""
    parsed = urlparse(gpu_base_url)
    if not model_map or parsed.hostname not in LOOPBACK_HOSTS:
        return {}
    served = sorted(set(model_map.values()))
    if len(served) > 1:
        raise r.fail("gpuModelMap", "catalog ids mapped to one served model name (one vLLM server serves "
                     "one model)", f"{len(served)} served models: {', '.join(served)}")
    if parsed.path.rstrip("/") != "/v1" or not parsed.port:
        raise r.fail("gpuBaseUrl", "http://127.0.0.1:<port>/v1 (the model server the program runs)")
    memory_allowed = "a fraction of the GPU's memory in (0, 1], e.g. 0.9"
    memory = r.decimal("modelServerGpuMemoryUtilization", Decimal("0.9"), memory_allowed) or Decimal(0)
    if not 0 < memory <= 1:
        raise r.fail("modelServerGpuMemoryUtilization", memory_allowed)
    args_allowed = ('a JSON list of extra vLLM flags, e.g. ["--max-model-len", "8192"], without '
                    + ", ".join(MODEL_SERVER_OWN_FLAGS))
    args = r.json_value("modelServerExtraArgs", [], list, args_allowed)
    for arg in args:
        if not isinstance(arg, str) or not arg or any(c in arg for c in "\r\n\0"):
            raise r.fail("modelServerExtraArgs", args_allowed, f"{arg!r} is not a one-line string")
        flag = arg.split("=", 1)[0]
        if flag in MODEL_SERVER_OWN_FLAGS:
            raise r.fail("modelServerExtraArgs", args_allowed, f"{flag} is set by the program")
    return {
        "model_server_port": parsed.port, "model_server_model": served[0],
        "model_server_image": r.matching("modelServerImage", _IMAGE, "an image reference like "
                                         "vllm/vllm-openai:v0.11.0", DEFAULT_MODEL_SERVER_IMAGE),
        "model_server_gpu_memory": float(memory), "model_server_args": tuple(args),
        "model_server_health_timeout_seconds": r.integer(
            "modelServerHealthTimeoutSeconds", DEFAULT_MODEL_SERVER_HEALTH_TIMEOUT_SECONDS, 30, 7200),
    }


def _tls(r: _Reader, hosts: tuple[HostSpec, ...], listed: bool, bind_address: str) -> dict[str, object]:
    """Caddy on each host terminates TLS for that host's URL; the gateway then listens on loopback."""
    mode = r.text("tlsMode", "automatic")
    if mode not in TLS_MODES:
        raise r.fail("tlsMode", "automatic (Caddy gets a certificate for gatewayUrl's host), provided "
                     "(tlsCertificate/tlsPrivateKey from ESC) or none (TLS terminated elsewhere)")
    if mode != "none":
        for index, spec in enumerate(hosts):
            problem = proxy_url_problem(mode, spec.url)
            if problem and listed:
                raise r.fail("gatewayHosts", problem[0], f"entry {index} ({spec.name!r}): url {spec.url!r} "
                             + problem[1])
            if problem:
                raise r.fail("gatewayUrl", *problem)
        if not ipaddress.ip_address(bind_address).is_loopback:
            raise r.fail("gatewayBindAddress", "a loopback address when tlsMode is automatic or provided "
                         "(Caddy fronts the gateway; bind other addresses only with tlsMode none)")
    return {
        "tls_mode": mode,
        "proxy_image": r.matching("proxyImage", _IMAGE, "an image reference like caddy:2.10",
                                  DEFAULT_PROXY_IMAGE),
        "acme_email": r.matching("acmeEmail", _EMAIL, "an email address for the ACME account"),
    }


def proxy_url_problem(mode: str, url: str) -> tuple[str, str] | None:
    """(allowed, reason) when Caddy (tlsMode automatic or provided) cannot serve `url`, else None."""
    parsed = urlparse(url)
    if parsed.scheme != "https" or parsed.path not in ("", "/"):
        return f"an https:// URL without a path when tlsMode is {mode} (Caddy serves that host name)", ""
    if mode == "automatic" and not re.search(r"[A-Za-z]", parsed.hostname or ""):
        return ("a DNS name that points at the host when tlsMode is automatic",
                "automatic HTTPS needs a DNS name")
    return None


def _launch(r: _Reader, tracker: TrackerSettings, gateway: GatewaySettings) -> LaunchSettings | None:
    if not r.boolean("launchInstance", False):
        return None
    why = " when launchInstance is true"
    if not gateway.enabled:
        raise r.fail("launchInstance", "false when gatewayEnabled is false (the host runs the gateway)")
    if not tracker.gpu_instance_type:
        raise r.fail("gpuInstanceType", "a Lambda instance type like gpu_1x_a10", "required" + why)
    for key in ("gatewayHost", "gatewayHostKey", "gpuHostStartedAt"):
        if r.text(key):
            raise r.fail(key, "empty" + why + " (the launched instance's IP, host key and launch time "
                         "are used)")
    region = r.required("lambdaRegion", "a Lambda Cloud region such as us-east-1", why)
    if not _LAMBDA_REGION.match(region):
        raise r.fail("lambdaRegion", "a Lambda Cloud region such as us-east-1")
    key_allowed = "the name of an SSH key registered in Lambda Cloud (the one sshPrivateKey opens)"
    ssh_key = r.required("lambdaSshKeyName", key_allowed, why)
    if not _SSH_KEY_NAME.match(ssh_key):
        raise r.fail("lambdaSshKeyName", key_allowed)
    return LaunchSettings(instance_type=tracker.gpu_instance_type, region=region, ssh_key_name=ssh_key,
                          api_url=tracker.lambda_cloud_api_url or DEFAULT_LAMBDA_CLOUD_API_URL)


def _gateway(r: _Reader) -> GatewaySettings:
    enabled = r.boolean("gatewayEnabled", True)
    port = r.integer("gatewayPort", DEFAULT_GATEWAY_PORT, 1, 65535)
    why = " when gatewayEnabled is true"
    gpu_base_url = r.url("gpuBaseUrl", DEFAULT_GPU_BASE_URL)
    model_map = _model_map(r)
    common: _BackendFields = {
        "port": port,
        "serverless_base_url": r.secret_url(
            "serverlessBaseUrl", "the pay-per-token provider's OpenAI-compatible https:// base URL, e.g. "
            "https://api.together.xyz/v1 (serverlessApiKey travels on it)", required=enabled, why=why),
        "gpu_base_url": gpu_base_url,
        "gpu_model_map": model_map,
        "force_backend": r.shared_rule(
            "forceBackend", "serverless, gpu, or empty (route by the rules)",
            lambda: validate_backend(r.text("forceBackend")) or ""),
    }
    listed = enabled and bool(r.text("gatewayHosts"))
    url = r.secret_url("gatewayUrl", GATEWAY_URL_ALLOWED, required=not listed)
    if not enabled:
        return GatewaySettings(enabled=False, url=url, **common)
    launched = r.boolean("launchInstance", False)  # host and host key come from the launched instance
    if listed:
        hosts = _hosts(r, launched)
        url = url or hosts[0].url  # the tracker reads any one gateway: they answer the same
        host, host_key = "", ""
    else:
        host = "" if launched else r.required("gatewayHost", "the GPU host's DNS name or IP address", why)
        if host and not _HOST.match(host):
            raise r.fail("gatewayHost", "a DNS name or an IP address")
    user_allowed = "a Unix user name (lower case letters, digits, _ and -)"
    user = r.required("gatewayUser", user_allowed, why)
    if not _USER.match(user):
        raise r.fail("gatewayUser", user_allowed)
    image_allowed = "an image reference like registry/name:tag or registry/name@sha256:<digest>"
    image = r.required("gatewayImage", image_allowed, why)
    if not _IMAGE.match(image):
        raise r.fail("gatewayImage", image_allowed)
    if not listed:
        host_key = "" if launched else r.required("gatewayHostKey", HOST_KEY_ALLOWED,
                                                  why + " (without it any host is trusted)")
        if host_key and not _HOST_KEY.match(host_key):
            raise r.fail("gatewayHostKey", HOST_KEY_ALLOWED)
        hosts = (HostSpec(name="", host=host, host_key=host_key, url=url),)
    home = "/root" if user == "root" else f"/home/{user}"
    remote_dir = r.matching("gatewayRemoteDir", _REMOTE_DIR, "an absolute path of A-Z a-z 0-9 . _ / -",
                            f"{home}/llm-gateway")
    if ".." in remote_dir.split("/"):
        raise r.fail("gatewayRemoteDir", "an absolute path without '..'")
    bind_address = _bind_address(r)
    return GatewaySettings(
        enabled=True,
        url=url,
        host=host,
        user=user,
        image=image,
        host_key=host_key,
        ssh_port=r.integer("gatewaySshPort", 22, 1, 65535),
        bind_address=bind_address,
        remote_dir=remote_dir,
        health_timeout_seconds=r.integer("gatewayHealthTimeoutSeconds", DEFAULT_HEALTH_TIMEOUT_SECONDS,
                                         5, 900),
        client_keys=_client_keys(r),
        hosts=hosts,
        **common,
        **_model_server(r, model_map, gpu_base_url),  # type: ignore[arg-type]
        **_tls(r, hosts, listed, bind_address),  # type: ignore[arg-type]
    )


HOST_KEY_ALLOWED = ("the host's public SSH key, e.g. from `ssh-keyscan -t ed25519 <host>`: "
                    "'ssh-ed25519 AAAA...'")
HOSTS_ALLOWED = (f"a list of at most {MAX_GATEWAY_HOSTS} {{name, host, hostKey, url}} (name: a-z, 0-9 and -, "
                 "starting with a letter, at most 20; host: a DNS name or IP address; hostKey: from "
                 "`ssh-keyscan -t ed25519 <host>`; url: the https:// URL that host's proxy serves); names, "
                 "hosts and urls unique. Shared by all hosts: gatewayUser, gatewayImage, gatewaySshPort, "
                 "gatewayPort, gatewayBindAddress, gatewayRemoteDir, tlsMode and the model server keys")
_HOST_FIELDS = ("name", "host", "hostKey", "url")


def _hosts(r: _Reader, launched: bool) -> tuple[HostSpec, ...]:
    """gatewayHosts: one gateway per entry, same configuration. The one-host keys are its shorthand,
    so setting both is ambiguous and refused."""
    if launched:
        raise r.fail("gatewayHosts", "empty when launchInstance is true (the launched instance is the one "
                     "host)")
    for key in ("gatewayHost", "gatewayHostKey"):
        if r.text(key):
            raise r.fail(key, "empty when gatewayHosts is set (each entry has its own host and hostKey)")
    entries = r.json_value("gatewayHosts", [], list, HOSTS_ALLOWED)
    if not entries or len(entries) > MAX_GATEWAY_HOSTS:
        raise r.fail("gatewayHosts", HOSTS_ALLOWED, f"{len(entries)} hosts")
    specs: list[HostSpec] = []
    for index, entry in enumerate(entries):
        def bad(reason: str, label: object = None, index: int = index) -> SettingsError:
            where = f"entry {index}" + (f" ({label!r})" if label else "")
            return r.fail("gatewayHosts", HOSTS_ALLOWED, f"{where}: {reason}")

        if not isinstance(entry, dict):
            raise bad("not an object")
        unknown = sorted(set(entry) - set(_HOST_FIELDS))
        name = entry.get("name")
        if unknown:
            raise bad(f"unknown field(s) {', '.join(map(repr, unknown))}", name)
        if not isinstance(name, str) or not _HOST_NAME.match(name):
            raise bad(f"name {name!r} is not allowed")
        values = {key: entry.get(key) for key in ("host", "hostKey", "url")}
        for key, value in values.items():
            if not isinstance(value, str) or not value.strip():
                raise bad(f"{key} is required", name)
        host, host_key, url = (str(values[k]).strip() for k in ("host", "hostKey", "url"))
        if not _HOST.match(host):
            raise bad(f"host {host!r} is not a DNS name or an IP address", name)
        if not _HOST_KEY.match(host_key):
            raise bad("hostKey is not a public SSH key line", name)
        problem = secret_url_problem(url)
        if problem:
            raise bad(f"url {url!r}: {problem}", name)
        spec = HostSpec(name=name, host=host, host_key=host_key, url=url.rstrip("/"))
        for field_name in ("name", "host", "url"):
            value = getattr(spec, field_name)
            earlier = [i for i, other in enumerate(specs) if getattr(other, field_name) == value]
            if earlier:
                raise bad(f"the {field_name} is already used by entry {earlier[0]}", name)
        specs.append(spec)
    return tuple(specs)


def _ledger(r: _Reader, gateway: GatewaySettings) -> LedgerSettings:
    """Several gateways must share one ledger: with SQLite each would hold (and spend) the whole
    budget and the tracker would see one host's spend only."""
    allowed = ("sqlite (one host), postgres (the ESC secret ledgerUrl: a postgresql:// DSN with "
               "sslmode=require or verify-full) or rds (the program creates an RDS PostgreSQL)")
    kind = r.text("ledgerKind", "sqlite")
    if kind not in LEDGER_KINDS:
        raise r.fail("ledgerKind", allowed)
    hosts = gateway.hosts if gateway.enabled else ()
    if kind == "sqlite" and len(hosts) > 1:
        raise SettingsError(
            f"invalid config {PROJECT}:gatewayHosts lists {len(hosts)} hosts with {PROJECT}:ledgerKind = "
            f"{r.raw.get('ledgerKind')!r}: each gateway would keep its own SQLite ledger and admit up to the "
            f"whole budget. Allowed: ledgerKind postgres or rds (a shared ledger), or one host")
    if kind != "rds":
        return LedgerSettings(kind=kind)
    if not gateway.enabled:
        raise r.fail("ledgerKind", "sqlite or postgres when gatewayEnabled is false (no host to reach an "
                     "RDS database the program would create)")
    for index, spec in enumerate(hosts):
        if spec.host and not _is_ipv4(spec.host):
            key, where = (("gatewayHosts", f"entry {index} ({spec.name!r}): ") if spec.name
                          else ("gatewayHost", ""))
            raise r.fail(key, "an IPv4 address when ledgerKind is rds",
                         f"{where}the database admits each host's address/32, so a DNS name cannot be used")
    instance_class = r.matching("ledgerDbInstanceClass", _DB_INSTANCE_CLASS, "an RDS instance class like "
                                "db.t4g.micro", DEFAULT_LEDGER_DB_INSTANCE_CLASS)
    return LedgerSettings(
        kind=kind,
        db_instance_class=instance_class,
        db_allocated_storage_gb=r.integer("ledgerDbAllocatedStorageGb", 20, 20, 1000),
        db_backup_retention_days=r.integer("ledgerDbBackupRetentionDays", 7, 1, 35),
        db_deletion_protection=r.boolean("ledgerDbDeletionProtection", True),
    )


def _is_ipv4(value: str) -> bool:
    try:
        return ipaddress.ip_address(value).version == 4
    except ValueError:
        return False


def _client_keys(r: _Reader) -> tuple[ClientKeySpec, ...]:
    """Not r.shared_rule: that quotes the raw value, and a token pasted here must stay unseen."""
    try:
        return parse_specs(r.text("gatewayClientKeys"))
    except ConfigError as exc:
        raise SettingsError(f"invalid config {PROJECT}:gatewayClientKeys: {exc} (value not shown). "
                            f"Allowed: {CLIENT_KEYS_ALLOWED}") from None


def _tracker(r: _Reader) -> TrackerSettings:
    schedule, period = _schedule(r)
    retention_allowed = f"one of {', '.join(map(str, cloudwatch_contract.LOG_RETENTION_DAYS))}"
    retention = r.integer("logRetentionDays", cloudwatch_contract.DEFAULT_LOG_RETENTION_DAYS, 1, 3653)
    if retention not in cloudwatch_contract.LOG_RETENTION_DAYS:
        raise r.fail("logRetentionDays", retention_allowed)
    hourly_allowed = "a USD amount >= 0 per GPU hour (at most 12 decimals), e.g. 0.75"
    hourly = r.decimal("gpuHourlyUsd", None, hourly_allowed)
    if hourly is not None and hourly < 0:
        raise r.fail("gpuHourlyUsd", hourly_allowed)
    if hourly is not None:  # the tracker prices in whole picodollars and would refuse it at every run
        raw_hourly = r.text("gpuHourlyUsd")
        r.shared_rule("gpuHourlyUsd", hourly_allowed, lambda: usd_to_pico(raw_hourly, name="gpuHourlyUsd"))
    started = r.text("gpuHostStartedAt")
    if started:
        allowed = "an ISO 8601 time with a UTC offset, e.g. 2026-01-01T00:00:00+00:00"
        try:
            moment = datetime.fromisoformat(started)
        except ValueError:
            raise r.fail("gpuHostStartedAt", allowed) from None
        if moment.tzinfo is None:
            raise r.fail("gpuHostStartedAt", allowed, "no UTC offset")
    return TrackerSettings(
        schedule=schedule,
        period_seconds=period,
        log_retention_days=retention,
        gpu_instance_type=r.matching("gpuInstanceType", _INSTANCE_TYPE,
                                     "a Lambda instance type like gpu_1x_a10"),
        gpu_hourly_usd=hourly,
        gpu_host_started_at=started,
        lambda_cloud_api_url=r.secret_url(
            "lambdaCloudApiUrl", "the Lambda Cloud API's https:// base URL, e.g. "
            "https://cloud.lambda.ai/api/v1 (the API key travels on it)", required=False),
    )


def _export(r: _Reader) -> ExportSettings:
    """usageExportEnabled writes the ledger to S3 hourly; snowflakeEnabled loads it into AI_INSIGHTS."""
    enabled = r.boolean("usageExportEnabled", False)
    schedule = r.text("usageExportSchedule", DEFAULT_SCHEDULE)
    try:
        rate_interval_seconds(schedule)
    except ValueError as exc:
        raise r.fail("usageExportSchedule", SCHEDULE_ALLOWED, str(exc)) from None
    if not r.boolean("snowflakeEnabled", False):
        return ExportSettings(enabled, schedule)
    if not enabled:
        raise r.fail("snowflakeEnabled", "true only together with usageExportEnabled: true",
                     "Snowpipe loads the export's S3 objects")
    ident = "an unquoted Snowflake identifier (a letter, then letters, digits or _)"
    why = " when snowflakeEnabled is true"
    names = {key: r.required(key, ident, why).upper() for key in
             ("snowflakeOrganization", "snowflakeAccount", "snowflakeRole")}
    names["snowflakeDatabase"] = r.text("snowflakeDatabase", DEFAULT_INSIGHTS_DATABASE).upper()
    for key, value in names.items():
        if not INSIGHTS_IDENTIFIER.match(value):
            raise r.fail(key, ident)
    user = r.required("snowflakeUser", "the Snowflake user Pulumi signs in as (key-pair auth)", why)
    if not re.match(r"^[A-Za-z0-9_.@-]{1,255}$", user):
        raise r.fail("snowflakeUser", "letters, digits and _ . @ -")
    return ExportSettings(enabled, schedule, True, names["snowflakeOrganization"], names["snowflakeAccount"],
                          user, names["snowflakeRole"], names["snowflakeDatabase"])


def _gpu_fits_budgets(r: _Reader, tracker: TrackerSettings, daily_usd: Decimal, monthly_usd: Decimal,
                      thresholds: Thresholds) -> None:
    """The GPU host's hours count as spend: if they alone reach the warning threshold, the cost
    alarms fire every day whatever the traffic, so such a stack is refused at preview."""
    hourly = tracker.gpu_hourly_usd
    if not tracker.gpu_instance_type or hourly is None:
        return
    share = thresholds.warning / 100
    for period, hours, budget, key in (("day", 24, daily_usd, "dailyBudgetUsd"),
                                       ("31-day month", 24 * 31, monthly_usd, "monthlyBudgetUsd")):
        host = hourly * hours
        if host >= budget * share:
            quoted = (f"{PROJECT}:gpuHourlyUsd = {r.raw.get('gpuHourlyUsd')!r} with "
                      f"{PROJECT}:{key} = {r.raw.get(key)!r}")
            raise SettingsError(
                f"invalid config {quoted}: the GPU host alone costs {host} USD a {period}, at or above "
                f"the {thresholds.warning}% warning threshold ({budget * share} USD), so the cost alarms "
                f"would fire on its hours alone. Allowed: {key} above {(host / share).normalize()} USD, "
                "a cheaper host, or no gpuInstanceType (no dedicated host)")


def parse_settings(stack: str, region: str | None, raw: Mapping[str, str | None]) -> Settings:
    """Validate raw config strings (as Pulumi hands them over) into Settings."""
    r = _Reader(raw)
    if not region or not re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", region):
        raise SettingsError(f"invalid config aws:region = {region!r}. Allowed: an AWS region like us-east-1")
    budgets, daily_usd, monthly_usd = _budgets(r)
    ratio_raw = r.text("serverlessRatio", str(DEFAULT_SERVERLESS_RATIO))
    ratio_allowed = "a number in [0, 1] (share of requests sent to the serverless API)"
    try:
        ratio_number = float(ratio_raw)
    except ValueError:
        raise r.fail("serverlessRatio", ratio_allowed) from None
    zone = r.text("timeZone", "UTC")
    thresholds = _thresholds(r)
    tracker = _tracker(r)
    _gpu_fits_budgets(r, tracker, daily_usd, monthly_usd, thresholds)
    gateway = _gateway(r)
    return Settings(
        project=PROJECT,
        stack=stack,
        region=region,
        namespace=_namespace(r),
        budgets=budgets,
        thresholds=thresholds,
        daily_budget_usd=daily_usd,
        monthly_budget_usd=monthly_usd,
        serverless_ratio=r.shared_rule("serverlessRatio", ratio_allowed,
                                       lambda: validate_ratio(ratio_number)),
        time_zone=r.shared_rule("timeZone", "an IANA time zone such as UTC or Europe/Berlin",
                                lambda: parse_zone(zone).key),
        alert_emails=_emails(r),
        encrypt_alert_topic=r.boolean("encryptAlertTopic", True),
        tracker=tracker,
        gateway=gateway,
        launch=_launch(r, tracker, gateway),
        export=_export(r),
        permissions_boundary_arn=r.matching(iam_boundary.KEY, iam_boundary.ARN, iam_boundary.ALLOWED) or None,
        ledger=_ledger(r, gateway),
    )


def load_settings() -> Settings:
    """Read the current stack's config through Pulumi and validate it."""
    config = pulumi.Config(PROJECT)
    raw = {key: config.get(key) for key in KEYS}
    return parse_settings(pulumi.get_stack(), pulumi.Config("aws").get("region"), raw)


def load_secrets(settings: Settings) -> SecretSettings:
    """Secrets from ESC: required ones fail preview when missing; none has a default."""
    config = pulumi.Config(PROJECT)
    gateway = settings.gateway.enabled
    provided = gateway and settings.gateway.tls_mode == "provided"
    # Optional in ESC, required with tlsMode provided: then preview fails naming the missing one.
    tls = ((config.get_secret("tlsCertificate"), config.get_secret("tlsPrivateKey")) if provided
           else (None, None))
    for key, value in zip(("tlsCertificate", "tlsPrivateKey"), tls, strict=True):
        if provided and value is None:
            raise SettingsError(f"missing secret config {PROJECT}:{key}: required when tlsMode is provided. "
                                "Allowed: a PEM value in the stack's ESC environment")
    return SecretSettings(
        gateway_admin_token=config.require_secret("gatewayAdminToken"),
        lambda_api_key=config.require_secret("lambdaApiKey"),
        gateway_client_tokens=_client_tokens(config, settings),
        gateway_client_key_tokens=_client_key_tokens(config, settings),
        # The pay-per-token provider's key: not the Lambda Cloud API key (any provider may serve).
        serverless_api_key=config.require_secret("serverlessApiKey") if gateway else None,
        ssh_private_key=config.require_secret("sshPrivateKey") if gateway else None,
        slack_webhook_url=config.get_secret("slackWebhookUrl"),
        hugging_face_token=config.get_secret("huggingFaceToken"),  # only gated models need one
        tls_certificate=tls[0],
        tls_private_key=tls[1],
        snowflake_private_key=_snowflake_key(config, settings),
        ledger_url=_ledger_url(config, settings),
    )


def _ledger_url(config: pulumi.Config, settings: Settings) -> pulumi.Output[str] | None:
    """ledgerKind postgres: the DSN comes from ESC (its password with it); checked where it is rendered."""
    url = config.get_secret("ledgerUrl")
    kind = settings.ledger.kind
    if kind == "postgres" and url is None:
        raise SettingsError(f"missing secret config {PROJECT}:ledgerUrl: required when ledgerKind is "
                            "postgres. "
                            f"Allowed: {LEDGER_URL_ALLOWED}, as a secret in the stack's ESC environment")
    if kind != "postgres" and url is not None:
        raise SettingsError(f"secret config {PROJECT}:ledgerUrl is set but {PROJECT}:ledgerKind is {kind!r}. "
                            "Allowed: ledgerKind postgres to use it, or remove ledgerUrl from ESC")
    return url


def _client_tokens(config: pulumi.Config, settings: Settings) -> pulumi.Output[str] | None:
    """The unnamed tokens (key `default`): required unless gatewayClientKeys names the clients."""
    if not settings.gateway.enabled:
        return None
    if settings.gateway.client_keys:
        return config.get_secret("gatewayClientTokens")
    return config.require_secret("gatewayClientTokens")


def _client_key_tokens(config: pulumi.Config, settings: Settings) -> pulumi.Output[Any] | None:
    if not (settings.gateway.enabled and settings.gateway.client_keys):
        return None
    # The key as a literal: the bootstrap's ESC skeleton test finds every secret read by its name.
    tokens = config.get_secret_object("gatewayClientKeyTokens")
    if tokens is None:
        raise SettingsError(f"missing secret config {PROJECT}:{CLIENT_KEY_TOKENS}: required when "
                            "gatewayClientKeys is set. Allowed: an object key name -> token (each at least "
                            "16 printable characters) in the stack's ESC environment")
    return tokens


def _snowflake_key(config: pulumi.Config, settings: Settings) -> pulumi.Output[str] | None:
    """Only stacks with snowflakeEnabled need it, so the ESC skeleton lists it as optional."""
    key = config.get_secret("snowflakePrivateKey")
    if settings.export.snowflake and key is None:
        raise SettingsError(f"missing secret {PROJECT}:snowflakePrivateKey: required when snowflakeEnabled "
                            "is true. Allowed: the PEM private key of snowflakeUser, as a secret in the "
                            "stack's ESC environment")
    return key
