"""Local stand-ins for what cannot exist here: the gateway's usage endpoint and the Lambda Cloud API.

Both are real HTTP servers on 127.0.0.1 (stdlib ThreadingHTTPServer in a daemon thread), started
and stopped by context managers with bounded waits. The gateway stand-in serves payloads built by
`llm_shared.usage_schema.build_summary` from a real `llm_shared.ledger.Ledger`, so the tracker reads
exactly the contract the real gateway serves. Faults are scriptable per test.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from llm_shared.ledger import Ledger
from llm_shared.periods import period as calendar_period
from llm_shared.usage_schema import build_summary

LOOPBACK = "127.0.0.1"
STOP_TIMEOUT_S = 5.0

Reply = tuple[int, bytes]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


@contextlib.contextmanager
def http_server(respond: Callable[[str, dict[str, list[str]], dict[str, str]], Reply]) -> Iterator[str]:
    """Serve GETs with `respond(path, query, headers) -> (status, body)`; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            status, body = respond(parts.path, parse_qs(parts.query), dict(self.headers.items()))
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Server((LOOPBACK, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(STOP_TIMEOUT_S)


def _json(status: int, payload: Any) -> Reply:
    return status, json.dumps(payload).encode()


@dataclass
class GatewayUsageStandIn:
    """Stand-in for the gateway's GET /v1/usage/summary?period=day|month (admin bearer token).

    `now` and `time_zone` fix the gateway's clock and zone; `fault` scripts failures:
    "500" (every request), "503-once" (first request only), "malformed", "slow" (sleeps `delay`),
    "unauthorized". `mutate(payload, period)` edits a valid payload before it is served.
    """

    ledger: Ledger
    token: str
    now: Callable[[], datetime]
    time_zone: str = "UTC"
    fault: str | None = None
    delay: float = 0.0
    mutate: Callable[[dict[str, Any], str], dict[str, Any]] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def payload(self, name: str) -> dict[str, Any]:
        bounds = calendar_period(name, self.now(), self.time_zone)
        return build_summary(
            period=name, start=bounds.start, end=bounds.end, time_zone=self.time_zone,
            generated_at=self.now(), rows=self.ledger.summary_rows(bounds.start, bounds.end),
            unique_users_total=self.ledger.unique_users(bounds.start, bounds.end),
        )

    def respond(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> Reply:
        self.requests.append({"path": path, "query": query, "authorization": headers.get("Authorization")})
        if self.fault == "slow":
            time.sleep(self.delay)
        if self.fault == "500":
            return _json(500, {"error": {"message": "stand-in failure"}})
        if self.fault == "503-once" and len(self.requests) == 1:
            return _json(503, {"error": {"message": "stand-in warming up"}})
        if path != "/v1/usage/summary":
            return _json(404, {"error": {"message": f"no route {path}"}})
        if self.fault == "unauthorized" or headers.get("Authorization") != f"Bearer {self.token}":
            # Echo the presented credential, as a careless server might: the tracker must redact it.
            return _json(401, {"error": {"message": f"bad token {headers.get('Authorization')}"}})
        if self.fault == "malformed":
            return 200, b'{"schema_version": 1, "period": '
        name = (query.get("period") or ["day"])[0]
        if name not in ("day", "month"):
            return _json(400, {"error": {"message": f"bad period {name}"}})
        payload = self.payload(name)
        if self.mutate is not None:
            payload = self.mutate(payload, name)
        return _json(200, payload)


@contextlib.contextmanager
def gateway_standin(ledger: Ledger, token: str, now: Callable[[], datetime], *,
                    time_zone: str = "UTC") -> Iterator[GatewayUsageStandIn]:
    standin = GatewayUsageStandIn(ledger=ledger, token=token, now=now, time_zone=time_zone)
    with http_server(standin.respond) as url:
        standin.url = url
        yield standin


@dataclass
class LambdaCloudStandIn:
    """Stand-in for the Lambda Cloud API's GET /api/v1/instance-types (bearer API key)."""

    api_key: str
    prices_cents: dict[str, int]
    status: int = 200
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def respond(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> Reply:
        self.requests.append(path)
        if path != "/api/v1/instance-types":
            return _json(404, {"error": {"code": "global/object-does-not-exist"}})
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return _json(401, {"error": {"code": "global/invalid-api-key",
                                         "message": "API key was invalid, expired, or deleted."}})
        if self.status != 200:
            return _json(self.status, {"error": {"code": "global/unknown", "message": "stand-in"}})
        data = {
            name: {
                "instance_type": {"name": name, "description": f"stand-in {name}",
                                  "gpu_description": "stand-in GPU", "price_cents_per_hour": cents,
                                  "specs": {"vcpus": 30, "memory_gib": 200, "storage_gib": 1400, "gpus": 1}},
                "regions_with_capacity_available": [{"name": "us-east-1", "description": "Virginia, USA"}],
            }
            for name, cents in self.prices_cents.items()
        }
        return _json(200, {"data": data})


@contextlib.contextmanager
def lambda_cloud_standin(api_key: str, prices_cents: dict[str, int]) -> Iterator[LambdaCloudStandIn]:
    standin = LambdaCloudStandIn(api_key=api_key, prices_cents=prices_cents)
    with http_server(standin.respond) as base:
        standin.url = f"{base}/api/v1"
        yield standin
