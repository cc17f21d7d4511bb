"""Real servers on 127.0.0.1: two stand-in backends (one per test module) and a gateway per test."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from gateway.app import GatewayApp
from gateway.asgi import Receive, Scope, Send, read_body, respond
from gateway.config import GatewayConfig
from gateway.http_protocol import SERVER_OPTIONS
from gateway.ledger import Ledger, UsageRecord, to_ms
from standins import Script, asgi_server, standin_server
from standins.serving import StandinHandle

CLIENT_TOKEN = "client-token-for-tests-0001"
OTHER_CLIENT_TOKEN = "client-token-for-tests-0002"
ADMIN_TOKEN = "admin-token-for-tests-00001"
SERVERLESS_KEY = "sk-serverless-secret-for-tests"
SECRETS = (CLIENT_TOKEN, OTHER_CLIENT_TOKEN, ADMIN_TOKEN, SERVERLESS_KEY)  # none may reach a log or a body
SMALL = "llama3.1-8b-instruct"
MEDIUM = "llama3.1-70b-instruct-fp8"
LARGE = "llama-4-maverick-17b-128e-instruct-fp8"
HELLO = [{"role": "user", "content": "Hello there, how are you?"}]  # low complexity
HARD = [{"role": "user", "content": "Design an architecture for a multi-region database, analyze the "
                                     "trade-offs step by step and prove the consistency guarantees."}]


class Clock:
    """A settable clock for the gateway (budget periods, ledger timestamps)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def seed_row(path: Path, when: datetime, cost_pico: int, model: str = SMALL,
             backend: str = "serverless") -> None:
    """Put one finished request into a ledger file before a gateway starts on it."""
    ledger = Ledger(path)
    try:
        ledger.record(UsageRecord(request_id=f"seed-{to_ms(when)}-{cost_pico}-{model}-{backend}",
                                  ts_ms=to_ms(when), model=model, backend=backend, prompt_tokens=3,
                                  completion_tokens=4, cost_pico=cost_pico, latency_ms=2.0))
    finally:
        ledger.close()


def canned_upstream(body: bytes, content_type: bytes = b"application/json") -> Any:
    """An ASGI stand-in backend answering every request with 200 and exactly these bytes (odd upstreams)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await read_body(receive)
        await respond(send, 200, body, content_type)

    return app


@dataclass
class Backends:
    serverless: StandinHandle
    gpu: StandinHandle

    def reset(self) -> None:
        for handle in (self.serverless, self.gpu):
            handle.script = Script()
            handle.app.requests.clear()
            handle.app.request_count = 0
            handle.app.completed_streams = 0
            handle.app.abandoned_streams = 0


@dataclass
class Gateway:
    url: str          # base URL without /v1
    app: GatewayApp
    ledger_path: Path

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    def chat(self, body: dict[str, Any] | bytes, token: str | None = CLIENT_TOKEN,
             headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if isinstance(body, bytes):
            return requests.post(f"{self.v1}/chat/completions", data=body, headers=all_headers, timeout=30,
                                 **kwargs)
        return requests.post(f"{self.v1}/chat/completions", json=body, headers=all_headers, timeout=30,
                             **kwargs)

    def summary(self, query: str = "period=day", token: str = ADMIN_TOKEN) -> requests.Response:
        return requests.get(f"{self.v1}/usage/summary?{query}", headers={"Authorization": f"Bearer {token}"},
                            timeout=30)

    def metrics(self, token: str = ADMIN_TOKEN) -> requests.Response:
        return requests.get(f"{self.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def rows(self) -> list[tuple]:
        """Every ledger row, after the writer has flushed."""
        assert self.app.writer is not None and self.app.writer.flush()
        ledger = Ledger(self.ledger_path)
        try:
            return ledger._conn().execute(
                "SELECT request_id, model, backend, prompt_tokens, completion_tokens, cost_pico, status, "
                "estimated, complexity, user_id FROM usage ORDER BY ts_ms, request_id").fetchall()
        finally:
            ledger.close()


def gateway_env(backends: Backends, ledger_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        "GATEWAY_CLIENT_TOKENS": f"{CLIENT_TOKEN},{OTHER_CLIENT_TOKEN}",
        "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN,
        "SERVERLESS_BASE_URL": backends.serverless.url,
        "SERVERLESS_API_KEY": SERVERLESS_KEY,
        "GPU_BASE_URL": backends.gpu.url,
        "LEDGER_URL": str(ledger_path),
        "DAILY_BUDGET_USD": "100",
        "MONTHLY_BUDGET_USD": "1000",
        "UPSTREAM_TIMEOUT_SECONDS": "5",
        "UPSTREAM_CONNECT_TIMEOUT_SECONDS": "1",
    }
    env.update(overrides)
    return env


@contextlib.contextmanager
def running_gateway(backends: Backends, tmp_path: Path, *, rng: Any = None, clock: Any = None,
                    ledger_interval_s: float = 0.05, graceful_s: float = 5, **env: str) -> Iterator[Gateway]:
    ledger_path = tmp_path / "ledger.sqlite3"
    config = GatewayConfig.from_env(gateway_env(backends, ledger_path, **env))
    app = GatewayApp(config, rng=rng or (lambda: 0.0), clock=clock, ledger_interval_s=ledger_interval_s)
    with asgi_server(app, timeout_graceful_shutdown=graceful_s, **SERVER_OPTIONS) as url:
        yield Gateway(url, app, ledger_path)


@pytest.fixture(scope="module")
def backends() -> Iterator[Backends]:
    with standin_server("serverless") as serverless, standin_server("gpu") as gpu:
        yield Backends(serverless, gpu)


@pytest.fixture
def gw(backends: Backends, tmp_path: Path) -> Iterator[Gateway]:
    backends.reset()
    with running_gateway(backends, tmp_path) as gateway:
        yield gateway


def wait_until_healthy(base: str, proc: subprocess.Popen, timeout_s: float = 20) -> None:
    """Poll GET /healthz of a gateway process until it answers 200 (fails if the process exits)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline and proc.poll() is None, "gateway did not start"
        time.sleep(0.05)
