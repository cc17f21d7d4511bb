"""The budget guard: pure admission maths, roll-over in the configured zone, and a real burst."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from gateway.budget_guard import BudgetGuard, WindowState
from gateway.openai_errors import GatewayError
from gateway.token_estimates import prompt_upper_bound
from llm_shared.budget import Budgets, Thresholds
from llm_shared.catalog import default_catalog
from llm_shared.money import usd_to_pico
from llm_shared.periods import day_period, month_period
from llm_shared.pricing import cost_for, worst_case_cost_pico
from standins import Script, prompt_tokens

from .conftest import HARD, HELLO, LARGE, MEDIUM, SMALL, Clock, running_gateway, seed_row


def _guard(clock, spent=None, zone="UTC", daily="10", monthly="100"):
    calls: list[tuple[datetime, datetime]] = []

    def lookup(start, end):
        calls.append((start, end))
        return (spent or {}).get((start, end), 0)

    guard = BudgetGuard(Budgets.from_usd(daily, monthly), Thresholds(), zone, lookup, clock)
    return guard, calls


def test_admits_below_critical_and_refuses_once_committed_reaches_it():
    guard, _ = _guard(Clock(datetime(2026, 3, 10, 12, tzinfo=UTC)))
    four = usd_to_pico("4")
    first, second = guard.reserve(four), guard.reserve(four)
    assert guard.status() == "warning"  # 8 of 10 committed
    third = guard.reserve(four)  # admitted at 8 < 10: the one request that may overshoot
    assert guard.status() == "exceeded"
    with pytest.raises(GatewayError) as refused:
        guard.reserve(1)
    assert refused.value.status == 429 and refused.value.code == "budget_exceeded"
    guard.settle(first, usd_to_pico("1"))  # actual below the worst case frees room
    guard.settle(second, usd_to_pico("4"))
    assert guard.status() == "warning"  # 1 + 4 spent + 4 reserved = 9 of 10
    guard.settle(third, 0)
    assert guard.status() == "ok" and guard.windows()[0].reserved_pico == 0


def test_settling_twice_counts_once():
    guard, _ = _guard(Clock(datetime(2026, 3, 10, 12, tzinfo=UTC)))
    reservation = guard.reserve(usd_to_pico("2"))
    guard.settle(reservation, usd_to_pico("1"))
    guard.settle(reservation, usd_to_pico("1"))
    assert guard.windows()[0].spent_pico == usd_to_pico("1")


def test_seeded_from_the_ledger_spend_of_the_calendar_periods():
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    day, month = day_period(now, "UTC"), month_period(now, "UTC")
    guard, calls = _guard(Clock(now), spent={(day.start, day.end): usd_to_pico("8.5"),
                                             (month.start, month.end): usd_to_pico("20")})
    assert calls == [(day.start, day.end), (month.start, month.end)]
    assert guard.status() == "warning"
    assert guard.used_ratio() == {"day": 0.85, "month": 0.2}


def test_day_rolls_over_at_local_midnight_and_late_settlements_stay_in_their_day():
    zone = "America/New_York"
    clock = Clock(datetime(2026, 1, 11, 4, 59, tzinfo=UTC))  # 23:59 on the 10th in New York (EST, UTC-5)
    guard, calls = _guard(clock, zone=zone)
    late = guard.reserve(usd_to_pico("9"))
    guard.settle(guard.reserve(usd_to_pico("1")), usd_to_pico("1"))
    assert guard.status() == "exceeded"
    clock.now += timedelta(minutes=2)  # 00:01 on the 11th in New York
    assert guard.status() == "ok"
    assert calls[-1][0] == datetime(2026, 1, 11, 5, tzinfo=UTC)  # new day looked up from the ledger
    guard.settle(late, usd_to_pico("9"))  # started yesterday: not today's spend
    assert guard.windows()[0].spent_pico == 0
    assert guard.windows()[1].spent_pico == usd_to_pico("10")  # same month: both count




def test_burst_cannot_overshoot_the_budget_by_more_than_one_request(backends, tmp_path):
    backends.reset()
    max_tokens = 100
    # All 20 in flight together: a reply slower than the burst takes to arrive on a loaded machine
    # (at 0.3 s an early request settled below its worst case first and one more request fit).
    backends.serverless.script = Script(delay_s=1.5, reply_tokens=max_tokens)
    model = default_catalog().get(SMALL)
    worst = worst_case_cost_pico(model, prompt_upper_bound(HELLO), max_tokens)
    actual = cost_for(SMALL, prompt_tokens(HELLO), max_tokens)
    budget = usd_to_pico("0.00005")
    expected_admitted = -(-budget // worst)  # admitted while committed < budget
    body = {"model": SMALL, "messages": HELLO, "max_tokens": max_tokens}
    with running_gateway(backends, tmp_path, DAILY_BUDGET_USD="0.00005") as gw:
        barrier = threading.Barrier(20)

        def one(_):
            barrier.wait()
            return gw.chat(body)

        with ThreadPoolExecutor(20) as pool:
            responses = list(pool.map(one, range(20)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(200) == expected_admitted
        assert statuses.count(429) == 20 - expected_admitted
        refusal = next(r for r in responses if r.status_code == 429).json()["error"]
        assert refusal["code"] == "budget_exceeded" and refusal["type"] == "insufficient_quota"
        assert set(refusal) == {"message", "type", "param", "code"}
        # keep going one at a time until refused: the final spend overshoots by at most one request
        backends.serverless.script = Script(reply_tokens=max_tokens)
        for _ in range(50):
            if gw.chat(body).status_code == 429:
                break
        spent = gw.summary().json()["totals"]["cost_pico"]
        assert budget <= spent <= budget + worst
        assert spent % actual == 0 and len(gw.rows()) == spent // actual


def test_from_the_warning_threshold_auto_is_downgraded_to_the_cheapest_model(backends, tmp_path):
    backends.reset()
    seed_row(tmp_path / "ledger.sqlite3", datetime.now(UTC), usd_to_pico("85"))  # 85 % of the $100 day
    with running_gateway(backends, tmp_path) as gw:
        auto = gw.chat({"model": "auto", "messages": HARD})
        assert auto.status_code == 200
        assert auto.headers["x-model"] == default_catalog().cheapest().id == SMALL
        assert auto.headers["x-budget-downgraded"] == "true"
        explicit = gw.chat({"model": MEDIUM, "messages": HARD})
        assert explicit.headers["x-model"] == MEDIUM and "x-budget-downgraded" not in explicit.headers


def test_below_the_warning_threshold_auto_is_not_downgraded(backends, tmp_path):
    backends.reset()
    seed_row(tmp_path / "ledger.sqlite3", datetime.now(UTC), usd_to_pico("79"))
    with running_gateway(backends, tmp_path, SERVERLESS_RATIO="1") as gw:
        assert gw.chat({"model": "auto", "messages": HARD}).headers["x-model"] == LARGE


def test_month_spent_elsewhere_in_the_month_refuses_today(backends, tmp_path):
    backends.reset()
    clock = Clock(datetime(2026, 3, 15, 12, tzinfo=UTC))
    seed_row(tmp_path / "ledger.sqlite3", datetime(2026, 3, 2, 9, tzinfo=UTC), usd_to_pico("1000"))
    last_month = datetime(2026, 2, 27, 9, tzinfo=UTC)
    seed_row(tmp_path / "ledger.sqlite3", last_month, usd_to_pico("999"))
    with running_gateway(backends, tmp_path, clock=clock) as gw:
        response = gw.chat({"model": SMALL, "messages": HELLO})
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "budget_exceeded"
        assert backends.serverless.app.request_count == 0
        assert gw.rows() == [r for r in gw.rows() if r[0].startswith("seed-")]  # refusals write no rows


def _held_while_served(gw, backends, body) -> tuple[tuple[WindowState, WindowState], requests.Response]:
    """The guard's (day, month) windows while the (delayed) stand-in holds the request, and the response."""
    pool = ThreadPoolExecutor(1)
    try:
        pending = pool.submit(gw.chat, body)
        deadline = time.monotonic() + 2
        while backends.serverless.app.request_count == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        held = gw.app.guard.windows()
        return held, pending.result(timeout=10)
    finally:
        pool.shutdown()


def test_the_worst_case_is_held_while_the_call_runs_and_released_after(backends, tmp_path):
    backends.reset()
    backends.serverless.script = Script(delay_s=0.4)
    model = default_catalog().get(SMALL)
    with running_gateway(backends, tmp_path) as gw:
        held, response = _held_while_served(gw, backends,
                                            {"model": SMALL, "messages": HELLO, "max_tokens": 50, "n": 3})
        assert held[0].reserved_pico == worst_case_cost_pico(model, prompt_upper_bound(HELLO), 150)
        assert held[1].reserved_pico == held[0].reserved_pico
        assert response.status_code == 200
        after = gw.app.guard.windows()
        usage = response.json()["usage"]
        assert after[0].reserved_pico == 0
        assert after[0].spent_pico == cost_for(SMALL, usage["prompt_tokens"], usage["completion_tokens"])


def test_a_refusing_day_admits_again_after_local_midnight(backends, tmp_path):
    backends.reset()
    zone = "Europe/Berlin"  # UTC+1 in January
    clock = Clock(datetime(2026, 1, 14, 22, 59, 30, tzinfo=UTC))  # 23:59:30 in Berlin
    body = {"model": SMALL, "messages": HELLO, "max_tokens": 8}
    with running_gateway(backends, tmp_path, clock=clock, TIME_ZONE=zone, DAILY_BUDGET_USD="0.000001") as gw:
        assert gw.chat(body).status_code == 200
        assert gw.chat(body).status_code == 429  # the day's budget is spent
        clock.now += timedelta(minutes=1)  # 00:00:30 on the 15th in Berlin
        assert gw.chat(body).status_code == 200
        assert gw.chat(body).status_code == 429
        today = gw.summary("period=day").json()
        assert today["start"] == "2026-01-14T23:00:00+00:00" and today["totals"]["requests"] == 1
        month = gw.summary("period=month").json()
        assert month["totals"]["requests"] == 2


def test_a_burst_of_streams_is_bounded_like_any_other(backends, tmp_path):
    backends.reset()
    backends.serverless.script = Script(chunk_delay_s=0.05, reply_tokens=5)
    model = default_catalog().get(SMALL)
    worst = worst_case_cost_pico(model, prompt_upper_bound(HELLO), 5)
    budget = usd_to_pico("0.00002")
    body = {"model": SMALL, "messages": HELLO, "max_tokens": 5, "stream": True}
    with running_gateway(backends, tmp_path, DAILY_BUDGET_USD="0.00002") as gw:
        barrier = threading.Barrier(12)

        def one(_):
            barrier.wait()
            return gw.chat(body).status_code

        with ThreadPoolExecutor(12) as pool:
            statuses = list(pool.map(one, range(12)))
        assert statuses.count(200) == -(-budget // worst)
        assert statuses.count(429) == 12 - statuses.count(200)


TOOLS = [{"type": "function", "function": {
    "name": f"lookup_{i}", "description": "Look a record up in the inventory database by its key. " * 8,
    "parameters": {"type": "object", "properties": {"key": {"type": "string", "description": "the key"}},
                   "required": ["key"]}}} for i in range(12)]
CALL_ARGS = '{"key": "' + "k" * 3000 + '"}'
WITH_A_TOOL_CALL = [*HELLO, {"role": "assistant", "content": None, "tool_calls": [
    {"id": "c1", "type": "function", "function": {"name": "lookup_0", "arguments": CALL_ARGS}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "found"}]


def test_the_prompt_bound_covers_earlier_tool_calls_and_the_tool_definitions():
    """The template renders both into the prompt, and the backend bills them as prompt tokens."""
    plain = prompt_upper_bound([*HELLO, {"role": "tool", "tool_call_id": "c1", "content": "found"}])
    assert prompt_upper_bound(WITH_A_TOOL_CALL) >= plain + len(CALL_ARGS)
    tools_bytes = len(json.dumps(TOOLS).encode())
    assert prompt_upper_bound(HELLO, TOOLS) >= prompt_upper_bound(HELLO) + tools_bytes


def test_a_request_with_tools_reserves_for_its_tool_definitions(backends, tmp_path):
    backends.reset()
    backends.serverless.script = Script(delay_s=0.4)
    model = default_catalog().get(SMALL)
    with running_gateway(backends, tmp_path) as gw:
        body = {"model": SMALL, "messages": HELLO, "max_tokens": 50, "tools": TOOLS}
        held, response = _held_while_served(gw, backends, body)
        assert response.status_code == 200
    bound = prompt_upper_bound(HELLO) + len(json.dumps(TOOLS).encode())
    assert held[0].reserved_pico >= worst_case_cost_pico(model, bound, 50)


def test_integer_thresholds_equal_the_decimal_rule_on_random_cases():
    """The guard compares committed spend with precomputed integer thresholds; the tracker and the
    summary use the exact Decimal rule. Both must give the same status for every spend."""
    import random
    from decimal import Decimal

    from llm_shared.budget import status_for, threshold_pico

    rng = random.Random(1202)
    percents = [Decimal(rng.randint(1, 10_000)) / 100 for _ in range(40)]
    percents += [Decimal("80"), Decimal("100"), Decimal("33.33"), Decimal("0.01"), Decimal("66.666")]
    now = Clock(datetime(2026, 3, 10, 12, tzinfo=UTC))
    for _ in range(1500):
        budget = rng.choice((1, 3, 7, usd_to_pico("0.01"), usd_to_pico("10"), usd_to_pico("1000000"),
                             rng.randint(1, 10**19)))
        warning, critical = sorted(rng.sample(percents, 2))
        if warning == critical:
            continue
        thresholds = Thresholds(warning, critical)
        at_warning, at_critical = threshold_pico(budget, warning), threshold_pico(budget, critical)
        for spent in {0, at_warning - 1, at_warning, at_critical - 1, at_critical, at_critical + 1,
                      rng.randint(0, 2 * budget)} - {-1}:
            guard = BudgetGuard(Budgets(budget, budget), thresholds, "UTC", lambda *_, s=spent: s, now)
            assert guard.status() == status_for(spent, budget, thresholds), (budget, warning, critical, spent)


def test_status_is_the_worse_of_day_and_month():
    now = Clock(datetime(2026, 3, 10, 12, tzinfo=UTC))
    day, month = day_period(now(), UTC), month_period(now(), UTC)
    for day_spent, month_spent, expected in (("0", "0", "ok"), ("8", "8", "warning"), ("1", "80", "warning"),
                                             ("10", "80", "exceeded"), ("8", "100", "exceeded"),
                                             ("9", "90", "warning"), ("7.99", "79.99", "ok")):
        guard, _ = _guard(now, spent={(day.start, day.end): usd_to_pico(day_spent),
                                      (month.start, month.end): usd_to_pico(month_spent)})
        assert guard.status() == expected, (day_spent, month_spent)
