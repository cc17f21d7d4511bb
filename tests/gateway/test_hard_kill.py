"""SIGKILL under sustained load loses only the last moments of acknowledged requests.

A separate process loads the gateway (itself a separate process, as in production) and notes
when each 200 arrived; the test kills the gateway with SIGKILL mid-load and compares the
acknowledged request ids with the ledger's rows. Every request acknowledged more than
LOSS_BOUND_S before the kill must be in the ledger (the README's crash promise).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gateway.ledger import Ledger
from standins import standin_process
from standins.serving import bind_loopback

from .conftest import ADMIN_TOKEN, CLIENT_TOKEN, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
LOSS_BOUND_S = 0.5  # the README's promise; the writer's interval is 0.15 s
LOAD_S = 2.0


def test_sigkill_under_load_loses_at_most_the_last_half_second(tmp_path):
    with standin_process("upstream") as upstream:  # its own process, so the gateway is the bottleneck
        _kill_under_load(upstream, tmp_path)


def _kill_under_load(upstream: str, tmp_path: Path) -> None:
    probe = bind_loopback(0)
    port = probe.getsockname()[1]
    probe.close()
    ledger_path = tmp_path / "ledger.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "functions"), "GATEWAY_CLIENT_TOKENS": CLIENT_TOKEN,
           "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN, "SERVERLESS_BASE_URL": upstream, "GPU_BASE_URL": upstream,
           "LEDGER_URL": str(ledger_path), "GATEWAY_PORT": str(port),
           "DAILY_BUDGET_USD": "100000", "MONTHLY_BUDGET_USD": "1000000"}
    gateway = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    load = None
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, gateway)
        load = subprocess.Popen([sys.executable, str(Path(__file__).with_name("load_until_killed.py")),
                                 f"{base}/v1/chat/completions", CLIENT_TOKEN, "64", "20"],
                                stdout=subprocess.PIPE, text=True)
        assert load.stdout is not None and load.stdout.readline().strip() == "READY"
        time.sleep(LOAD_S)
        killed_at = time.monotonic()
        gateway.send_signal(signal.SIGKILL)
        gateway.wait(10)
        output, _ = load.communicate(timeout=30)
    finally:
        for proc in (gateway, load):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
    acks = [line.split() for line in output.splitlines() if line.startswith("ACK ")]
    ledger = Ledger(ledger_path)
    try:
        rows = {row[0] for row in ledger._conn().execute("SELECT request_id FROM usage")}
    finally:
        ledger.close()
    assert len(acks) >= 200, f"too little load to test anything: {len(acks)} acknowledged"
    lost = [(killed_at - float(at), request_id) for _, at, request_id in acks if request_id not in rows]
    oldest_lost = max((age for age, _ in lost), default=0.0)
    assert oldest_lost <= LOSS_BOUND_S, (
        f"{len(lost)} of {len(acks)} acknowledged rows lost, the oldest acknowledged {oldest_lost:.3f} s "
        "before the kill")
