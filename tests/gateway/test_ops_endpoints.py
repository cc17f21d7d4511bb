"""GET /v1/usage/budget and POST /v1/route/explain: the guard's and the router's own answers."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests

from llm_shared.catalog import default_catalog
from llm_shared.money import usd_to_pico
from standins import Script

from .conftest import ADMIN_TOKEN, CLIENT_TOKEN, HARD, HELLO, LARGE, SMALL, Clock, running_gateway, seed_row

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


def _budget(gw, token=ADMIN_TOKEN) -> requests.Response:
    return requests.get(f"{gw.v1}/usage/budget", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _explain(gw, body, token=CLIENT_TOKEN, headers=None) -> requests.Response:
    return requests.post(f"{gw.v1}/route/explain", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {token}", **(headers or {})})


def test_budget_reports_the_guards_settled_spend_per_calendar_period(backends, tmp_path):
    backends.reset()
    ledger = tmp_path / "ledger.sqlite3"
    seed_row(ledger, NOW - timedelta(hours=1), usd_to_pico("12.5"))      # today
    seed_row(ledger, NOW - timedelta(days=3), usd_to_pico("100"))        # earlier this month
    seed_row(ledger, NOW - timedelta(days=40), usd_to_pico("999"))       # last month: not counted
    with running_gateway(backends, tmp_path, clock=Clock(NOW)) as gw:
        body = _budget(gw).json()
    assert body["status"] == "ok"
    day, month = body["day"], body["month"]
    assert (day["spent_pico"], day["spent_usd"], day["budget_usd"]) == (usd_to_pico("12.5"), "12.5", "100")
    assert (day["percent_used"], day["remaining_usd"], day["status"]) == ("12.50", "87.5", "ok")
    assert (month["spent_usd"], month["percent_used"], month["reserved_usd"]) == ("112.5", "11.25", "0")
    assert (day["start"], month["start"]) == ("2026-03-14T00:00:00+00:00", "2026-03-01T00:00:00+00:00")
    assert (body["warning_percent"], body["critical_percent"], body["time_zone"]) == ("80", "100", "UTC")


def test_budget_status_follows_the_thresholds_on_committed_spend(backends, tmp_path):
    backends.reset()
    ledger = tmp_path / "ledger.sqlite3"
    seed_row(ledger, NOW - timedelta(hours=1), usd_to_pico("85"))
    with running_gateway(backends, tmp_path, clock=Clock(NOW)) as gw:
        warning = _budget(gw).json()
        seed_row(ledger, NOW, usd_to_pico("15"))  # the guard counts its own settlements, not new rows
        assert _budget(gw).json() == warning
    assert (warning["status"], warning["day"]["status"], warning["month"]["status"]) == \
        ("warning", "warning", "ok")
    with running_gateway(backends, tmp_path, clock=Clock(NOW)) as gw:  # reseeded from the ledger at start
        exceeded = _budget(gw).json()
    assert (exceeded["status"], exceeded["day"]["remaining_usd"], exceeded["day"]["percent_used"]) == \
        ("exceeded", "0", "100.00")


def test_budget_shows_in_flight_reservations(backends, tmp_path):
    backends.reset()
    backends.serverless.script = Script(delay_s=0.4)
    with running_gateway(backends, tmp_path) as gw, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(gw.chat, {"model": SMALL, "messages": HELLO, "max_tokens": 50})
        deadline = time.monotonic() + 2
        while backends.serverless.app.request_count == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        held = _budget(gw).json()
        predicted = _explain(gw, {"model": SMALL, "messages": HELLO, "max_tokens": 50}).json()
        assert pending.result(timeout=10).status_code == 200
        after = _budget(gw).json()
    assert held["day"]["reserved_pico"] == predicted["worst_case_cost_pico"] > 0
    assert Decimal(held["day"]["committed_usd"]) == Decimal(held["day"]["spent_usd"]) + Decimal(
        held["day"]["reserved_usd"])
    assert after["day"]["reserved_pico"] == 0 and after["day"]["spent_pico"] == gw.rows()[0][5]


def test_budget_needs_the_admin_token(gw):
    assert _budget(gw, CLIENT_TOKEN).status_code == 403
    assert _budget(gw, "not-a-token-of-this-gateway").status_code == 401


def test_explain_calls_no_upstream_and_writes_no_row(gw, backends):
    response = _explain(gw, {"model": "auto", "messages": HELLO})
    assert response.status_code == 200
    body = response.json()
    small = default_catalog().get(SMALL)
    assert (body["model"], body["tier"], body["backend"]) == (SMALL, "small", "serverless")
    assert body["complexity"] == "low"
    assert body["admitted"] is True and body["budget_status"] == "ok" and body["budget_downgraded"] is False
    assert body["worst_case_cost_pico"] == body["prompt_tokens_bound"] * small.input_pico_per_token + \
        body["max_completion_tokens"] * small.output_pico_per_token
    assert body["max_completion_tokens"] == small.context_window  # no max_tokens: the whole window
    assert "low complexity" in body["reason"]
    assert backends.serverless.app.request_count == backends.gpu.app.request_count == 0
    assert gw.rows() == []


def test_explain_predicts_what_the_chat_then_does(gw):
    body = {"model": "auto", "messages": HARD, "max_tokens": 64}
    predicted = _explain(gw, body, headers={"x-cost-priority": "performance"}).json()
    served = gw.chat(body, headers={"x-cost-priority": "performance"})
    assert (predicted["model"], predicted["backend"]) == (LARGE, "serverless")  # the fixture draws 0.0
    assert served.headers["x-model"] == predicted["model"]
    assert served.headers["x-backend"] == predicted["backend"]
    assert predicted["cost_priority"] == "performance" and predicted["max_completion_tokens"] == 64
    assert int(Decimal(served.headers["x-cost-usd"]) * 10**12) <= predicted["worst_case_cost_pico"]


def test_explain_shows_a_budget_downgrade_and_a_refusal(backends, tmp_path):
    backends.reset()
    ledger = tmp_path / "ledger.sqlite3"
    seed_row(ledger, NOW - timedelta(hours=1), usd_to_pico("85"))
    body = {"model": "auto", "messages": HARD}
    with running_gateway(backends, tmp_path, clock=Clock(NOW)) as gw:
        warned = _explain(gw, body).json()
    assert (warned["budget_status"], warned["budget_downgraded"], warned["model"]) == ("warning", True, SMALL)
    seed_row(ledger, NOW - timedelta(hours=1), usd_to_pico("15"))
    with running_gateway(backends, tmp_path, clock=Clock(NOW)) as gw:
        refused = _explain(gw, body)
        assert gw.chat(body).status_code == 429
    assert refused.status_code == 200
    assert (refused.json()["admitted"], refused.json()["budget_status"]) == (False, "exceeded")
    assert "budget" in refused.json()["reason"]


def test_explain_refuses_bad_bodies_like_the_chat_endpoint(gw):
    missing = _explain(gw, {"model": "auto"})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "messages"
    unknown = _explain(gw, {"model": "gpt-17", "messages": HELLO})
    assert unknown.status_code == 404 and "known models" in unknown.json()["error"]["message"]
    forced = _explain(gw, {"model": "auto", "messages": HELLO}, headers={"x-force-backend": "moon"})
    assert forced.status_code == 400
    stranger = _explain(gw, {"model": "auto", "messages": HELLO}, token="nobody-has-this-token")
    assert stranger.status_code == 401
    as_admin = _explain(gw, {"model": "auto", "messages": HELLO}, token=ADMIN_TOKEN)
    assert as_admin.status_code == 403  # the admin token reads usage; asking to route is a client's job
    assert requests.get(f"{gw.v1}/route/explain", timeout=5).status_code == 405
