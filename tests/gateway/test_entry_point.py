"""`python -m gateway` as the container runs it: starts from the environment, stops cleanly on SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import requests

from gateway.ledger import Ledger
from standins import Script
from standins.serving import bind_loopback

from .conftest import (
    ADMIN_TOKEN,
    CLIENT_TOKEN,
    HELLO,
    SECRETS,
    SERVERLESS_KEY,
    SMALL,
    gateway_env,
    wait_until_healthy,
)
from .test_transport_errors import assert_openai_400, raw_exchange

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def gateway_process(backends, tmp_path: Path, ledger_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`python -m gateway` on a free loopback port; yields (base URL, process) once /healthz answers."""
    probe = bind_loopback(0)
    port = probe.getsockname()[1]
    probe.close()
    env = {**os.environ, **gateway_env(backends, ledger_path, GATEWAY_PORT=str(port)),
           "PYTHONPATH": str(ROOT / "functions")}
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, proc)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _chat(base: str, token: str = CLIENT_TOKEN) -> requests.Response:
    return requests.post(f"{base}/v1/chat/completions", json={"model": SMALL, "messages": HELLO},
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_sigterm_drains_and_writes_every_row(backends, tmp_path):
    backends.reset()
    ledger_path = tmp_path / "data" / "ledger.db"
    with gateway_process(backends, tmp_path, ledger_path) as (base, proc):
        assert_openai_400(raw_exchange(base, b"GARBAGE\r\n\r\n"))  # the container's server, too
        for _ in range(20):
            assert _chat(base).status_code == 200
        proc.send_signal(signal.SIGTERM)  # at once: rows are still queued in memory
        output, _ = proc.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status shows the signal
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert SERVERLESS_KEY not in output and CLIENT_TOKEN not in output
    ledger = Ledger(ledger_path)
    try:
        assert ledger.count() == 20
    finally:
        ledger.close()


def test_logs_are_one_json_object_per_line_with_fields_and_no_secret(backends, tmp_path):
    backends.reset()
    backends.serverless.script = Script(fail_status=503, fail_count=1)  # one fallback: a warning
    with gateway_process(backends, tmp_path, tmp_path / "ledger.db") as (base, proc):
        assert _chat(base).status_code == 200
        assert _chat(base, token=f"{ADMIN_TOKEN}x").status_code == 401  # a near-miss token, echoed nowhere
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    assert all(isinstance(entry, dict) and {"ts", "level", "logger", "message"} <= set(entry)
               for entry in lines)
    by_message = {entry["message"]: entry for entry in lines}
    assert "Application shutdown complete." in by_message  # uvicorn's own lines are JSON too
    fallback = next(e for e in lines if e["message"].startswith("upstream failed"))
    assert fallback["level"] == "WARNING" and fallback["logger"] == "gateway"
    assert (fallback["backend"], fallback["kind"], fallback["status"]) == ("serverless", "status", 503)
    assert fallback["request_id"].startswith("gw-")
    ready = next(e for e in lines if e["message"] == "gateway ready")
    assert ready["gpu_base_url"] == backends.gpu.url and ready["ledger"].endswith("ledger.db")
    for secret in SECRETS:
        assert secret not in output
