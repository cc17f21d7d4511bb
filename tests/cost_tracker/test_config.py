"""TrackerConfig: each bad or missing variable is named with what is allowed; all problems at once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from cost_tracker import env_names as env
from cost_tracker.config import TrackerConfigError, load_tracker_config

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:llm/gateway-admin-token-AbCdEf"


def _env(**overrides: str) -> dict[str, str]:
    base = {env.METRIC_NAMESPACE: "LLMCostGovernance", env.STACK_NAME: "prod", env.DAILY_BUDGET_USD: "50",
            env.MONTHLY_BUDGET_USD: "1000", env.GATEWAY_URL: "https://gateway.example.com/",
            env.GATEWAY_TOKEN_SECRET_ARN: ARN}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_a_minimal_environment_gets_the_documented_defaults():
    settings = load_tracker_config(_env())
    assert settings.gateway_url == "https://gateway.example.com"
    assert settings.budgets.daily_pico == 50 * 10**12
    assert (settings.thresholds.warning, settings.thresholds.critical) == (Decimal(80), Decimal(100))
    assert settings.time_zone == "UTC" and settings.zone is UTC
    assert settings.lambda_api_url == "https://cloud.lambda.ai/api/v1"
    assert settings.metric_period_seconds == 3600
    assert settings.gpu_instance_type is None and settings.lambda_api_key_secret is None


def test_every_problem_is_reported_in_one_message():
    with pytest.raises(TrackerConfigError) as info:
        load_tracker_config(_env(**{env.STACK_NAME: "", env.DAILY_BUDGET_USD: "lots",
                                    env.TIME_ZONE: "Mars/Olympus", env.GATEWAY_TOKEN_SECRET_ARN: "  "}))
    message = str(info.value)
    for name in (env.STACK_NAME, env.DAILY_BUDGET_USD, env.TIME_ZONE, env.GATEWAY_TOKEN_SECRET_ARN):
        assert name in message
    assert "IANA zone" in message and "give USD as a decimal" in message


@pytest.mark.parametrize(("name", "value", "match"), [
    (env.DAILY_BUDGET_USD, "0", r"DAILY_BUDGET_USD: must be > 0 USD"),
    (env.DAILY_BUDGET_USD, "-5", r"DAILY_BUDGET_USD: must be > 0 USD"),
    (env.DAILY_BUDGET_USD, "nan", r"DAILY_BUDGET_USD: 'nan' is not a finite number"),
    (env.MONTHLY_BUDGET_USD, "20", r"monthly budget .* must be >= daily budget"),
    (env.WARNING_THRESHOLD_PERCENT, "100", r"WARNING_THRESHOLD_PERCENT/CRITICAL_THRESHOLD_PERCENT: warning"),
    (env.CRITICAL_THRESHOLD_PERCENT, "150", r"critical threshold must be in \(0, 100\]"),
    (env.WARNING_THRESHOLD_PERCENT, "eighty", r"WARNING_THRESHOLD_PERCENT: 'eighty' is not a number"),
    (env.GATEWAY_URL, "gateway.example.com", r"GATEWAY_URL: not an http\(s\) URL"),
    (env.GATEWAY_URL, "http://gateway.example.com", r"GATEWAY_URL: plain http to a host other than loopback"),
    (env.GATEWAY_URL, "https://gw.example.com/?x=1", r"GATEWAY_URL: a base URL carries no credentials"),
    (env.METRIC_NAMESPACE, "AWS/Billing", r"METRIC_NAMESPACE: .* not start with 'AWS/'"),
    (env.STACK_NAME, "s" * 1025, r"STACK_NAME: at most 1024 printable ASCII characters"),
    (env.STACK_NAME, "prød", r"STACK_NAME: at most 1024 printable ASCII characters"),
    (env.GPU_HOST_STARTED_AT, "yesterday", r"GPU_HOST_STARTED_AT: 'yesterday' is not an ISO 8601"),
    (env.GPU_HOST_STARTED_AT, "2026-03-01T00:00:00", r"GPU_HOST_STARTED_AT: .* has no UTC offset"),
    (env.GPU_HOURLY_USD, "0.1234567890123", r"GPU_HOURLY_USD: .* more precision than a picodollar"),
    (env.METRIC_PERIOD_SECONDS, "90", r"METRIC_PERIOD_SECONDS: '90' must be a whole number of minutes"),
    (env.METRIC_PERIOD_SECONDS, "604800", r"METRIC_PERIOD_SECONDS: .* 60-86400"),
    (env.LAMBDA_CLOUD_API_URL, "ftp://cloud.lambda.ai", r"LAMBDA_CLOUD_API_URL: not an http\(s\) URL"),
])
def test_each_bad_value_is_named_with_what_is_allowed(name, value, match):
    with pytest.raises(TrackerConfigError, match=match):
        load_tracker_config(_env(**{name: value}))


@pytest.mark.parametrize("name", env.REQUIRED)
def test_each_required_variable_is_required(name):
    with pytest.raises(TrackerConfigError, match=rf"{name}: required, not set"):
        load_tracker_config(_env(**{name: None}))


def test_a_gpu_needs_a_price_source():
    with pytest.raises(TrackerConfigError, match=r"GPU_HOURLY_USD: required when GPU_INSTANCE_TYPE is set"):
        load_tracker_config(_env(**{env.GPU_INSTANCE_TYPE: "gpu_1x_a10"}))
    with_key = load_tracker_config(_env(**{env.GPU_INSTANCE_TYPE: "gpu_1x_a10",
                                     env.LAMBDA_API_KEY_SECRET_ARN: ARN}))
    assert with_key.gpu_hourly_pico is None and with_key.lambda_api_key_secret == ARN
    priced = load_tracker_config(_env(**{env.GPU_INSTANCE_TYPE: "gpu_1x_a10", env.GPU_HOURLY_USD: "0.75",
                                   env.GPU_HOST_STARTED_AT: "2026-03-01T08:00:00+01:00"}))
    assert priced.gpu_hourly_pico == 75 * 10**10
    assert priced.gpu_started_at == datetime(2026, 3, 1, 7, tzinfo=UTC)


def test_loopback_http_is_allowed_for_local_runs_and_zones_resolve():
    settings = load_tracker_config(_env(**{env.GATEWAY_URL: "http://127.0.0.1:8080",
                                           env.TIME_ZONE: "Asia/Tokyo", env.METRIC_PERIOD_SECONDS: "900"}))
    assert settings.gateway_url == "http://127.0.0.1:8080"
    assert str(settings.zone) == "Asia/Tokyo"
    assert settings.metric_period_seconds == 900

