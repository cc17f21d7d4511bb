"""Fixtures for the usage export: moto S3 and Secrets Manager, the real gateway on its ledger."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from cost_tracker import env_names as env
from cost_tracker.secrets import SecretCache
from cost_tracker.usage_export import ExportDeps, ExportSettings, load_export_settings
from llm_shared.http import build_session
from tests.cost_tracker.conftest import REGION, mocked_aws
from tests.gateway import conftest as gateway_fixtures
from tests.gateway.conftest import ADMIN_TOKEN

# The gateway tests' own fixtures, served to these tests too (one real gateway on both stand-ins).
backends, gw = gateway_fixtures.backends, gateway_fixtures.gw

BUCKET = "llm-usage-export-test"
PREFIX = "usage/staging/"


@dataclass
class Aws:
    s3: Any
    token_arn: str


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with mocked_aws(monkeypatch):
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        sm = boto3.client("secretsmanager", region_name=REGION)
        arn = sm.create_secret(Name="llm/gateway-admin-token", SecretString=ADMIN_TOKEN)["ARN"]
        yield Aws(s3, arn)


def export_settings(aws: Aws, gateway_url: str, page_size: int = 3) -> ExportSettings:
    """Through the exporter's own loader, with the variables the UsageExport component sets."""
    return load_export_settings({
        env.STACK_NAME: "staging", env.GATEWAY_URL: gateway_url, env.GATEWAY_TOKEN_SECRET_ARN: aws.token_arn,
        env.EXPORT_BUCKET: BUCKET, env.EXPORT_PREFIX: PREFIX, env.EXPORT_PAGE_SIZE: str(page_size),
    })


def export_deps(aws: Aws) -> ExportDeps:
    return ExportDeps(SecretCache(lambda: boto3.client("secretsmanager", region_name=REGION)),
                      lambda: build_session(backoff=0.01), lambda: aws.s3, timeout=(1.0, 5.0))


def objects(aws: Aws) -> dict[str, bytes]:
    listed = aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents", [])
    return {o["Key"]: aws.s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def record(cursor: int, **extra: Any) -> dict[str, Any]:
    """One record as the gateway's page carries it (fields of llm_shared.usage_records)."""
    return {"cursor": cursor, "request_id": f"r{cursor}", "ts_ms": 1, "model": "llama3.1-8b-instruct",
            "backend": "serverless", "prompt_tokens": 1, "completion_tokens": 2, "cost_pico": 3,
            "latency_ms": 1.0, "status": "ok", "estimated": False, "complexity": None, "cost_priority": None,
            "user_id": None, "session_id": None, "key_name": None, **extra}
