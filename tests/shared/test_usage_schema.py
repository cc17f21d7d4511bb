"""The usage-summary contract: what the gateway builds, the tracker accepts, and nothing else."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from gateway.ledger import Ledger, UsageRecord, to_ms
from llm_shared import periods
from llm_shared.usage_schema import JSON_SCHEMA, UsageSummaryError, build_summary, parse_summary

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
DAY = periods.day_period(NOW)


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    ledger = Ledger(tmp_path_factory.mktemp("l") / "u.db")
    ledger.record_many(
        UsageRecord(f"r{i}", to_ms(NOW) + i, m, b, 10 + i, 5, (15 + i) * 70_000, 1.0 + i, user_id=f"u{i % 3}")
        for i, (m, b) in enumerate([("llama3.1-8b-instruct", "serverless")] * 5
                                   + [("llama3.1-8b-instruct", "gpu")] * 2)
    )
    body = build_summary(period="day", start=DAY.start, end=DAY.end, time_zone="UTC", generated_at=NOW,
                         rows=ledger.summary_rows(DAY.start, DAY.end),
                         unique_users_total=ledger.unique_users(DAY.start, DAY.end))
    ledger.close()
    return body


def test_built_payload_matches_the_json_schema_and_parses(payload):
    jsonschema.validate(payload, JSON_SCHEMA)
    summary = parse_summary(payload, expect_period="day", expect_start=DAY.start, expect_end=DAY.end)
    assert summary.total_requests == 7
    assert summary.total_cost_pico == sum(r.cost_pico for r in summary.rows) == sum(
        (15 + i) * 70_000 for i in range(7))
    assert payload["totals"]["cost_usd"] == "0.00000882"


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
        (("schema_version",), 2, "expected 1"),
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
