"""One tracker run end to end: moto CloudWatch and Secrets Manager, the gateway stand-in over HTTP."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

import cost_tracker.handler as handler_module
from cost_tracker import env_names as env
from cost_tracker.config import load_tracker_config
from cost_tracker.run import run_once
from llm_shared import cloudwatch_contract as mc
from llm_shared.money import pico_to_float, usd_to_pico
from standins.gateway_usage import gateway_standin

from .conftest import (
    GATEWAY_TOKEN,
    LARGE,
    MEDIUM,
    NOW,
    SMALL,
    add_usage,
    log_fields,
    logged,
    make_deps,
    make_env,
    stack_metric,
)

EARLIER_THIS_MONTH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LAST_MONTH = datetime(2026, 2, 28, 23, 59, tzinfo=UTC)


def _all_metrics(aws, namespace="LLMCostGovernance/test"):
    metrics, token = [], None
    while True:
        page = aws.cloudwatch.list_metrics(Namespace=namespace, **({"NextToken": token} if token else {}))
        metrics += page["Metrics"]
        token = page.get("NextToken")
        if not token:
            return metrics


def test_metrics_land_with_values_units_and_exact_dimensions(aws, ledger, gateway):
    today = add_usage(ledger, NOW - timedelta(hours=2), SMALL, count=3)
    today += add_usage(ledger, NOW - timedelta(hours=1), MEDIUM, count=2, complexity="low")
    gpu_value = add_usage(ledger, NOW - timedelta(minutes=5), MEDIUM, "gpu")  # host paid by the hour
    earlier = add_usage(ledger, EARLIER_THIS_MONTH, LARGE, prompt=20_000, completion=4_000)
    add_usage(ledger, LAST_MONTH, LARGE, prompt=900_000)  # outside the month: must not count

    settings = load_tracker_config(make_env(aws, gateway.url))
    result = run_once(settings, make_deps(aws), now=NOW)

    month = today + earlier
    # Half of March has elapsed at NOW, so the token forecast is exactly twice the month so far.
    expected = {mc.DAILY_COST: today, mc.MONTHLY_COST: month, mc.FORECAST_MONTHLY_COST: 2 * month}
    for name, pico in expected.items():
        points = stack_metric(aws, name)
        assert len(points) == 1, name
        assert points[0]["Maximum"] == pytest.approx(pico_to_float(pico), rel=1e-12), name
        assert points[0]["Unit"] == mc.COST_UNIT
    percent = stack_metric(aws, mc.DAILY_BUDGET_USED)[0]
    assert percent["Maximum"] == pytest.approx(today / usd_to_pico("50") * 100)
    assert percent["Unit"] == mc.PERCENT_UNIT

    dims_by_name: dict[str, list[list[dict[str, str]]]] = {}
    for metric in _all_metrics(aws):
        dims_by_name.setdefault(metric["MetricName"], []).append(metric["Dimensions"])
    for name in mc.ALARMED_METRICS:  # exactly [Stack], never a superset the alarm would miss
        assert dims_by_name[name] == [mc.stack_dimensions("staging")]
    for name, names in mc.BREAKDOWN_DIMENSIONS.items():
        assert {tuple(d["Name"] for d in dims) for dims in dims_by_name[name]} == {names}
    models = {d[1]["Value"] for d in dims_by_name[mc.MODEL_DAILY_COST]}
    assert models == {SMALL, MEDIUM}  # today's models only

    report = result.report
    assert report["day"]["spent_usd"] == str(Decimal(today) / 10**12)
    assert report["gpu"]["token_value_day_usd"] == str(Decimal(gpu_value) / 10**12)
    assert report["requests_day"] == 6
    assert report["metrics"] == {"datums": 5 + 4 + 2 * 2 + 1, "calls": 1, "datums_per_call": [14],
                                 "pushed": True}  # headline, backends, models, the one key


def _breakdown(aws, name, dim, value):
    return aws.cloudwatch.get_metric_statistics(
        Namespace="LLMCostGovernance/test", MetricName=name,
        Dimensions=[{"Name": "Stack", "Value": "staging"}, {"Name": dim, "Value": value}],
        StartTime=NOW - timedelta(hours=1), EndTime=NOW + timedelta(hours=1), Period=3600,
        Statistics=["Maximum"])["Datapoints"][0]["Maximum"]


def test_breakdowns_split_serverless_spend_and_gpu_hours(aws, ledger, gateway):
    small = add_usage(ledger, NOW - timedelta(hours=1), SMALL, prompt=10_000, completion=2_000)
    add_usage(ledger, NOW - timedelta(hours=1), MEDIUM, "gpu", prompt=7_000, completion=3_000)
    settings = load_tracker_config(make_env(aws, gateway.url, **{
        env.GPU_INSTANCE_TYPE: "gpu_1x_a10", env.GPU_HOURLY_USD: "0.75",
        env.GPU_HOST_STARTED_AT: "2026-03-16T06:00:00+00:00"}))
    run_once(settings, make_deps(aws), now=NOW)

    gpu_day = usd_to_pico("0.75") * 6  # six hours since the host started today
    assert _breakdown(aws, mc.BACKEND_DAILY_COST, "Backend", "gpu") == pytest.approx(pico_to_float(gpu_day))
    serverless = _breakdown(aws, mc.BACKEND_DAILY_COST, "Backend", "serverless")
    assert serverless == pytest.approx(pico_to_float(small))
    assert _breakdown(aws, mc.DAILY_REQUESTS, "Backend", "gpu") == 1
    assert _breakdown(aws, mc.DAILY_TOKENS, "Model", MEDIUM) == 10_000
    assert _breakdown(aws, mc.MODEL_DAILY_COST, "Model", MEDIUM) == 0  # GPU tokens cost nothing extra
    assert stack_metric(aws, mc.DAILY_COST)[0]["Maximum"] == pytest.approx(pico_to_float(small + gpu_day))


def _key_cost(aws, dimensions):
    """KeyDailyCost points for exactly these dimensions (moto matches a subset too, so the metric's
    dimension list is checked exactly first)."""
    listed = aws.cloudwatch.list_metrics(Namespace="LLMCostGovernance/test", MetricName=mc.KEY_DAILY_COST)
    assert dimensions in [m["Dimensions"] for m in listed["Metrics"]]
    return aws.cloudwatch.get_metric_statistics(
        Namespace="LLMCostGovernance/test", MetricName=mc.KEY_DAILY_COST, Dimensions=dimensions,
        StartTime=NOW - timedelta(hours=1), EndTime=NOW + timedelta(hours=1), Period=3600,
        Statistics=["Maximum"])["Datapoints"]


def test_key_daily_cost_breaks_the_day_down_per_key_with_exactly_stack_and_key(aws, ledger, gateway):
    team_a = add_usage(ledger, NOW - timedelta(hours=1), SMALL, count=2, key_name="team-a")
    team_a += add_usage(ledger, NOW - timedelta(hours=1), MEDIUM, "gpu", key_name="team-a")  # valued too
    batch = add_usage(ledger, NOW - timedelta(minutes=3), LARGE, key_name="batch.jobs")
    add_usage(ledger, NOW - timedelta(minutes=2), SMALL, key_name=None)  # a row from before key names
    add_usage(ledger, EARLIER_THIS_MONTH, LARGE, key_name="old-key")  # not today: no datum
    result = run_once(load_tracker_config(make_env(aws, gateway.url)), make_deps(aws), now=NOW)

    listed = aws.cloudwatch.list_metrics(Namespace="LLMCostGovernance/test", MetricName=mc.KEY_DAILY_COST)
    assert sorted(tuple((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in listed["Metrics"]) == [
        (("Stack", "staging"), ("Key", "batch.jobs")), (("Stack", "staging"), ("Key", "team-a"))]
    for key, pico in (("team-a", team_a), ("batch.jobs", batch)):
        [point] = _key_cost(aws, [{"Name": "Stack", "Value": "staging"}, {"Name": "Key", "Value": key}])
        assert point["Maximum"] == pytest.approx(pico_to_float(pico), rel=1e-12)
        assert point["Unit"] == mc.COST_UNIT
    assert result.report["keys_day"] == {"batch.jobs": str(Decimal(batch) / 10**12),
                                         "team-a": str(Decimal(team_a) / 10**12)}


def test_a_duplicate_invocation_leaves_maximum_unchanged(aws, ledger, gateway):
    add_usage(ledger, NOW - timedelta(hours=1), MEDIUM, count=4)
    settings = load_tracker_config(make_env(aws, gateway.url))
    deps = make_deps(aws)
    run_once(settings, deps, now=NOW)
    first = {name: stack_metric(aws, name)[0]["Maximum"] for name in mc.ALARMED_METRICS}
    run_once(settings, deps, now=NOW + timedelta(minutes=7))  # EventBridge retry, same hour
    for name in mc.ALARMED_METRICS:
        points = stack_metric(aws, name, stat="SampleCount")
        assert points[0]["SampleCount"] == 2
        assert stack_metric(aws, name)[0]["Maximum"] == first[name]
    assert len(stack_metric(aws, mc.DAILY_COST)) == 1  # same period, one datapoint


def test_dry_run_computes_everything_and_pushes_nothing(aws, ledger, gateway):
    add_usage(ledger, NOW - timedelta(hours=1), SMALL)
    result = run_once(load_tracker_config(make_env(aws, gateway.url)), make_deps(aws), now=NOW, dry_run=True)
    assert result.report["metrics"]["pushed"] is False
    assert result.report["metrics"]["calls"] == 0
    assert _all_metrics(aws) == []


def test_the_period_asked_is_sent_with_the_admin_token(aws, ledger, gateway):
    run_once(load_tracker_config(make_env(aws, gateway.url)), make_deps(aws), now=NOW)
    assert [r["query"]["period"] for r in gateway.requests] == [["day"], ["month"]]
    assert {r["authorization"] for r in gateway.requests} == {"Bearer gw-admin-7f3c9a1e5b2d4c6f8a0b"}


def test_the_handler_with_its_own_clients_pushes_and_returns_the_report(aws, ledger, monkeypatch, caplog):
    with gateway_standin(ledger, GATEWAY_TOKEN, lambda: datetime.now(UTC)) as live:
        add_usage(ledger, datetime.now(UTC), SMALL, count=2)
        for name, value in make_env(aws, live.url).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(handler_module, "_DEPS", None)  # the container's own boto3 clients
        with caplog.at_level(logging.INFO, logger="cost_tracker"):
            report = handler_module.handler({"source": "aws.events"}, None)
            again = handler_module.handler({"source": "aws.events"}, None)  # warm: cached secret
    assert report["requests_day"] == 2 and report["metrics"]["pushed"] is True
    assert again["day"] == report["day"]
    # Structured fields of Lambda's JSON log line, not a JSON string inside a text message.
    lines = [log_fields(r) for r in caplog.records if r.name == "cost_tracker"]
    assert [line["event"] for line in lines] == ["cost_tracker.run", "cost_tracker.run"]
    assert [line["message"] for line in lines] == ["cost tracker run", "cost tracker run"]
    assert lines[0]["report"]["day"]["spent_usd"] == report["day"]["spent_usd"]
    json.dumps(lines)  # every field is JSON as it stands: nothing left for the runtime to stringify
    assert GATEWAY_TOKEN not in logged(caplog)
    assert stack_metric(aws, mc.DAILY_COST, at=datetime.now(UTC))
