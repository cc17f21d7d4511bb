"""A real HTTP server on 127.0.0.1 that answers from a script of responses, for the retry-policy tests."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Script:
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[dict[str, object]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)


@contextmanager
def scripted_server(*replies: Reply) -> Iterator[tuple[str, Script]]:
    """Serve `replies` in order (the last one repeats); yields (base_url, script)."""
    script = Script(deque(replies))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            script.times.append(time.monotonic())
            script.requests.append({"path": self.path, "headers": dict(self.headers),
                                    "body": json.loads(raw or b"{}")})
            reply = script.replies.popleft() if len(script.replies) > 1 else script.replies[0]
            if reply.delay:
                time.sleep(reply.delay)
            data = json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
