"""Fixtures for the cost tracker: moto AWS, a real ledger, the gateway stand-in, a fixed clock."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cost_tracker import env_names as env
from cost_tracker.run import Deps
from cost_tracker.secrets import SecretCache
from gateway.ledger import Ledger, UsageRecord
from llm_shared.http import build_session
from llm_shared.pricing import cost_for
from standins.gateway_usage import GatewayUsageStandIn, gateway_standin

_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def log_fields(record: logging.LogRecord) -> dict[str, Any]:
    """A record as Lambda's JSON log format writes it: level, logger, message and the `extra` fields."""
    extra = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES}
    return {"level": record.levelname, "logger": record.name, "message": record.getMessage(), **extra}


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the captured records would write, fields included (where a leak would show)."""
    return "\n".join(json.dumps(log_fields(r), default=str) for r in caplog.records)


REGION = "us-east-1"
NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)  # mid-March: half the month elapsed
GATEWAY_TOKEN = "gw-admin-7f3c9a1e5b2d4c6f8a0b"  # distinctive, so a leak is easy to spot
LAMBDA_API_KEY = "secret_lambda-key-91d2e4f6a8c0b3d5"
SMALL, MEDIUM, LARGE = ("llama3.1-8b-instruct", "llama3.1-70b-instruct-fp8",
                        "llama-4-maverick-17b-128e-instruct-fp8")
_ids = itertools.count()


def add_usage(ledger: Ledger, when: datetime, model: str, backend: str = "serverless", *,
              prompt: int = 1000, completion: int = 500, complexity: str | None = None,
              cost_pico: int | None = None, count: int = 1, key_name: str | None = "default") -> int:
    """Record `count` requests at `when`; returns their total cost (catalog prices unless given)."""
    cost = cost_for(model, prompt, completion) if cost_pico is None else cost_pico
    ledger.record_many(
        UsageRecord(request_id=f"req-{next(_ids)}", ts_ms=int(when.timestamp() * 1000), model=model,
                    backend=backend, prompt_tokens=prompt, completion_tokens=completion,
                    cost_pico=cost, latency_ms=120.0, complexity=complexity, user_id="u1", key_name=key_name)
        for _ in range(count)
    )
    return cost * count


@contextlib.contextmanager
def mocked_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for every AWS call, with throwaway credentials so nothing can reach a real account."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@dataclass
class Aws:
    cloudwatch: Any
    secretsmanager: Any
    token_arn: str
    api_key_arn: str


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with mocked_aws(monkeypatch):
        sm = boto3.client("secretsmanager", region_name=REGION)
        token_arn = sm.create_secret(Name="llm/gateway-admin-token", SecretString=GATEWAY_TOKEN)["ARN"]
        key_arn = sm.create_secret(Name="llm/lambda-api-key", SecretString=LAMBDA_API_KEY)["ARN"]
        yield Aws(boto3.client("cloudwatch", region_name=REGION), sm, token_arn, key_arn)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(tmp_path / "usage.db")
    yield led
    led.close()


@pytest.fixture
def gateway(ledger: Ledger) -> Iterator[GatewayUsageStandIn]:
    with gateway_standin(ledger, GATEWAY_TOKEN, lambda: NOW) as standin:
        yield standin


def make_env(aws: Aws, gateway_url: str, **overrides: str) -> dict[str, str]:
    base = {
        env.METRIC_NAMESPACE: "LLMCostGovernance/test",
        env.STACK_NAME: "staging",
        env.DAILY_BUDGET_USD: "50",
        env.MONTHLY_BUDGET_USD: "1000",
        env.WARNING_THRESHOLD_PERCENT: "80",
        env.CRITICAL_THRESHOLD_PERCENT: "100",
        env.TIME_ZONE: "UTC",
        env.GATEWAY_URL: gateway_url,
        env.GATEWAY_TOKEN_SECRET_ARN: aws.token_arn,
    }
    base.update(overrides)
    return base


def make_deps(aws: Aws, *, timeout: tuple[float, float] = (1.0, 2.0)) -> Deps:
    """Real boto3 clients (moto) and a real session with the shared retry policy, fast backoff."""
    return Deps(
        secrets=SecretCache(lambda: boto3.client("secretsmanager", region_name=REGION)),
        session_factory=lambda: build_session(backoff=0.01),
        cloudwatch_factory=lambda: aws.cloudwatch,
        timeout=timeout,
    )


def stack_metric(aws: Aws, name: str, *, stack: str = "staging", namespace: str = "LLMCostGovernance/test",
                 stat: str = "Maximum", period: int = 3600, at: datetime = NOW) -> list[dict[str, Any]]:
    """Datapoints of one metric queried as an alarm would: its statistic, period and exact dimensions."""
    start = at.replace(minute=0, second=0, microsecond=0)
    return aws.cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName=name, Dimensions=[{"Name": "Stack", "Value": stack}],
        StartTime=start - timedelta(hours=1), EndTime=start + timedelta(hours=1), Period=period,
        Statistics=[stat],
    )["Datapoints"]
