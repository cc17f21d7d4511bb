"""The one plain HTTP stand-in server: stdlib, 127.0.0.1 on an ephemeral port, a daemon thread.

Every stand-in for a JSON HTTP API that cannot be reached here (the Lambda Cloud API, the gateway's
usage endpoint for the tracker's tests, Slack's incoming webhooks) is a `respond(request) -> reply`
function served by `http_server`, so starting, stopping and client hang-ups are handled once.
(The OpenAI-compatible backends are ASGI apps: see `app.py` and `serving.py`.)
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOOPBACK = "127.0.0.1"
STOP_TIMEOUT_S = 5.0

Reply = tuple[int, bytes]  # (status, JSON body)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body or b"null")


Respond = Callable[[Request], Reply]


def json_reply(status: int, payload: Any) -> Reply:
    return status, json.dumps(payload).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


@contextlib.contextmanager
def http_server(respond: Respond) -> Iterator[str]:
    """Serve GET and POST with `respond`; yields the base URL and stops the server on exit."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()),
                              self.rfile.read(length) if length else b"")
            status, body = respond(request)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        do_POST = do_GET

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
