"""Stand-in for the Lambda Cloud API's GET /api/v1/instance-types, which cannot be reached here.

A real HTTP server on 127.0.0.1 (stdlib, daemon thread) answering with the documented shape:
`{"data": {<name>: {"instance_type": {"price_cents_per_hour": ...}}}}` behind a bearer API key.
Used by the cost tracker's tests and the local demo.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

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


def json_reply(status: int, payload: Any) -> Reply:
    return status, json.dumps(payload).encode()


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
            return json_reply(404, {"error": {"code": "global/object-does-not-exist"}})
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return json_reply(401, {"error": {"code": "global/invalid-api-key",
                                              "message": "API key was invalid, expired, or deleted."}})
        if self.status != 200:
            return json_reply(self.status, {"error": {"code": "global/unknown", "message": "stand-in"}})
        data = {
            name: {
                "instance_type": {"name": name, "description": f"stand-in {name}",
                                  "gpu_description": "stand-in GPU", "price_cents_per_hour": cents,
                                  "specs": {"vcpus": 30, "memory_gib": 200, "storage_gib": 1400, "gpus": 1}},
                "regions_with_capacity_available": [{"name": "us-east-1", "description": "Virginia, USA"}],
            }
            for name, cents in self.prices_cents.items()
        }
        return json_reply(200, {"data": data})


@contextlib.contextmanager
def lambda_cloud_standin(api_key: str, prices_cents: dict[str, int]) -> Iterator[LambdaCloudStandIn]:
    standin = LambdaCloudStandIn(api_key=api_key, prices_cents=prices_cents)
    with http_server(standin.respond) as base:
        standin.url = f"{base}/api/v1"
        yield standin
