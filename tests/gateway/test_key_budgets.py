"""Per-key budgets: a request must fit its key's budget and the stack's; refusals name the budget."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from gateway.budget_guard import BudgetGuard
from gateway.client_keys import ClientKey
from gateway.openai_errors import GatewayError
from gateway.token_estimates import prompt_upper_bound
from llm_shared.budget import Budgets, Thresholds
from llm_shared.catalog import default_catalog
from llm_shared.money import usd_to_pico
from llm_shared.periods import day_period, month_period
from llm_shared.pricing import worst_case_cost_pico
from standins import Script

from .conftest import ADMIN_TOKEN, CLIENT_TOKEN, HELLO, SMALL, Clock, running_gateway

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
ALICE = ClientKey("alice", "alice-token-0000000001", daily_budget_pico=usd_to_pico("2"))
BOB = ClientKey("bob", "bob-token-00000000000001", monthly_budget_pico=usd_to_pico("3"))
FREE = ClientKey("free", "free-token-0000000000001")


def _guard(clock, key_spent=None, stack_daily="10"):
    key_calls: list[tuple[datetime, datetime, str]] = []

    def key_lookup(start, end, name):
        key_calls.append((start, end, name))
        return (key_spent or {}).get((name, start), 0)

    guard = BudgetGuard(Budgets.from_usd(stack_daily, "100"), Thresholds(), "UTC", lambda *_: 0, clock,
                        keys=(ALICE, BOB, FREE), key_spend_lookup=key_lookup)
    return guard, key_calls


def _refused(guard, key, worst=1) -> GatewayError:
    with pytest.raises(GatewayError) as refused:
        guard.reserve(worst, key)
    return refused.value


def test_a_key_budget_refuses_that_key_only_and_the_message_names_it():
    guard, _ = _guard(Clock(NOW))
    first = guard.reserve(usd_to_pico("1.5"), ALICE)
    guard.reserve(usd_to_pico("1.5"), ALICE)  # admitted at 1.5 < 2: the one that may overshoot
    refusal = _refused(guard, ALICE)
    assert (refusal.status, refusal.code) == (429, "budget_exceeded")
    assert "key 'alice' daily budget" in str(refusal)
    assert dict(refusal.headers)[b"x-should-retry"] == b"false"
    assert dict(refusal.headers)[b"retry-after"] == b"43200"  # noon: the key's day ends at midnight
    guard.reserve(usd_to_pico("1"), BOB)  # other keys and the keyless path are unaffected
    guard.reserve(usd_to_pico("1"), FREE)
    guard.reserve(usd_to_pico("1"))
    guard.settle(first, usd_to_pico("0.1"))  # actual below the worst case frees room in both scopes
    assert guard.reserve(1, ALICE).amount_pico == 1
    day, _ = guard.windows()
    assert day.committed_pico == usd_to_pico("0.1") + usd_to_pico("1.5") + usd_to_pico("3") + 1
    alice = next(k for k in guard.key_windows() if k.key_name == "alice")
    assert alice.month is None and alice.day is not None
    assert alice.day.committed_pico == usd_to_pico("0.1") + usd_to_pico("1.5") + 1


def test_the_stack_budget_binds_every_key_and_is_named_when_it_is_the_one_used_up():
    guard, _ = _guard(Clock(NOW), stack_daily="3")
    guard.reserve(usd_to_pico("3"), FREE)
    for key in (FREE, ALICE, BOB, None):
        assert "the stack daily budget is used up" in str(_refused(guard, key))


def test_a_monthly_key_budget_is_named_and_retried_after_the_month():
    guard, _ = _guard(Clock(NOW))
    guard.reserve(usd_to_pico("3"), BOB)
    refusal = _refused(guard, BOB)
    assert "key 'bob' monthly budget" in str(refusal)
    month_end = month_period(NOW, "UTC").end
    assert dict(refusal.headers)[b"retry-after"] == str(int((month_end - NOW).total_seconds())).encode()


def test_key_windows_are_seeded_from_the_keys_ledger_spend_and_roll_over():
    clock = Clock(NOW)
    day, month = day_period(NOW, "UTC"), month_period(NOW, "UTC")
    guard, calls = _guard(clock, key_spent={("alice", day.start): usd_to_pico("2"),
                                            ("bob", month.start): usd_to_pico("1")})
    assert calls == [(day.start, day.end, "alice"), (month.start, month.end, "bob")]  # budgeted keys only
    assert guard.status(ALICE) == "exceeded" and guard.status(BOB) == "ok" and guard.status() == "ok"
    late = guard.reserve(usd_to_pico("1"), BOB)
    clock.now += timedelta(days=1)  # alice's new day is looked up; bob's month is the same
    assert guard.status(ALICE) == "ok"
    assert calls[-1] == (day.end, day.end + timedelta(days=1), "alice")
    guard.settle(late, usd_to_pico("1"))  # started yesterday, same month: bob's month counts it
    bob = next(k for k in guard.key_windows() if k.key_name == "bob")
    assert bob.month is not None and (bob.month.spent_pico, bob.month.reserved_pico) == (usd_to_pico("2"), 0)


def test_a_budgeted_key_needs_its_spend_lookup():
    with pytest.raises(ValueError, match="key_spend_lookup"):
        BudgetGuard(Budgets.from_usd("1", "1"), Thresholds(), "UTC", lambda *_: 0, keys=(ALICE,))


TEAM = "team-token-for-key-budgets-01"


def test_a_key_over_its_budget_gets_a_429_naming_it_while_others_are_served(backends, tmp_path):
    backends.reset()
    backends.serverless.script = Script(reply_tokens=50)
    worst = worst_case_cost_pico(default_catalog().get(SMALL), prompt_upper_bound(HELLO), 50)
    keys = json.dumps([{"name": "team", "token": TEAM, "daily_budget_usd": str(Decimal(worst * 2) / 10**12)}])
    body = {"model": SMALL, "messages": HELLO, "max_tokens": 50}
    env = {"GATEWAY_CLIENT_KEYS": keys, "GATEWAY_CLIENT_TOKENS": CLIENT_TOKEN}
    with running_gateway(backends, tmp_path, **env) as gw:
        statuses = [gw.chat(body, token=TEAM).status_code for _ in range(6)]
        assert statuses[0] == 200 and statuses[-1] == 429  # actual cost < worst case: a few fit
        refused = gw.chat(body, token=TEAM)
        assert refused.status_code == 429 and refused.headers["x-should-retry"] == "false"
        assert refused.json()["error"]["code"] == "budget_exceeded"
        assert "key 'team' daily budget" in refused.json()["error"]["message"]
        assert gw.chat(body, token=CLIENT_TOKEN).status_code == 200  # the default key has no budget
        report = requests.get(f"{gw.v1}/usage/budget", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                              timeout=10).json()
        assert gw.app.writer.flush()
        team_spend = gw.app.ledger.spend_pico(day_period(gw.app.clock(), "UTC").start,
                                              day_period(gw.app.clock(), "UTC").end, "team")
    [team] = report["keys"]
    assert (team["key_name"], team["status"], team["month"]) == ("team", "exceeded", None)
    assert team["day"]["spent_pico"] == team_spend and team["day"]["budget_pico"] == worst * 2
    assert team_spend < worst * 2 + worst  # overshoot at most one request's worst case
    assert report["day"]["spent_pico"] > team_spend  # the stack counts the default key's request too
