"""Stand-in for the gateway's usage endpoint, for the cost tracker's tests and benchmark.

A real HTTP server on 127.0.0.1 (the stand-ins' one server, `http_server.py`),
started and stopped by a context manager with bounded waits. It serves payloads built by
`gateway.usage_summary.usage_summary` from a real `gateway.ledger.Ledger`, so the tracker reads
exactly the contract the real gateway serves. Faults are scriptable per test.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.ledger import Ledger
from gateway.usage_summary import usage_summary
from llm_shared.periods import period as calendar_period

from .http_server import Reply, Request, http_server
from .http_server import json_reply as _json


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
        return usage_summary(self.ledger, name, bounds.start, bounds.end, self.time_zone, self.now())

    def respond(self, request: Request) -> Reply:
        path, query, headers = request.path, request.query, request.headers
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
            return 200, b'{"schema_version": 2, "period": '
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
