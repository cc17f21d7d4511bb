"""The usage-summary contract: what the gateway builds, the tracker accepts, and nothing else."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from gateway.ledger import Ledger, UsageRecord, to_ms
from gateway.usage_summary import usage_summary
from llm_shared import periods
from llm_shared.usage_schema import JSON_SCHEMA, KeyUsageRow, UsageSummaryError, parse_summary

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
DAY = periods.day_period(NOW)


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    ledger = Ledger(tmp_path_factory.mktemp("l") / "u.db")
    ledger.record_many(
        UsageRecord(f"r{i}", to_ms(NOW) + i, m, b, 10 + i, 5, (15 + i) * 70_000, 1.0 + i, user_id=f"u{i % 3}",
                    status="error" if i == 1 else "ok", key_name=(None, "team-a", "team-b")[i % 3])
        for i, (m, b) in enumerate([("llama3.1-8b-instruct", "serverless")] * 5
                                   + [("llama3.1-8b-instruct", "gpu")] * 2)
    )
    body = usage_summary(ledger, "day", DAY.start, DAY.end, "UTC", NOW)
    ledger.close()
    return body


def test_built_payload_matches_the_json_schema_and_parses(payload):
    jsonschema.validate(payload, JSON_SCHEMA)
    summary = parse_summary(payload, expect_period="day", expect_start=DAY.start, expect_end=DAY.end)
    assert summary.total_requests == 7
    assert summary.total_cost_pico == sum(r.cost_pico for r in summary.rows) == sum(
        (15 + i) * 70_000 for i in range(7))
    assert payload["totals"]["cost_usd"] == "0.00000882"


def test_by_key_breaks_the_window_down_per_key_and_backend(payload):
    keys = {(k.key_name, k.backend): k for k in parse_summary(payload).keys}
    cost = [(15 + i) * 70_000 for i in range(7)]
    assert keys == {  # rows 0..6 on keys None, a, b, None, a, b, None; rows 5 and 6 on the GPU
        (None, "serverless"): KeyUsageRow(None, "serverless", 2, 0, 10 + 13, 10, cost[0] + cost[3]),
        ("team-a", "serverless"): KeyUsageRow("team-a", "serverless", 2, 1, 11 + 14, 10, cost[1] + cost[4]),
        ("team-b", "serverless"): KeyUsageRow("team-b", "serverless", 1, 0, 12, 5, cost[2]),
        ("team-b", "gpu"): KeyUsageRow("team-b", "gpu", 1, 0, 15, 5, cost[5]),
        (None, "gpu"): KeyUsageRow(None, "gpu", 1, 0, 16, 5, cost[6]),
    }
    assert {item["key_name"]: item["cost_usd"] for item in payload["by_key"] if item["backend"] == "gpu"} == {
        "team-b": "0.0000014", None: "0.00000147"}


def mutated(payload, path, value):
    body = copy.deepcopy(payload)
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("breakdown", 0, "cost_pico"), -5, "must not be negative"),
        (("breakdown", 0, "avg_latency_ms"), float("nan"), "must be finite"),
        (("breakdown", 0, "avg_latency_ms"), float("inf"), "must be finite"),
        (("breakdown", 0, "prompt_tokens"), "10", "expected an integer"),
        (("breakdown", 0, "cost_usd"), "1.00", "disagrees with cost_pico"),
        (("breakdown", 0, "backend"), "tpu", "expected serverless or gpu"),
        (("breakdown", 0, "errors"), 10_000, "exceeds requests"),
        (("breakdown", 0, "model"), KeyError, "missing model"),
        (("breakdown", 0, "surprise"), 1, "unexpected surprise"),
        (("totals", "requests"), 1, "disagrees with the breakdown"),
        (("totals", "cost_pico"), 1, "disagrees with cost_pico"),
        (("schema_version",), 1, "expected 2"),
        (("by_key", 0, "cost_pico"), 1, "disagrees with cost_pico"),
        (("by_key", 0, "requests"), 100, "by_key.requests: the keys' sum"),
        (("by_key", 1, "key_name"), "team a", "expected a key name or null"),
        (("by_key", 1, "backend"), "tpu", "expected serverless or gpu"),
        (("by_key", 0, "errors"), 7, "exceeds requests"),
        (("by_key", 0, "extra"), 7, "unexpected extra"),
        (("by_key",), {}, "by_key: expected a list"),
        (("by_key",), KeyError, "missing by_key"),
        (("start",), "yesterday", "not an ISO 8601"),
        (("start",), "2026-11-25T00:00:00", "no UTC offset"),
        (("end",), "2026-11-24T00:00:00+00:00", "is not after start"),
        (("breakdown",), {}, "expected a list"),
    ],
)
def test_bad_payloads_raise_naming_the_field(payload, path, value, message):
    with pytest.raises(UsageSummaryError, match=message):
        parse_summary(mutated(payload, path, value))


def test_wrong_period_or_bounds_raise(payload):
    with pytest.raises(UsageSummaryError, match="asked for 'month'"):
        parse_summary(payload, expect_period="month")
    with pytest.raises(UsageSummaryError, match="start: asked for"):
        parse_summary(payload, expect_start=DAY.start - timedelta(days=1))
    with pytest.raises(UsageSummaryError, match="expected an object"):
        parse_summary([payload])


def test_duplicate_rows_raise(payload):
    body = copy.deepcopy(payload)
    body["breakdown"].append(body["breakdown"][0])
    with pytest.raises(UsageSummaryError, match="duplicate row"):
        parse_summary(body)
