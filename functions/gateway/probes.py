"""GET /healthz (the process answers) and GET /readyz (at least one backend answers)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import orjson

from .asgi import Handler, HttpRequest, respond

if TYPE_CHECKING:
    from .app import GatewayApp

READY_CACHE_S = 2.0
_OK = b'{"status":"ok"}'


def healthz(app: GatewayApp) -> Handler:
    async def handle(request: HttpRequest) -> None:
        await respond(request.send, 200, _OK)

    return handle


def readyz(app: GatewayApp) -> Handler:
    # Unauthenticated, so cached briefly: probes cannot turn into a flood of upstream calls.
    cached: tuple[float, int, bytes] | None = None

    async def handle(request: HttpRequest) -> None:
        nonlocal cached
        if cached is None or time.monotonic() - cached[0] > READY_CACHE_S:
            names = list(app.upstreams)
            results = await asyncio.gather(*(app.upstreams[n].ping() for n in names))
            ready = any(results)
            body = orjson.dumps({"status": "ready" if ready else "unavailable",
                                 "backends": dict(zip(names, results, strict=True))})
            cached = (time.monotonic(), 200 if ready else 503, body)
        _, status, body = cached
        await respond(request.send, status, body)

    return handle
