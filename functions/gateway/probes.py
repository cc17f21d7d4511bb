"""GET /healthz (the process answers) and GET /readyz (at least one backend answers).

/readyz also says whether the ledger store is up: `"ledger": {"store", "up", "queued"}`, and
`"status": "degraded"` (still 200) while it is down, since requests are still served and their rows
queue in memory (gateway/ledger_writer.py); only backends decide 503.
"""

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
            writer = app.writer
            state = "unavailable" if not ready else "ready" if writer.store_up else "degraded"
            body = orjson.dumps({"status": state, "backends": dict(zip(names, results, strict=True)),
                                 "ledger": {"store": app.ledger.kind, "up": writer.store_up,
                                            "queued": writer.pending}})
            cached = (time.monotonic(), 200 if ready else 503, body)
        _, status, body = cached
        await respond(request.send, status, body)

    return handle
