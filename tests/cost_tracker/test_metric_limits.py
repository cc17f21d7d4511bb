"""PutMetricData limits: hundreds of models go out in as few calls as 1000 datums and 1 MB allow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import botocore.session
import pytest
from botocore.serialize import create_serializer

from cost_tracker.cloudwatch_push import batches, estimate_datum_bytes
from cost_tracker.config import load_tracker_config
from cost_tracker.run import run_once
from llm_shared import cloudwatch_contract as mc

from .conftest import NOW, add_usage, make_deps, make_env

_OPERATION = botocore.session.get_session().get_service_model("cloudwatch").operation_model("PutMetricData")


def wire_bytes(namespace: str, batch: list[dict[str, Any]]) -> int:
    """Body size in the most verbose protocol CloudWatch accepts (query), as botocore encodes it."""
    request = create_serializer("query").serialize_to_request(
        {"Namespace": namespace, "MetricData": batch}, _OPERATION)
    return len(urlencode(request["body"]).encode())


class CountingCloudWatch:
    """Wraps the moto client: records every PutMetricData call, then lets it through."""

    def __init__(self, client: Any) -> None:
        self.client, self.calls = client, []

    def put_metric_data(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.client.put_metric_data(**kwargs)


def test_six_hundred_models_are_pushed_in_two_calls_and_all_land(aws, ledger, gateway):
    models = [f"tenant-model-{i:04d}" for i in range(600)]
    for i, model in enumerate(models):
        add_usage(ledger, NOW - timedelta(minutes=30), model, cost_pico=1_000_000 * (i + 1))
    counting = CountingCloudWatch(aws.cloudwatch)
    deps = make_deps(aws)
    deps.cloudwatch_factory = lambda: counting
    result = run_once(load_tracker_config(make_env(aws, gateway.url)), deps, now=NOW)

    sizes = [len(call["MetricData"]) for call in counting.calls]
    total = 5 + 2 * 2 + 2 * len(models) + 1  # headline, backends, models, the one client key
    assert sizes == [1000, total - 1000]  # the fewest calls the datum limit allows
    assert result.report["metrics"]["datums_per_call"] == sizes
    headline = {d["MetricName"] for d in counting.calls[0]["MetricData"][:5]}
    assert set(mc.ALARMED_METRICS) <= headline  # alarmed gauges ride in the first call
    for call in counting.calls:
        assert wire_bytes(call["Namespace"], call["MetricData"]) <= mc.MAX_PAYLOAD_BYTES
        assert len({d["Timestamp"] for d in call["MetricData"]}) == 1

    landed, token = set(), None
    while True:
        page = aws.cloudwatch.list_metrics(Namespace="LLMCostGovernance/test", MetricName=mc.MODEL_DAILY_COST,
                                           **({"NextToken": token} if token else {}))
        landed |= {m["Dimensions"][1]["Value"] for m in page["Metrics"]}
        token = page.get("NextToken")
        if not token:
            break
    assert landed == set(models)


def _datum(i: int, name_length: int) -> dict[str, Any]:
    return {"MetricName": mc.MODEL_DAILY_COST,
            "Dimensions": [{"Name": "Stack", "Value": "prod"},
                           {"Name": "Model", "Value": f"{i:05d}/" + "é" * (name_length - 6)}],
            "Timestamp": datetime(2026, 3, 16, 12, tzinfo=UTC), "Value": 1234.5678901234, "Unit": "None"}


@pytest.mark.parametrize("name_length", [10, 300, 1024])
def test_batches_respect_both_limits_and_keep_order(name_length):
    data = [_datum(i, name_length) for i in range(2500)]
    chunks = list(batches(data, "LLMCostGovernance"))
    assert [d for chunk in chunks for d in chunk] == data
    for chunk in chunks:
        assert len(chunk) <= mc.MAX_METRIC_DATA_PER_CALL
        actual = wire_bytes("LLMCostGovernance", chunk)
        assert actual <= mc.MAX_PAYLOAD_BYTES
        assert sum(estimate_datum_bytes(d) for d in chunk) >= actual - 200  # the estimate is an upper bound
    if name_length == 10:
        assert [len(c) for c in chunks] == [1000, 1000, 500]
    else:  # size-bound: fewer datums per call, but each call close to full
        assert len(chunks) > 3
        assert all(wire_bytes("LLMCostGovernance", c) > 0.8 * mc.MAX_PAYLOAD_BYTES for c in chunks[:-1])


def test_odd_model_ids_become_dimension_values_cloudwatch_accepts(aws, ledger, gateway):
    odd = ["modèle-ü", "tab\there", "   ", "日本語-7b", "x" * 1500, "plain-model"]
    for model in odd:
        add_usage(ledger, NOW - timedelta(minutes=10), model, cost_pico=5)
    counting = CountingCloudWatch(aws.cloudwatch)
    deps = make_deps(aws)
    deps.cloudwatch_factory = lambda: counting
    run_once(load_tracker_config(make_env(aws, gateway.url)), deps, now=NOW)

    values = [dim["Value"] for call in counting.calls for datum in call["MetricData"]
              for dim in datum["Dimensions"]]
    for value in values:  # the API's rule: printable ASCII, 1-1024 long, not only whitespace
        assert 1 <= len(value) <= mc.MAX_DIMENSION_VALUE_LENGTH
        assert all(" " <= c <= "~" for c in value) and value.strip()
    models = {v for v in values if v not in ("staging", "serverless", "gpu", "default")}  # default: the key
    assert {"plain-model", "(blank)", "mod\\xe8le-\\xfc", "tab\\there"} <= models
    assert len(models) == len(odd)  # still one series per model

