"""The round trip: gateway ledger -> exporter -> S3 objects -> COPY INTO -> views == /v1/usage/summary.

The views are the SQL files the SnowflakeInsights component creates, run in fakesnow; the
objects are the exporter's real bytes from moto S3; the figures they must match are the
gateway's own summary for the same local days (counts, tokens, cost to the picodollar, p95).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from components import insights_sql as sql
from cost_tracker.optimization import suggest
from cost_tracker.usage_export import export_once
from demo.insights_emulator import insights
from llm_shared.catalog import default_catalog
from llm_shared.usage_schema import parse_summary
from standins import Script
from tests.gateway.conftest import CLIENT_TOKEN, HARD, HELLO, LARGE, MEDIUM, SMALL, Clock, running_gateway

from .conftest import export_deps, export_settings, objects, record

ZONE = "America/Los_Angeles"
LOCAL = ZoneInfo(ZONE)
DAY_1 = datetime(2026, 3, 16, tzinfo=LOCAL)
DAY_2 = DAY_1 + timedelta(days=1)
# (local time, model, backend, messages, user, stream)
WORKLOAD = [
    (DAY_1.replace(hour=9), SMALL, "serverless", HELLO, "ana", False),
    (DAY_1.replace(hour=10), MEDIUM, "serverless", HELLO, "ana", False),
    (DAY_1.replace(hour=11), MEDIUM, "serverless", HELLO, "ben", True),
    (DAY_1.replace(hour=23, minute=59), LARGE, "serverless", HELLO, None, False),
    (DAY_1.replace(hour=23, minute=59), MEDIUM, "gpu", HARD, "ben", False),
    (DAY_2.replace(hour=0, minute=1), LARGE, "serverless", HARD, "cy", False),
    (DAY_2.replace(hour=8), MEDIUM, "serverless", HELLO, "cy", True),
    (DAY_2.replace(hour=8), SMALL, "gpu", HELLO, "ana", False),
]


TEAM_TOKEN = "team-insights-token-000001"
KEYS = f'[{{"name": "team-insights", "token": "{TEAM_TOKEN}"}}]'


def _drive(gw, clock: Clock, backends) -> None:
    for index, (when, model, backend, messages, user, stream) in enumerate(WORKLOAD):
        clock.now = when.astimezone(UTC)
        body = {"model": model, "messages": messages, "max_tokens": 40, "stream": stream}
        if user:
            body["user"] = user
        token = TEAM_TOKEN if index % 3 == 0 else CLIENT_TOKEN  # two keys: team-insights and default
        response = gw.chat(body, token=token, headers={"x-force-backend": backend})
        assert response.status_code == 200, response.text
    backends.serverless.script = Script(fail_status=400, fail_count=1)  # the provider refuses one
    refused = gw.chat({"model": SMALL, "messages": HELLO}, headers={"x-force-backend": "serverless"})
    assert refused.status_code == 400
    assert gw.app.writer.flush()


def _summary(gw, start: datetime, end: datetime):
    query = f"start={start.isoformat()}&end={end.isoformat()}".replace("+", "%2B")
    response = gw.summary(query)
    assert response.status_code == 200, response.text
    return parse_summary(response.json())


@pytest.fixture
def loaded(aws, backends, tmp_path):
    """The workload through the real gateway, exported to moto S3 and loaded into the emulator."""
    backends.reset()
    clock = Clock(DAY_1.astimezone(UTC))
    with running_gateway(backends, tmp_path, clock=clock, TIME_ZONE=ZONE, GATEWAY_CLIENT_KEYS=KEYS) as gw:
        _drive(gw, clock, backends)
        report = export_once(export_settings(aws, gw.url, page_size=4), export_deps(aws))
        assert report["records"] == len(WORKLOAD) + 1 and len(report["objects"]) == 3
        files = []
        for key, body in objects(aws).items():
            path = tmp_path / key.rsplit("/", 1)[-1]
            path.write_bytes(body)
            files.append(path)
        summaries = {day: _summary(gw, day, day + timedelta(days=1)) for day in (DAY_1, DAY_2)}
        month = _summary(gw, DAY_1.replace(day=1), DAY_1.replace(month=4, day=1))
        with insights(ZONE, default_catalog()) as emulated:
            statuses = emulated.load(sorted(files))
            assert [s[1] for s in statuses] == ["LOADED"] * 3
            yield emulated, summaries, month, sorted(files)


def test_the_daily_view_equals_the_gateway_summary_to_the_picodollar(loaded):
    emulated, summaries, _, _ = loaded
    view = emulated.rows("LAMBDA_USAGE_STATS", "USAGE_DATE, MODEL, BACKEND")
    assert {r["STACK"] for r in view} == {"staging"}
    for day, summary in summaries.items():
        rows = [r for r in view if r["USAGE_DATE"] == day.date()]
        assert len(rows) == len(summary.rows) > 0
        for row, expected in zip(rows, summary.rows, strict=True):
            assert (row["MODEL"], row["BACKEND"]) == (expected.model, expected.backend)
            assert int(row["REQUESTS"]) == expected.requests
            assert int(row["ERRORS"]) == expected.errors
            assert int(row["PROMPT_TOKENS"]) == expected.prompt_tokens
            assert int(row["COMPLETION_TOKENS"]) == expected.completion_tokens
            assert int(row["TOTAL_TOKENS"]) == expected.prompt_tokens + expected.completion_tokens
            assert int(row["COST_PICO"]) == expected.cost_pico  # exact: an int, not a float sum
            assert int(row["UNIQUE_USERS"]) == expected.unique_users
            assert round(row["P95_LATENCY_MS"], 3) == expected.p95_latency_ms
            assert row["AVG_LATENCY_MS"] == pytest.approx(expected.avg_latency_ms, abs=1e-3)
        assert sum(int(r["COST_PICO"]) for r in rows) == summary.total_cost_pico


def test_the_key_view_equals_the_gateway_summary_by_key(loaded):
    emulated, summaries, _, _ = loaded
    view = emulated.rows("KEY_USAGE_STATS", "USAGE_DATE, KEY_NAME, BACKEND")
    for day, summary in summaries.items():
        rows = {(r["KEY_NAME"], r["BACKEND"]): r for r in view if r["USAGE_DATE"] == day.date()}
        assert set(rows) == {(k.key_name, k.backend) for k in summary.keys}
        for expected in summary.keys:
            row = rows[expected.key_name, expected.backend]
            assert (int(row["REQUESTS"]), int(row["ERRORS"])) == (expected.requests, expected.errors)
            assert int(row["PROMPT_TOKENS"]) == expected.prompt_tokens
            assert int(row["COMPLETION_TOKENS"]) == expected.completion_tokens
            assert int(row["COST_PICO"]) == expected.cost_pico
    assert {r["KEY_NAME"] for r in view} == {"team-insights", "default"}


def test_cost_savings_downgrades_equal_the_cost_trackers_optimization_report(loaded):
    emulated, _, month, _ = loaded
    report = suggest(month, default_catalog())
    rows = emulated.rows("COST_SAVINGS", "SAVING_PICO DESC, CURRENT_MODEL")
    downgrades = [r for r in rows if r["RECOMMENDATION"] == "downgrade"]
    assert len(downgrades) == len(report["suggestions"]) > 0
    for row, expected in zip(downgrades, report["suggestions"], strict=True):
        assert row["CURRENT_MODEL"] == expected["model"]
        assert row["SUGGESTED_MODEL"] == expected["suggested_model"]
        assert int(row["AFFECTED_REQUESTS"]) == expected["low_complexity_requests"]
        assert int(row["SAVING_PICO"]) == expected["saving_pico"]
    assert {r["USAGE_MONTH"] for r in rows} == {DAY_1.date().replace(day=1)}
    assert all(r["RECOMMENDATION"] in ("downgrade", "batch") for r in rows)


def test_loading_the_same_objects_again_adds_nothing(loaded):
    emulated, summaries, _, files = loaded
    before = emulated.table_totals()
    statuses = emulated.load(files)
    assert [s[1] for s in statuses] == ["LOAD_SKIPPED"] * 3
    assert emulated.table_totals() == before
    assert before[0] == sum(s.total_requests for s in summaries.values())


def _row(cursor: int, **extra) -> dict:
    noon = int(DAY_1.replace(hour=12).timestamp() * 1000)
    return record(cursor, **{"ts_ms": noon, "model": LARGE, "prompt_tokens": 1, "completion_tokens": 1,
                             **extra})


def test_sums_stay_exact_past_a_double_and_big_requests_are_priced_for_batching(tmp_path):
    """Two costs whose float sum rounds (2^53 + 1 is not a double): the cast keeps the picodollar."""
    from cost_tracker.usage_export import csv_gz

    catalog = default_catalog()
    large = catalog.get(LARGE)
    big = 2**53 + 1
    path = tmp_path / "00000000000000000001-00000000000000000003.csv.gz"
    path.write_bytes(csv_gz([_row(1, cost_pico=big), _row(2, cost_pico=2),
                             _row(3, prompt_tokens=15_000, completion_tokens=500, cost_pico=8)], "prod"))
    with insights(ZONE, catalog) as emulated:
        emulated.load([path])
        (stats,) = emulated.rows("LAMBDA_USAGE_STATS", "MODEL")
        total = big + 2 + 8
        assert int(stats["COST_PICO"]) == total and int(float(total)) != total
        assert int(stats["TOTAL_TOKENS"]) == 2 + 2 + 15_500
        (batch,) = emulated.rows("COST_SAVINGS", "CURRENT_MODEL")
    current = 15_000 * large.input_pico_per_token + 500 * large.output_pico_per_token
    assert batch["RECOMMENDATION"] == "batch" and int(batch["AFFECTED_REQUESTS"]) == 1
    assert int(batch["CURRENT_COST_PICO"]) == current
    assert int(batch["SAVING_PICO"]) == current * sql.BATCH_SAVING_PERCENT // 100
