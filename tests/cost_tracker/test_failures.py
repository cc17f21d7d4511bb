"""A cost guard fails loud: every bad read raises with a clear message and pushes nothing."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

import pytest

from cost_tracker import env_names as env
from cost_tracker.config import load_tracker_config
from cost_tracker.handler import handler
from cost_tracker.run import InconsistentUsageError, run_once
from cost_tracker.secrets import SecretCache, SecretError
from cost_tracker.usage import UsageReadError
from standins.gateway_usage import gateway_standin

from .conftest import (
    GATEWAY_TOKEN,
    LAMBDA_API_KEY,
    NOW,
    SMALL,
    add_usage,
    log_fields,
    logged,
    make_deps,
    make_env,
)


def _nothing_pushed(aws) -> bool:
    return aws.cloudwatch.list_metrics(Namespace="LLMCostGovernance/test")["Metrics"] == []


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _negative_cost(payload, period):
    payload["breakdown"][0]["cost_pico"] = -5
    return payload


def _nan_latency(payload, period):
    payload["breakdown"][0]["avg_latency_ms"] = float("nan")
    return payload


def _month_served_for_day(payload, period):
    payload["period"] = "month"
    return payload


def _start_a_day_late(payload, period):
    payload["start"] = "2026-03-17T00:00:00+00:00"
    payload["end"] = "2026-03-18T00:00:00+00:00"
    return payload


def _totals_disagree(payload, period):
    payload["totals"]["requests"] += 1
    return payload


def _extra_field(payload, period):
    payload["breakdown"][0]["discount_usd"] = "1"
    return payload


def _a_list(payload, period):
    return [payload]


@pytest.mark.parametrize(("fault", "mutate", "match"), [
    ("500", None, r"HTTP 500"),
    ("malformed", None, r"not JSON"),
    (None, _negative_cost, r"breakdown\[0\]\.cost_pico: must not be negative"),
    (None, _nan_latency, r"avg_latency_ms"),
    (None, _month_served_for_day, r"period: asked for 'day', got 'month'"),
    (None, _start_a_day_late, r"start: asked for 2026-03-16T00:00:00\+00:00"),
    (None, _totals_disagree, r"totals\.requests: .* disagrees"),
    (None, _extra_field, r"breakdown\[0\]: unexpected discount_usd"),
    (None, _a_list, r"expected an object, got list"),
    ("unauthorized", None, r"HTTP 401 \(the gateway rejected the admin token\)"),
])
def test_bad_gateway_answers_raise_and_push_nothing(aws, ledger, gateway, caplog, fault, mutate, match):
    add_usage(ledger, NOW - timedelta(hours=1), SMALL)
    gateway.fault, gateway.mutate = fault, mutate
    with caplog.at_level(logging.DEBUG, logger="cost_tracker"), \
            pytest.raises(UsageReadError, match=match) as info:
        run_once(load_tracker_config(make_env(aws, gateway.url)), make_deps(aws), now=NOW)
    assert _nothing_pushed(aws)
    assert GATEWAY_TOKEN not in str(info.value)
    assert GATEWAY_TOKEN not in logged(caplog)


def test_server_errors_are_retried_before_giving_up(aws, ledger, gateway):
    gateway.fault = "500"
    with pytest.raises(UsageReadError):
        run_once(load_tracker_config(make_env(aws, gateway.url)), make_deps(aws), now=NOW)
    assert len(gateway.requests) == 3  # the shared policy: three attempts, then fail


def test_a_transient_503_is_retried_and_the_run_succeeds(aws, ledger, gateway):
    add_usage(ledger, NOW - timedelta(hours=1), SMALL)
    gateway.fault = "503-once"
    result = run_once(load_tracker_config(make_env(aws, gateway.url)), make_deps(aws), now=NOW)
    assert result.report["metrics"]["pushed"] is True
    assert len(gateway.requests) == 3  # 503, then day, then month


def test_gateway_down_raises_and_pushes_nothing(aws):
    url = _closed_port_url()
    with pytest.raises(UsageReadError, match=r"unreachable at http://127\.0\.0\.1:\d+ \(ConnectionError\)"):
        run_once(load_tracker_config(make_env(aws, url)), make_deps(aws), now=NOW)
    assert _nothing_pushed(aws)


def test_a_slow_gateway_times_out_and_pushes_nothing(aws, ledger, gateway):
    gateway.fault, gateway.delay = "slow", 1.0
    with pytest.raises(UsageReadError, match=r"timed out after 0\.3 s"):
        run_once(load_tracker_config(make_env(aws, gateway.url)), make_deps(aws, timeout=(0.5, 0.3)), now=NOW)
    assert _nothing_pushed(aws)
    assert len(gateway.requests) == 1  # read timeouts are not retried (the work may be done)


def test_a_gateway_in_another_time_zone_is_a_wrong_period(aws, ledger):
    # The gateway counts days in Berlin, the tracker in UTC: the bounds differ, so nothing is trusted.
    with gateway_standin(ledger, GATEWAY_TOKEN, lambda: NOW, time_zone="Europe/Berlin") as berlin:
        with pytest.raises(UsageReadError, match=r"start: asked for"):
            run_once(load_tracker_config(make_env(aws, berlin.url)), make_deps(aws), now=NOW)
    assert _nothing_pushed(aws)


def test_a_missing_gateway_secret_raises_and_pushes_nothing(aws, gateway):
    aws.secretsmanager.delete_secret(SecretId=aws.token_arn, ForceDeleteWithoutRecovery=True)
    with pytest.raises(SecretError, match=r"cannot read secret .*gateway-admin-token.*ResourceNotFound"):
        run_once(load_tracker_config(make_env(aws, gateway.url)), make_deps(aws), now=NOW)
    assert _nothing_pushed(aws)
    assert gateway.requests == []


def test_a_missing_lambda_api_key_secret_raises_and_pushes_nothing(aws, gateway):
    environ = make_env(aws, gateway.url, **{env.GPU_INSTANCE_TYPE: "gpu_1x_a10",
                                            env.GPU_HOURLY_USD: "0.75",
                                            env.LAMBDA_API_KEY_SECRET_ARN: aws.api_key_arn + "-gone"})
    with pytest.raises(SecretError, match=r"lambda-api-key.*-gone"):
        run_once(load_tracker_config(environ), make_deps(aws), now=NOW)
    assert _nothing_pushed(aws)


def test_a_binary_secret_is_refused_by_name(aws, gateway):
    arn = aws.secretsmanager.create_secret(Name="llm/binary-token", SecretBinary=b"\x00\x01")["ARN"]
    with pytest.raises(SecretError, match=r"secret .*binary-token.* has no SecretString"):
        run_once(load_tracker_config(make_env(aws, gateway.url, **{env.GATEWAY_TOKEN_SECRET_ARN: arn})),
                 make_deps(aws), now=NOW)
    assert _nothing_pushed(aws) and gateway.requests == []


def test_handler_fails_loud_and_logs_no_secret(aws, ledger, gateway, monkeypatch, caplog):
    for name, value in make_env(aws, gateway.url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("cost_tracker.handler._DEPS", make_deps(aws))
    gateway.fault = "unauthorized"  # echoes the presented token in its error body
    with caplog.at_level(logging.DEBUG), pytest.raises(UsageReadError) as info:
        handler({"source": "aws.events"}, None)  # even at DEBUG: the SDK's wire logs are pinned
    failed = [log_fields(r) for r in caplog.records if getattr(r, "event", None) == "cost_tracker.failed"]
    assert len(failed) == 1 and failed[0]["level"] == "ERROR" and failed[0]["error"] == "UsageReadError"
    assert "***" in failed[0]["detail"]
    assert GATEWAY_TOKEN not in logged(caplog) and GATEWAY_TOKEN not in str(info.value)
    assert "***" in str(info.value)  # the echo was redacted, not dropped silently
    assert LAMBDA_API_KEY not in logged(caplog)
    assert _nothing_pushed(aws)


def test_handler_rejects_bad_settings_before_any_call(aws, gateway, monkeypatch):
    for name, value in make_env(aws, gateway.url, **{env.DAILY_BUDGET_USD: "lots"}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("cost_tracker.handler._DEPS", make_deps(aws))
    with pytest.raises(ValueError, match=r"DAILY_BUDGET_USD"):
        handler({}, None)
    assert gateway.requests == [] and _nothing_pushed(aws)


def test_a_rotated_token_is_refetched_once(aws, ledger, gateway):
    add_usage(ledger, NOW - timedelta(hours=1), SMALL)
    settings = load_tracker_config(make_env(aws, gateway.url))
    deps = make_deps(aws)
    run_once(settings, deps, now=NOW)
    new_token = "gw-admin-rotated-0c1d2e3f4a5b"
    aws.secretsmanager.put_secret_value(SecretId=aws.token_arn, SecretString=new_token)
    gateway.token = new_token  # the warm container still caches the old one
    result = run_once(settings, deps, now=NOW)
    assert result.report["metrics"]["pushed"] is True
    assert [r["authorization"] for r in gateway.requests[-3:]] == [
        f"Bearer {GATEWAY_TOKEN}", f"Bearer {new_token}", f"Bearer {new_token}"]


def _month_costs_nothing(payload, period):
    if period == "month":
        for row in (*payload["breakdown"], *payload["by_key"]):
            row["cost_pico"], row["cost_usd"] = 0, "0"
        payload["totals"]["cost_pico"], payload["totals"]["cost_usd"] = 0, "0"
    return payload


def test_a_month_cheaper_than_its_day_is_refused(aws, ledger, gateway):
    add_usage(ledger, NOW - timedelta(hours=1), SMALL)
    gateway.mutate = _month_costs_nothing  # each payload valid alone; together impossible
    with pytest.raises(InconsistentUsageError, match=r"the day's cost \d+ pUSD exceeds the month's 0 pUSD"):
        run_once(load_tracker_config(make_env(aws, gateway.url)), make_deps(aws), now=NOW)
    assert _nothing_pushed(aws)


class CountingSecrets:
    def __init__(self, client):
        self.client, self.calls = client, 0

    def get_secret_value(self, **kwargs):
        self.calls += 1
        return self.client.get_secret_value(**kwargs)


def test_secrets_are_read_once_per_warm_container(aws, ledger, gateway):
    counting = CountingSecrets(aws.secretsmanager)
    deps = make_deps(aws)
    deps.secrets = SecretCache(lambda: counting)
    settings = load_tracker_config(make_env(aws, gateway.url))
    for minutes in (0, 60, 120):
        run_once(settings, deps, now=NOW + timedelta(minutes=minutes))
    assert counting.calls == 1


class TimingOutSecrets:
    """Secrets Manager that never answers: botocore's read timeout carries `response = None`."""

    def get_secret_value(self, **kwargs):
        from botocore.exceptions import ReadTimeoutError

        raise ReadTimeoutError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")


def test_a_secrets_manager_timeout_raises_a_secret_error_naming_the_secret(aws, gateway):
    deps = make_deps(aws)
    deps.secrets = SecretCache(TimingOutSecrets)
    with pytest.raises(SecretError, match=r"cannot read secret .*gateway-admin-token.*: ReadTimeoutError"):
        run_once(load_tracker_config(make_env(aws, gateway.url)), deps, now=NOW)
    assert _nothing_pushed(aws) and gateway.requests == []
