"""The benchmark's baseline: a minimal pass-through chat proxy built from the gateway's old parts.

Raw ASGI on uvicorn (uvloop + httptools), one pooled keep-alive aiohttp session, orjson to read
the upstream's usage, and one ledger row per request batched to SQLite by the gateway's writer.
No auth, validation, routing, budget or metrics: what any proxy that keeps a ledger must pay.
The gateway is measured against it (benchmarks/gateway_load.py), so it stays on the parts the
gateway started from (uvicorn + aiohttp) and does not follow the gateway's own choices.

Run:  PYTHONPATH=functions python benchmarks/minimal_proxy.py UPSTREAM_URL LEDGER_PATH PORT [SERVER]
SERVER is uvicorn (default: the baseline) or granian (the same app on granian, to compare servers).
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from typing import Any

import aiohttp
import orjson
import uvicorn

from gateway.ledger import Ledger, UsageRecord
from gateway.ledger_writer import LedgerWriter

HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class MinimalProxy:
    """POST /v1/chat/completions passed through; GET /healthz; GET /count (rows written)."""

    def __init__(self, upstream: str, ledger_path: str) -> None:
        self.url = f"{upstream.rstrip('/')}/chat/completions"
        self.ledger_path = ledger_path
        self.session: aiohttp.ClientSession | None = None
        self.writer: LedgerWriter | None = None
        self.ledger: Ledger | None = None
        self.ids = itertools.count(1)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.ledger = Ledger(self.ledger_path)
                self.writer = LedgerWriter(self.ledger)
                self.writer.start()
                connector = aiohttp.TCPConnector(limit=512, keepalive_timeout=30)
                self.session = aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent",))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                assert self.session is not None and self.writer is not None
                await self.session.close()
                self.writer.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path = scope["path"]
        if path == "/healthz" or path == "/count":
            body = b"ok"
            if path == "/count":
                assert self.writer is not None and self.ledger is not None
                self.writer.flush()
                body = str(self.ledger.count()).encode()
            await _respond(send, 200, body, b"text/plain")
            return
        started = time.perf_counter()
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        assert self.session is not None and self.writer is not None
        async with self.session.post(self.url, data=b"".join(chunks), headers=HEADERS) as response:
            payload = await response.read()
            status = response.status
        usage = orjson.loads(payload).get("usage") or {} if status == 200 else {}
        self.writer.submit(UsageRecord(
            request_id=f"proxy-{next(self.ids)}", ts_ms=int(time.time() * 1000), model="proxied",
            backend="serverless", prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)), cost_pico=0,
            latency_ms=(time.perf_counter() - started) * 1000, status="ok" if status == 200 else "error"))
        await _respond(send, status, payload, b"application/json")


async def _respond(send: Any, status: int, body: bytes, content_type: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def app_from_env() -> MinimalProxy:
    """For servers that import the app (granian --factory)."""
    return MinimalProxy(os.environ["PROXY_UPSTREAM"], os.environ["PROXY_LEDGER"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("upstream", help="the upstream's OpenAI base URL (ending in /v1)")
    parser.add_argument("ledger_path", help="SQLite file for the ledger rows")
    parser.add_argument("port", type=int)
    parser.add_argument("server", nargs="?", default="uvicorn", choices=("uvicorn", "granian"))
    args = parser.parse_args()
    upstream, ledger_path, port, server = args.upstream, args.ledger_path, args.port, args.server
    if server == "granian":
        from granian.constants import Interfaces, Loops
        from granian.server import Server

        os.environ.update(PROXY_UPSTREAM=upstream, PROXY_LEDGER=ledger_path)
        Server("minimal_proxy:app_from_env", address="127.0.0.1", port=port, interface=Interfaces.ASGI,
               workers=1, loop=Loops.uvloop, factory=True, log_enabled=False).serve()
        return
    uvicorn.run(MinimalProxy(upstream, ledger_path), host="127.0.0.1", port=port, loop="uvloop",
                http="httptools", lifespan="on", access_log=False, log_level="warning",
                server_header=False, date_header=False)


if __name__ == "__main__":
    main()
