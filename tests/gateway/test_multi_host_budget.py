"""Several replicas sharing one Postgres budget (docs/adr/0010), each its own OS process
(tests/gateway/lease_replica.py) on real Postgres: a burst across all of them overshoots by at most
one request's worst case, for the stack and for a key; a replica killed mid-burst gives its slice
back after its lease expires and nothing is counted twice; Postgres down: the held slice keeps
serving, then requests are refused (never admitted past it), and every row arrives afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from gateway.budget_guard import BudgetGuard, SliceExhausted
from gateway.budget_leases_client import LeaseHolder, PoolWindow
from gateway.budget_leases_pg import LeaseStore, apply_schema
from gateway.client_keys import ClientKey
from gateway.openai_errors import GatewayError
from llm_shared.budget import Budgets, Thresholds

from .test_budget_leases import USAGE

ROOT = Path(__file__).resolve().parents[2]
WORST = 1_000
END = 10**13


def _prepare(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(USAGE)
        apply_schema(conn)


def _replica(dsn: str, name: str, windows: list[tuple[str, int, int, int]], *, key: str = "team",
             actual: int = WORST, seconds: float = 8.0, threads: int = 8, ttl_s: float = 5.0,
             grace_s: float = 0.2, give_up_after: int = 30, work_s: float = 0.002) -> subprocess.Popen[str]:
    config = {"dsn": dsn, "replica": name, "windows": windows, "worst": WORST, "actual": actual, "key": key,
              "ts_ms": 1_000, "ttl_s": ttl_s, "margin_s": 0.1, "grace_s": grace_s, "renew_s": 0.1,
              "threads": threads, "work_s": work_s, "seconds": seconds, "give_up_after": give_up_after,
              "flush_timeout_s": 20}
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'functions'}:{ROOT}"}
    proc = subprocess.Popen([sys.executable, "-m", "tests.gateway.lease_replica", json.dumps(config)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and json.loads(proc.stdout.readline()) == {"started": True}
    return proc


def _summary(proc: subprocess.Popen[str]) -> dict[str, int]:
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return json.loads(out.strip().splitlines()[-1])


def _ledger(dsn: str) -> tuple[int, int, dict[str, tuple[int, int]], dict[tuple[str, str], int]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT coalesce(sum(cost_pico), 0), count(*) FROM usage").fetchone()
        assert row is not None
        total, count = row
        pools = {r[0]: (int(r[1]), int(r[2])) for r in conn.execute(
            "SELECT scope, spent_pico, outstanding_pico FROM budget_pool")}
        leases = {(r[0], r[1]): int(r[2]) for r in conn.execute(
            "SELECT scope, replica, outstanding_pico FROM budget_lease")}
    return int(total), int(count), pools, leases


@pytest.mark.parametrize(("replicas", "binding"), [(2, "stack"), (3, "stack"), (3, "key")])
def test_a_burst_across_replicas_overshoots_by_at_most_one_request(pg_dsn, replicas, binding):
    _prepare(pg_dsn)
    limit = 150 * WORST + 1  # the one request admitted past it would be the overdraft
    stack = ("stack", 0, END, limit if binding == "stack" else 10**12)
    team = ("key:team", 0, END, limit if binding == "key" else 10**12)
    procs = [_replica(pg_dsn, f"r{i}", [stack, team]) for i in range(replicas)]
    summaries = [_summary(p) for p in procs]
    spent, rows, pools, leases = _ledger(pg_dsn)
    assert sum(s["admitted"] for s in summaries) == rows and all(s["unwritten"] == 0 for s in summaries)
    assert spent <= limit + WORST - 1  # overshoot below one request's worst case (actual = worst here)
    assert spent >= limit - (replicas + 1) * WORST  # and the budget was used, not stranded in slices
    assert pools[binding if binding == "stack" else "key:team"][0] == spent  # shared counter == ledger
    assert all(outstanding == 0 for _, outstanding in pools.values())  # all slices given back
    assert all(v == 0 for v in leases.values())
    trips = sum(s["round_trips"] for s in summaries)
    assert trips < rows  # far fewer round trips than requests, even on a budget this small


def test_a_killed_replica_returns_its_slice_after_expiry_and_nothing_is_counted_twice(pg_dsn):
    _prepare(pg_dsn)
    limit = 200 * WORST
    windows = [("stack", 0, END, limit)]
    doomed = _replica(pg_dsn, "doomed", windows, seconds=30, ttl_s=1.0, threads=4, work_s=0.05)
    time.sleep(0.3)  # it holds the first (largest) slice and is spending it
    survivor = _replica(pg_dsn, "survivor", windows, seconds=5, ttl_s=1.0, give_up_after=400)
    time.sleep(0.2)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    summary = _summary(survivor)
    spent, rows, pools, leases = _ledger(pg_dsn)
    assert ("stack", "doomed") not in leases  # reaped once expired
    assert pools["stack"] == (spent, 0)  # counter == ledger (the dead one's unwritten rows in neither)
    assert spent <= limit + WORST - 1
    assert spent >= limit - 3 * WORST  # the dead replica's slice came back and was spent
    assert summary["admitted"] > 0 and rows > summary["admitted"]


def test_postgres_down_serves_from_the_held_slice_then_refuses_and_loses_no_row(private_postgres):
    dsn = private_postgres.dsn
    _prepare(dsn)
    store = LeaseStore(lambda: psycopg.connect(dsn, autocommit=True, connect_timeout=1), "solo", 3.0, 0.0)
    holder = LeaseHolder(store, ttl_s=3.0, margin_s=0.2)
    window = [PoolWindow("stack", 0, END, 400 * WORST)]
    assert holder.lease_for(window, WORST)
    holder.settle(window, WORST, WORST)
    slice_free = holder.snapshot()[("stack", 0)].free(time.monotonic())
    assert slice_free >= 10 * WORST
    private_postgres.stop("immediate")
    served = 0
    while holder.reserve(window, WORST):  # no round trip: the slice serves while Postgres is down
        holder.settle(window, WORST, WORST)
        served += 1
    assert served == slice_free // WORST
    with pytest.raises(psycopg.OperationalError):  # the caller answers 429 here (never past the slice)
        holder.lease_for(window, WORST)
    private_postgres.start()
    with psycopg.connect(dsn, autocommit=True) as conn:  # the queued rows, written once it is back
        conn.execute("INSERT INTO usage (request_id, ts_ms, cost_pico, key_name) SELECT 'gw-solo-' || i, "
                     "1000, %s, 'k' FROM generate_series(1, %s) AS i", (WORST, served + 1))
    spent, rows, pools, _ = _ledger(dsn)
    assert rows == served + 1 and pools["stack"][0] == spent
    assert holder.lease_for(window, WORST)  # leasing works again


def test_a_slice_past_its_local_expiry_admits_nothing(pg_dsn):
    _prepare(pg_dsn)
    store = LeaseStore(lambda: psycopg.connect(pg_dsn, autocommit=True), "short", 0.3, 0.0)
    holder = LeaseHolder(store, ttl_s=0.3, margin_s=0.1)
    window = [PoolWindow("stack", 0, END, 400 * WORST)]
    assert holder.lease_for(window, WORST)
    time.sleep(0.25)  # the server's lease still runs; locally it is past expiry - margin
    assert not holder.reserve(window, WORST)
    assert holder.lease_for(window, WORST)  # renewed: the held money is usable again


def test_the_guard_leases_in_shared_mode_and_refuses_naming_the_pool_that_said_no(private_postgres):
    dsn = private_postgres.dsn
    _prepare(dsn)
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    team = ClientKey("team", "team-token-000000000001", daily_budget_pico=5 * WORST)
    store = LeaseStore(lambda: psycopg.connect(dsn, autocommit=True, connect_timeout=1), "g1", 30.0, 0.0)
    holder = LeaseHolder(store, ttl_s=30.0, margin_s=1.0)
    guard = BudgetGuard(Budgets(10**9, 10**10), Thresholds(), "UTC", lambda *_: 0, lambda: now, keys=(team,),
                        key_spend_lookup=lambda *_: 0, shared=holder)

    async def scenario() -> list[str]:
        with pytest.raises(SliceExhausted):
            guard.reserve(WORST)  # nothing held yet: the caller leases
        held = [await guard.reserve_leasing(WORST)]
        held += [guard.reserve(WORST) for _ in range(20)]  # from the slice, no round trip
        for _ in range(5):
            try:
                held.append(guard.reserve(WORST, team))
            except SliceExhausted:
                held.append(await guard.reserve_leasing(WORST, team))
        messages = []
        with pytest.raises(GatewayError) as refused:  # the key's pool is used up (5 x WORST)
            try:
                guard.reserve(WORST, team)
            except SliceExhausted:
                await guard.reserve_leasing(WORST, team)
        messages.append(str(refused.value))
        for reservation in held:
            guard.settle(reservation, WORST // 2)
        private_postgres.stop("immediate")
        guard.settle(guard.reserve(WORST), WORST)  # the slice still serves with Postgres down
        with pytest.raises(GatewayError) as down:
            await guard.reserve_leasing(3 * 10**8)  # past the slice (10**9 / 4): a 429, never a 5xx
        messages.append(str(down.value))
        assert down.value.status == 429
        return messages

    key_refusal, down_refusal = asyncio.run(scenario())
    assert "key 'team' daily budget" in key_refusal
    assert "ledger database cannot be reached" in down_refusal
    assert guard.windows()[0].spent_pico == 26 * (WORST // 2) + WORST
