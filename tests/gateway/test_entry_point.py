"""`python -m gateway` as the container runs it: starts from the environment, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from gateway.ledger import Ledger
from standins.serving import bind_loopback

from .conftest import CLIENT_TOKEN, HELLO, SERVERLESS_KEY, SMALL, gateway_env
from .test_transport_errors import assert_openai_400, raw_exchange

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_drains_and_writes_every_row(backends, tmp_path):
    backends.reset()
    probe = bind_loopback(0)
    port = probe.getsockname()[1]
    probe.close()
    ledger_path = tmp_path / "data" / "ledger.db"
    env = {**os.environ, **gateway_env(backends, ledger_path, GATEWAY_PORT=str(port)),
           "PYTHONPATH": str(ROOT / "functions")}
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "gateway did not start"
            time.sleep(0.05)
        assert_openai_400(raw_exchange(base, b"GARBAGE\r\n\r\n"))  # the container's server, too
        for _ in range(20):
            response = requests.post(f"{base}/v1/chat/completions", json={"model": SMALL, "messages": HELLO},
                                     headers={"Authorization": f"Bearer {CLIENT_TOKEN}"}, timeout=10)
            assert response.status_code == 200
        proc.send_signal(signal.SIGTERM)  # at once: rows are still queued in memory
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status shows the signal
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert SERVERLESS_KEY not in output and CLIENT_TOKEN not in output
    ledger = Ledger(ledger_path)
    try:
        assert ledger.count() == 20
    finally:
        ledger.close()
