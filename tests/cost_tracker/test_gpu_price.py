"""The GPU host's hourly price from the Lambda Cloud API (a local stand-in), or from config."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from cost_tracker import env_names as env
from cost_tracker.config import load_tracker_config
from cost_tracker.gpu import GpuPriceError, parse_instance_price
from cost_tracker.run import run_once
from llm_shared import cloudwatch_contract as mc
from llm_shared.money import pico_to_float, usd_to_pico
from standins.lambda_cloud import lambda_cloud_standin

from .conftest import LAMBDA_API_KEY, NOW, SMALL, add_usage, logged, make_deps, make_env, stack_metric

STARTED = (NOW - timedelta(hours=4)).isoformat()  # the host has run four hours today


def _gpu_env(aws, gateway, cloud_url, **extra):
    return make_env(aws, gateway.url, **{
        env.GPU_INSTANCE_TYPE: "gpu_1x_a10", env.GPU_HOST_STARTED_AT: STARTED,
        env.LAMBDA_API_KEY_SECRET_ARN: aws.api_key_arn, env.LAMBDA_CLOUD_API_URL: cloud_url, **extra})


def test_the_api_price_is_charged_for_the_hours_run(aws, ledger, gateway, caplog):
    tokens = add_usage(ledger, NOW - timedelta(hours=1), SMALL)
    with lambda_cloud_standin(LAMBDA_API_KEY, {"gpu_1x_a10": 75, "gpu_8x_h100_sxm5": 2392}) as cloud:
        with caplog.at_level(logging.INFO, logger="cost_tracker"):
            result = run_once(load_tracker_config(_gpu_env(aws, gateway, cloud.url)), make_deps(aws), now=NOW)
    gpu = usd_to_pico("0.75") * 4
    assert result.figures.gpu_day_pico == gpu
    assert result.report["gpu"]["price_source"] == "lambda-cloud-api"
    assert result.report["gpu"]["hourly_usd"] == "0.75"
    assert stack_metric(aws, mc.DAILY_COST)[0]["Maximum"] == pytest.approx(pico_to_float(tokens + gpu))
    assert cloud.requests == ["/api/v1/instance-types"]
    assert LAMBDA_API_KEY not in logged(caplog)
    assert '"price_source": "lambda-cloud-api"' in logged(caplog)


def test_an_api_failure_falls_back_to_the_configured_price_and_says_so(aws, ledger, gateway):
    with lambda_cloud_standin(LAMBDA_API_KEY, {"gpu_1x_a10": 75}) as cloud:
        cloud.status = 500
        config = load_tracker_config(_gpu_env(aws, gateway, cloud.url, **{env.GPU_HOURLY_USD: "0.80"}))
        result = run_once(config, make_deps(aws), now=NOW)
    assert result.figures.gpu_day_pico == usd_to_pico("0.80") * 4
    assert result.report["gpu"]["price_source"].startswith("config (fallback: Lambda Cloud API")
    assert len(cloud.requests) == 3  # retried by the shared policy first


@pytest.mark.parametrize(("prices", "api_key", "match"), [
    ({"gpu_1x_a10": 75}, "wrong-key", r"HTTP 401"),
    ({"gpu_8x_h100_sxm5": 2392}, LAMBDA_API_KEY,
     r"no instance type 'gpu_1x_a10' \(known: gpu_8x_h100_sxm5\)"),
])
def test_without_a_configured_price_an_api_failure_fails_the_run(aws, ledger, gateway, prices, api_key,
                                                                 match):
    with lambda_cloud_standin(api_key, prices) as cloud:
        with pytest.raises(GpuPriceError, match=match) as info:
            run_once(load_tracker_config(_gpu_env(aws, gateway, cloud.url)), make_deps(aws), now=NOW)
    assert LAMBDA_API_KEY not in str(info.value)
    assert aws.cloudwatch.list_metrics(Namespace="LLMCostGovernance/test")["Metrics"] == []


def test_the_configured_price_needs_no_api(aws, ledger, gateway):
    environ = make_env(aws, gateway.url, **{env.GPU_INSTANCE_TYPE: "gpu_1x_a10", env.GPU_HOURLY_USD: "1.29"})
    result = run_once(load_tracker_config(environ), make_deps(aws), now=NOW)
    assert result.figures.gpu_day_pico == usd_to_pico("1.29") * 12  # no start time: since midnight
    assert result.figures.gpu_month_pico == usd_to_pico("1.29") * (15 * 24 + 12)
    assert result.report["gpu"]["price_source"] == "config"


@pytest.mark.parametrize(("payload", "match"), [
    ([], r"no 'data' object"),
    ({"data": {"gpu_1x_a10": {"instance_type": {"price_cents_per_hour": "75"}}}}, r"integer >= 0, got '75'"),
    ({"data": {"gpu_1x_a10": {"instance_type": {"price_cents_per_hour": -1}}}}, r"got -1"),
    ({"data": {"gpu_1x_a10": {}}}, r"got None"),
])
def test_malformed_instance_type_answers_are_rejected(payload, match):
    with pytest.raises(GpuPriceError, match=match):
        parse_instance_price(payload, "gpu_1x_a10")


def test_an_api_that_echoes_the_key_never_gets_it_into_errors_or_logs(aws, ledger, gateway, caplog):
    from standins.http_server import http_server, json_reply

    def echo(request):  # a careless API repeating the credential it was given
        return json_reply(403, {"error": {"message": f"forbidden: {request.headers.get('Authorization')}"}})

    with http_server(echo) as base:
        environ = _gpu_env(aws, gateway, f"{base}/api/v1")
        with pytest.raises(GpuPriceError, match=r"HTTP 403: .*\*\*\*") as info:
            run_once(load_tracker_config(environ), make_deps(aws), now=NOW)
        assert LAMBDA_API_KEY not in str(info.value)
        with caplog.at_level(logging.DEBUG, logger="cost_tracker"):
            config = load_tracker_config({**environ, env.GPU_HOURLY_USD: "0.75"})
            result = run_once(config, make_deps(aws), now=NOW)
    assert "***" in result.report["gpu"]["price_source"]
    assert LAMBDA_API_KEY not in str(result.report) and LAMBDA_API_KEY not in logged(caplog)
