"""GET /v1/usage/summary: the contract the cost tracker validates, in the configured time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import jsonschema

from llm_shared.periods import day_period, month_period
from llm_shared.usage_schema import JSON_SCHEMA, parse_summary

from .conftest import HELLO, MEDIUM, SMALL, Clock, running_gateway, seed_row


def test_day_and_month_follow_the_calendar_in_the_configured_zone(backends, tmp_path):
    backends.reset()
    zone = "Asia/Tokyo"  # UTC+9: 2026-03-31T20:00Z is already April 1st there
    now = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)
    ledger_path = tmp_path / "ledger.sqlite3"
    seed_row(ledger_path, datetime(2026, 3, 31, 14, 59, tzinfo=UTC), 1000)          # March 31st in Tokyo
    seed_row(ledger_path, datetime(2026, 3, 31, 15, 0, tzinfo=UTC), 2000)           # April 1st 00:00 Tokyo
    seed_row(ledger_path, datetime(2026, 3, 31, 19, 0, tzinfo=UTC), 4000, MEDIUM, "gpu")
    with running_gateway(backends, tmp_path, clock=Clock(now), TIME_ZONE=zone) as gw:
        assert gw.chat({"model": SMALL, "messages": HELLO}).status_code == 200  # counted "now"
        for name, bounds in (("day", day_period(now, zone)), ("month", month_period(now, zone))):
            response = gw.summary(f"period={name}")
            assert response.status_code == 200
            payload = response.json()
            jsonschema.validate(payload, JSON_SCHEMA)
            summary = parse_summary(payload, expect_period=name, expect_start=bounds.start,
                                    expect_end=bounds.end)
            assert summary.time_zone == zone
            assert bounds.start == datetime(2026, 3, 31, 15, tzinfo=UTC)  # April 1st 00:00 in Tokyo
            by_key = {(r.model, r.backend): r for r in summary.rows}
            assert by_key[(MEDIUM, "gpu")].cost_pico == 4000
            assert by_key[(SMALL, "serverless")].requests == 2  # the seed at 00:00 + the live request
            assert summary.total_cost_pico == sum(r.cost_pico for r in summary.rows)
            assert 1000 not in [r.cost_pico for r in summary.rows]  # March 31st belongs to neither


def test_a_request_is_in_the_summary_immediately(gw):
    for _ in range(3):
        assert gw.chat({"model": SMALL, "messages": HELLO, "user": "alice"}).status_code == 200
    payload = gw.summary("period=day").json()
    jsonschema.validate(payload, JSON_SCHEMA)
    summary = parse_summary(payload, expect_period="day")
    assert summary.total_requests == 3
    assert payload["totals"]["unique_users"] == 1


def test_custom_window_and_bad_queries(gw):
    start = datetime.now(UTC) - timedelta(hours=1)
    end = start + timedelta(hours=2)
    gw.chat({"model": SMALL, "messages": HELLO})
    for query in (urlencode({"start": start.isoformat(), "end": end.isoformat()}),
                  f"start={start.isoformat().replace('+00:00', 'Z')}&end={end.isoformat()}"):  # '+' unencoded
        custom = gw.summary(query)
        assert custom.status_code == 200
        summary = parse_summary(custom.json(), expect_period="custom", expect_start=start, expect_end=end)
        assert summary.total_requests == 1
    for query, param in (("period=week", "period"), ("start=2026-01-01T00:00:00Z", "end"),
                         ("start=yesterday&end=today", "start"),
                         ("start=2026-01-01T00:00:00&end=2026-01-02T00:00:00Z", "start"),
                         ("start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z", "end"),
                         ("period=day&start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z", "period"),
                         ("periode=day", "periode")):
        response = gw.summary(query)
        assert response.status_code == 400, query
        assert response.json()["error"]["param"] == param, query
