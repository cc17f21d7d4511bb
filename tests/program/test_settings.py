"""Stack settings: both committed stack files validate, and every bad key fails naming key, value, rule."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import yaml

from components.settings import KEYS, SECRET_KEYS, SettingsError, parse_settings
from tests.program.harness import ESC_STAND_IN, PROJECT, REGION, REPO, project_config, run_program

STACKS = ("staging", "prod")


@pytest.mark.parametrize("stack", STACKS)
def test_committed_stack_file_loads_and_validates(stack):
    settings = parse_settings(stack, REGION, project_config(stack))
    assert settings.stack == stack
    assert settings.gateway.enabled and settings.gateway.host_key.startswith("ssh-ed25519 ")
    assert settings.gateway.url.startswith("https://")


@pytest.mark.parametrize("stack", STACKS)
def test_stack_file_imports_its_esc_environment_and_holds_no_secret(stack):
    data = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())
    assert data["environment"] == [f"{PROJECT}/{stack}"]
    keys = {key.split(":", 1)[1] for key in data["config"] if key.startswith(f"{PROJECT}:")}
    assert keys <= set(KEYS), keys - set(KEYS)  # every key is one the program reads (no typos)
    assert not keys & set(SECRET_KEYS)
    text = (REPO / f"Pulumi.{stack}.yaml").read_text()
    assert "secure:" not in text and "PRIVATE KEY" not in text


def test_prod_has_the_plan_budgets_and_staging_is_smaller():
    prod = parse_settings("prod", REGION, project_config("prod"))
    staging = parse_settings("staging", REGION, project_config("staging"))
    assert (prod.daily_budget_usd, prod.monthly_budget_usd) == (Decimal(50), Decimal(1000))
    assert staging.daily_budget_usd < prod.daily_budget_usd
    assert staging.monthly_budget_usd < prod.monthly_budget_usd
    assert prod.encrypt_alert_topic and not staging.encrypt_alert_topic
    assert staging.tracker.period_seconds == 900 and prod.tracker.period_seconds == 3600


def test_defaults_apply_when_optional_keys_are_absent():
    required = {k: v for k, v in project_config("prod").items()
                if k in {"dailyBudgetUsd", "monthlyBudgetUsd", "gatewayHost", "gatewayUser", "gatewayImage",
                         "gatewayHostKey", "gatewayUrl", "serverlessBaseUrl"}}
    settings = parse_settings("prod", REGION, required)
    assert (settings.thresholds.warning, settings.thresholds.critical) == (80, 100)
    assert settings.serverless_ratio == 0.8
    assert settings.tracker.schedule == "rate(1 hour)" and settings.tracker.period_seconds == 3600
    assert settings.namespace == "LLMCostGovernance" and settings.time_zone == "UTC"
    assert settings.encrypt_alert_topic is True and settings.tracker.log_retention_days == 30
    assert settings.gateway.remote_dir == "/home/ubuntu/llm-gateway" and settings.gateway.port == 8080


# (key, bad value, text the "allowed" part must contain)
INVALID = [
    ("dailyBudgetUsd", "0", "> 0"),
    ("dailyBudgetUsd", "-5", "> 0"),
    ("dailyBudgetUsd", "fifty", "USD amount"),
    ("monthlyBudgetUsd", "40", "monthlyBudgetUsd >= dailyBudgetUsd"),
    ("monthlyBudgetUsd", None, "USD amount"),
    ("warningThresholdPercent", "0", "0 < warningThresholdPercent"),
    ("warningThresholdPercent", "100", "warningThresholdPercent < criticalThresholdPercent"),
    ("criticalThresholdPercent", "101", "criticalThresholdPercent <= 100"),
    ("criticalThresholdPercent", "70", "warningThresholdPercent < criticalThresholdPercent"),
    ("serverlessRatio", "1.5", "[0, 1]"),
    ("serverlessRatio", "-0.1", "[0, 1]"),
    ("serverlessRatio", "most", "[0, 1]"),
    ("trackerSchedule", "every hour", "rate(N unit)"),
    ("trackerSchedule", "rate(1 hours)", "singular when N is 1"),
    ("trackerSchedule", "rate(0 minutes)", "rate(N unit)"),
    ("trackerSchedule", "cron(0 * * * *)", "cron("),
    ("trackerSchedule", "rate(2 days)", "at most 86400"),
    ("alarmPeriodSeconds", "1800", "equal to the push interval"),
    ("alarmPeriodSeconds", "90", "multiple of 60"),
    ("metricNamespace", "AWS/Billing", "not starting with the reserved 'AWS/'"),
    ("metricNamespace", "has space", "A-Z a-z 0-9"),
    ("alertEmails", json.dumps(["ops@example.com", "not-an-email"]), "email addresses"),
    ("alertEmails", json.dumps({"a": 1}), "email addresses"),
    ("timeZone", "Mars/Olympus", "IANA time zone"),
    ("logRetentionDays", "10", "one of 1, 3, 5"),
    ("encryptAlertTopic", "maybe", "true or false"),
    ("gatewayEnabled", "yes please", "true or false"),
    ("gatewayHost", None, "DNS name or IP address"),
    ("gatewayHost", "host; rm -rf /", "DNS name or an IP address"),
    ("gatewayUser", None, "Unix user name"),
    ("gatewayUser", "Root User", "Unix user name"),
    ("gatewayImage", None, "image reference"),
    ("gatewayImage", "ghcr.io/x/gw:1 && curl evil", "image reference"),
    ("gatewayHostKey", None, "public SSH key"),
    ("gatewayHostKey", "AAAAC3NzaC1lZDI1NTE5AAAAIDNM", "public SSH key"),
    ("gatewayPort", "70000", "[1, 65535]"),
    ("forceBackend", "tpu", "serverless, gpu, or empty"),
    ("gatewaySshPort", "ssh", "[1, 65535]"),
    ("gatewayBindAddress", "everywhere", "IP address"),
    ("gatewayUrl", None, "https://"),
    ("gatewayUrl", "http://gateway.example.com", "https://"),
    ("gatewayUrl", "gateway.example.com", "https://"),
    ("gatewayRemoteDir", "relative/dir", "absolute path"),
    ("gatewayRemoteDir", "/home/ubuntu/../../etc", "without '..'"),
    ("gatewayHealthTimeoutSeconds", "1", "[5, 900]"),
    ("serverlessBaseUrl", "ftp://x", "https:// base URL"),
    # Required: the old default pointed at an endpoint shut down in 2025 (every request would fail).
    ("serverlessBaseUrl", None, "https:// base URL"),
    # The provider's key travels on it: plain http to a remote host was accepted and then used.
    ("serverlessBaseUrl", "http://api.example.com/v1", "https:// base URL"),
    ("gpuBaseUrl", "http://127.0.0.1:8000/v1?x=1", "without credentials, query or fragment"),
    ("gpuModelMap", json.dumps({"gpt-5": "x"}), "catalog ids"),
    ("gpuModelMap", json.dumps(["llama3.1-8b-instruct"]), "JSON object"),
    ("gpuInstanceType", "GPU 1x A10", "instance type"),
    ("gpuHourlyUsd", "-1", ">= 0"),
    # The tracker prices in whole picodollars and refuses this at every run: preview must refuse it.
    ("gpuHourlyUsd", "0.7500000000001", "at most 12 decimals"),
    # The tracker sends the Lambda Cloud API key on this URL and refuses plain http at every run.
    ("lambdaCloudApiUrl", "http://cloud.lambda.ai/api/v1", "https://"),
    ("lambdaCloudApiUrl", "https://cloud.lambda.ai/api/v1?debug=1", "https://"),
    ("gpuHostStartedAt", "2026-01-01T00:00:00", "UTC offset"),
    ("gpuHostStartedAt", "yesterday", "ISO 8601"),
    # The host's hours count as spend: alone at the 80 % warning, every cost alarm fires daily.
    ("gpuHourlyUsd", "2.49", "dailyBudgetUsd above 74.7 USD"),        # 59.76 USD/day >= 40
    ("gpuHourlyUsd", "1.29", "monthlyBudgetUsd above 1199.7 USD"),    # 959.76 USD/31 days >= 800
]


@pytest.mark.parametrize(("key", "value", "allowed"), INVALID, ids=[f"{k}={v}" for k, v, _ in INVALID])
def test_each_invalid_key_fails_with_key_value_and_what_is_allowed(key, value, allowed):
    raw = {**project_config("prod"), key: value}
    with pytest.raises(SettingsError) as info:
        parse_settings("prod", REGION, raw)
    message = str(info.value)
    assert f"{PROJECT}:{key} = {value!r}" in message
    assert "Allowed:" in message and allowed in message


def test_cron_schedule_needs_an_explicit_alarm_period_and_then_uses_it():
    raw = {**project_config("prod"), "trackerSchedule": "cron(5 * * * ? *)"}
    with pytest.raises(SettingsError, match="alarmPeriodSeconds"):
        parse_settings("prod", REGION, raw)
    settings = parse_settings("prod", REGION, {**raw, "alarmPeriodSeconds": "3600"})
    assert settings.tracker.period_seconds == 3600


def test_gateway_disabled_needs_only_the_url():
    raw = {k: v for k, v in project_config("prod").items()
           if not k.startswith("gateway") and k != "serverlessBaseUrl"}
    settings = parse_settings("prod", REGION, {**raw, "gatewayEnabled": "false",
                                               "gatewayUrl": "https://gw.example.com/"})
    assert not settings.gateway.enabled and settings.gateway.url == "https://gw.example.com"


def test_bad_region_fails():
    with pytest.raises(SettingsError, match="aws:region"):
        parse_settings("prod", "mars-1", project_config("prod"))


def test_an_invalid_key_fails_the_whole_program_before_any_resource():
    """What `pulumi preview` would show: the program raises before registering anything."""
    with pytest.raises(SettingsError, match=r"dailyBudgetUsd = '-3'"):
        run_program("prod", {"dailyBudgetUsd": "-3"})


def test_a_missing_esc_secret_fails_the_program_naming_it():
    secrets = {k: v for k, v in ESC_STAND_IN["prod"].items() if k != "gatewayAdminToken"}
    with pytest.raises(Exception, match="gatewayAdminToken"):
        run_program("prod", secrets=secrets)


def test_gateway_disabled_program_creates_no_remote_commands():
    run = run_program("staging", {"gatewayEnabled": "false"})
    assert not [r for r in run.resources if r.typ.startswith("command:")]
    assert run.outputs["gatewayUrl"] == project_config("staging")["gatewayUrl"]


def test_config_reference_documents_every_key_the_program_reads():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Configuration reference"):]
    section = section[:section.index("\n## ", 3)]
    documented = {line.split("`")[1] for line in section.splitlines() if line.startswith("| `")}
    assert set(KEYS) | set(SECRET_KEYS) | {"aws:region"} == documented
