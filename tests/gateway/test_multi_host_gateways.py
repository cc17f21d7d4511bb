"""Real gateway processes (python -m gateway) sharing one Postgres ledger and budget (ADR 0010): a
burst across two or three of them overshoots by at most one request's worst case, for the stack and
for a key, with refusals naming the budget; a gateway killed mid-burst: its lease is reaped after
expiry and the shared counter equals the ledger; Postgres stopped and restarted under load: no 5xx,
no row lost."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import requests

from gateway.token_estimates import prompt_upper_bound
from llm_shared.catalog import default_catalog
from llm_shared.pricing import worst_case_cost_pico
from standins import Script, standin_process
from standins.serving import bind_loopback

from .conftest import ADMIN_TOKEN, CLIENT_TOKEN, HELLO, SMALL, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
MAX_TOKENS = 50
WORST = worst_case_cost_pico(default_catalog().get(SMALL), prompt_upper_bound(HELLO), MAX_TOKENS)
BODY = {"model": SMALL, "messages": HELLO, "max_tokens": MAX_TOKENS}
TEAM = "team-token-for-multi-host-01"


def _usd(pico: int) -> str:
    return str(Decimal(pico) / 10**12)


def _free_port() -> int:
    probe = bind_loopback(0)
    port = int(probe.getsockname()[1])
    probe.close()
    return port


@contextlib.contextmanager
def _gateways(count: int, upstream: str, dsn: str, tmp_path: Path,
              **extra: str) -> Iterator[tuple[list[str], list[subprocess.Popen[bytes]]]]:
    procs: list[subprocess.Popen[bytes]] = []
    bases = []
    try:
        for i in range(count):
            port = _free_port()
            env = {**os.environ, "PYTHONPATH": str(ROOT / "functions"), "GATEWAY_CLIENT_TOKENS": CLIENT_TOKEN,
                   "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN, "SERVERLESS_BASE_URL": upstream,
                   "GPU_BASE_URL": upstream, "LEDGER_URL": dsn, "GATEWAY_PORT": str(port),
                   "DAILY_BUDGET_USD": "100000", "MONTHLY_BUDGET_USD": "1000000", "BUDGET_LEASE_SECONDS": "1",
                   "BUDGET_LEASE_MARGIN_SECONDS": "0.2", "REQUEST_DEADLINE_SECONDS": "2",
                   "LEDGER_DEAD_LETTER_PATH": str(tmp_path / f"dead-{i}.jsonl"), **extra}
            procs.append(subprocess.Popen([sys.executable, "-m", "gateway"], env=env, cwd=tmp_path,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            bases.append(f"http://127.0.0.1:{port}")
        for base, proc in zip(bases, procs, strict=True):
            wait_until_healthy(base, proc)
        yield bases, procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # a graceful stop flushes rows and gives slices back
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _burst(bases: list[str], token: str, threads: int, seconds: float, stop_after_429: int = 15,
           alive: list[bool] | None = None) -> list[tuple[int, str]]:
    """(status, error message) of every request, clients spread over the gateways."""
    results: list[tuple[int, str]] = []
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def client(i: int) -> None:
        refused = 0
        session = requests.Session()
        while time.monotonic() < end and refused < stop_after_429:
            index = i % len(bases)
            if alive is not None and not alive[index]:
                index = next(j for j, up in enumerate(alive) if up)
            try:
                r = session.post(f"{bases[index]}/v1/chat/completions", json=BODY, timeout=10,
                                 headers={"Authorization": f"Bearer {token}"})
            except requests.ConnectionError:  # the killed gateway
                continue
            message = r.json().get("error", {}).get("message", "") if r.status_code != 200 else ""
            with lock:
                results.append((r.status_code, message))
            refused = refused + 1 if r.status_code == 429 else 0
            if r.status_code == 429:
                time.sleep(0.02)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(client, range(threads)))
    return results


def _ledger(dsn: str) -> tuple[int, int, dict[str, tuple[int, int]], list[str]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT coalesce(sum(cost_pico), 0), count(*) FROM usage").fetchone()
        assert row is not None
        pools = {r[0]: (int(r[1]), int(r[2])) for r in conn.execute(
            "SELECT scope, spent_pico, outstanding_pico FROM budget_pool WHERE scope <> 'x' "
            "ORDER BY period_end_ms - period_start_ms")}  # the day's after the month's
        replicas = [r[0] for r in conn.execute("SELECT DISTINCT replica FROM budget_lease")]
    return int(row[0]), int(row[1]), pools, replicas


@pytest.mark.parametrize(("count", "binding"), [(2, "stack"), (3, "stack"), (3, "key")])
def test_a_burst_across_gateways_overshoots_by_at_most_one_request(pg_dsn, tmp_path, count, binding):
    budget = 40 * WORST
    if binding == "stack":
        extra, token, label = {"DAILY_BUDGET_USD": _usd(budget)}, CLIENT_TOKEN, "stack daily budget"
    else:
        keys = [{"name": "team", "token": TEAM, "daily_budget_usd": _usd(budget)}]
        extra, token, label = {"GATEWAY_CLIENT_KEYS": json.dumps(keys)}, TEAM, "key 'team' daily budget"
    with standin_process("upstream", Script(reply_tokens=MAX_TOKENS)) as upstream:
        with _gateways(count, upstream, pg_dsn, tmp_path, **extra) as (bases, _):
            results = _burst(bases, token, threads=8 * count, seconds=15)
            metrics = requests.get(f"{bases[0]}/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                                   timeout=10).text
    assert 'gateway_postgres_round_trips_total{purpose="lease"}' in metrics
    statuses = [s for s, _ in results]
    assert set(statuses) <= {200, 429} and statuses.count(200) > 0
    assert all(label in message for status, message in results if status == 429)
    spent, rows, pools, _ = _ledger(pg_dsn)
    assert rows == statuses.count(200)  # every answered request has its row (graceful stops)
    assert spent <= budget + WORST - 1, (spent, budget, WORST)
    assert spent >= budget - (count + 2) * WORST  # used, not stranded in slices
    scope = "stack" if binding == "stack" else "key:team"
    assert pools[scope][0] == spent  # the shared counter equals the ledger


def test_a_gateway_killed_mid_burst_is_reaped_after_expiry_and_nothing_is_counted_twice(pg_dsn, tmp_path):
    budget = 60 * WORST
    with standin_process("upstream", Script(reply_tokens=MAX_TOKENS, delay_s=0.02)) as upstream:
        # its lease is reaped 1 s (lease) + 1 s (deadline) + 1 s (slack) after its last renewal
        with _gateways(2, upstream, pg_dsn, tmp_path, DAILY_BUDGET_USD=_usd(budget),
                       REQUEST_DEADLINE_SECONDS="1") as (bases, procs):
            alive = [True, True]
            box: dict[str, list[tuple[int, str]]] = {}
            burst = threading.Thread(target=lambda: box.setdefault(
                "r", _burst(bases, CLIENT_TOKEN, threads=8, seconds=7, stop_after_429=150, alive=alive)))
            burst.start()
            time.sleep(0.5)
            alive[0] = False
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait(10)
            burst.join(30)
    statuses = [s for s, _ in box["r"]]
    assert set(statuses) <= {200, 429} and statuses.count(200) > 0
    spent, _, pools, replicas = _ledger(pg_dsn)
    assert pools["stack"][0] == spent  # counter == ledger: the dead one's unwritten rows in neither
    assert spent <= budget + WORST - 1
    assert spent >= budget - 4 * WORST  # the dead gateway's slice came back after its lease expired
    assert len(replicas) <= 1  # its lease row was reaped


def test_postgres_down_under_load_no_5xx_and_no_row_lost(private_postgres, tmp_path):
    dsn = private_postgres.dsn
    with standin_process("upstream", Script(reply_tokens=MAX_TOKENS, delay_s=0.01)) as upstream:
        with _gateways(2, upstream, dsn, tmp_path, BUDGET_LEASE_SECONDS="30",
                       BUDGET_LEASE_MARGIN_SECONDS="1") as (bases, _):
            box: dict[str, list[tuple[int, str]]] = {}
            burst = threading.Thread(target=lambda: box.setdefault(
                "r", _burst(bases, CLIENT_TOKEN, threads=8, seconds=4, stop_after_429=10**6)))
            burst.start()
            time.sleep(0.8)
            private_postgres.stop("immediate")
            time.sleep(1.5)
            private_postgres.start()
            burst.join(30)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # the queued rows drain once it is back
                ready = [requests.get(f"{b}/readyz", timeout=5).status_code for b in bases]
                if ready == [200, 200]:
                    break
                time.sleep(0.2)
    statuses = [s for s, _ in box["r"]]
    assert set(statuses) <= {200, 429}, sorted(set(statuses))  # never a 5xx while Postgres was down
    _, rows, _, _ = _ledger(dsn)
    assert rows == statuses.count(200) > 0  # no row lost
