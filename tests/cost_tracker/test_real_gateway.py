"""The tracker against the real gateway (not the stand-in): the contract holds end to end.

Chat requests go through the gateway to the OpenAI-compatible stand-in backends, the gateway's
ledger writer records them, and the tracker reads /v1/usage/summary with the admin token and
pushes to moto CloudWatch. Both sides run on one fixed clock in a non-UTC zone.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cost_tracker import env_names as env
from cost_tracker.config import load_tracker_config
from cost_tracker.run import run_once
from llm_shared import cloudwatch_contract as mc
from llm_shared.money import pico_to_float
from tests.gateway.conftest import ADMIN_TOKEN, HELLO, MEDIUM, SMALL, Backends, running_gateway

from .conftest import make_deps, make_env, stack_metric

NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
ZONE = "America/Los_Angeles"


@pytest.fixture
def backends():
    from standins import standin_server

    with standin_server("serverless") as serverless, standin_server("gpu") as gpu:
        yield Backends(serverless, gpu)


def test_the_tracker_reads_the_real_gateway_and_pushes_its_spend(aws, backends, tmp_path):
    aws.secretsmanager.put_secret_value(SecretId=aws.token_arn, SecretString=ADMIN_TOKEN)
    with running_gateway(backends, tmp_path, clock=lambda: NOW, TIME_ZONE=ZONE) as gw:
        for model, backend in ((SMALL, "serverless"), (SMALL, "serverless"), (MEDIUM, "serverless"),
                               (MEDIUM, "gpu")):
            response = gw.chat({"model": model, "messages": HELLO, "max_tokens": 32},
                               headers={"x-force-backend": backend})
            assert response.status_code == 200, response.text
        rows = gw.rows()
        environ = make_env(aws, gw.url, **{env.TIME_ZONE: ZONE})
        result = run_once(load_tracker_config(environ), make_deps(aws), now=NOW)

    serverless = sum(row[5] for row in rows if row[2] == "serverless")
    gpu_value = sum(row[5] for row in rows if row[2] == "gpu")
    assert len(rows) == 4 and serverless > 0 and gpu_value > 0  # the gateway prices GPU tokens too
    assert result.figures.daily_pico == serverless == result.figures.monthly_pico
    assert result.figures.gpu_token_value_day_pico == gpu_value
    assert result.report["requests_day"] == 4
    assert stack_metric(aws, mc.DAILY_COST)[0]["Maximum"] == pytest.approx(pico_to_float(serverless))


def test_the_trackers_token_reads_usage_and_metrics_and_cannot_chat(aws, backends, tmp_path):
    """Token roles (docs/adr/0007-gateway-token-roles.md), with the token the tracker reads from
    Secrets Manager: a leaked tracker secret buys no tokens."""
    aws.secretsmanager.put_secret_value(SecretId=aws.token_arn, SecretString=ADMIN_TOKEN)
    token = aws.secretsmanager.get_secret_value(SecretId=aws.token_arn)["SecretString"]
    with running_gateway(backends, tmp_path, clock=lambda: NOW, TIME_ZONE=ZONE) as gw:
        refused = gw.chat({"model": SMALL, "messages": HELLO}, token=token)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "client_token_required"
        assert gw.summary(token=token).status_code == 200
        assert gw.metrics(token=token).status_code == 200
        environ = make_env(aws, gw.url, **{env.TIME_ZONE: ZONE})
        result = run_once(load_tracker_config(environ), make_deps(aws), now=NOW)
        assert gw.rows() == []
    assert result.report["requests_day"] == 0
    assert backends.serverless.app.request_count + backends.gpu.app.request_count == 0
