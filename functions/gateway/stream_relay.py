"""Relaying one upstream SSE stream to the client while watching for the client leaving.

The pump forwards bytes as they arrive; a watcher waits for the ASGI disconnect message. Whichever
ends first decides: the upstream finished (complete), the client left, or the upstream broke off.
The caller records usage either way, so every stream leaves a ledger row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from .asgi import Receive, Send
from .sse import StreamMeter

log = logging.getLogger("gateway.stream")


async def relay(chunks: AsyncIterator[bytes], meter: StreamMeter, send: Send, receive: Receive,
                on_complete: Callable[[], bytes]) -> bool:
    """Forward until the upstream ends (True; `on_complete` returns the stream's last bytes) or the
    client leaves or the upstream breaks off (False). The response must already have started."""

    async def pump() -> None:
        async for data in chunks:
            out = meter.feed(data)
            if out:
                await send({"type": "http.response.body", "body": out, "more_body": True})
        tail = meter.finish() + on_complete()
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    pump_task = asyncio.ensure_future(pump())
    watch_task = asyncio.ensure_future(watch())
    try:
        await asyncio.wait((pump_task, watch_task), return_when=asyncio.FIRST_COMPLETED)
        if pump_task.done() and not pump_task.cancelled():
            error = pump_task.exception()
            if error is None:
                return True
            log.warning("upstream stream broke off: %r", error)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        return False
    finally:
        for task in (pump_task, watch_task):
            task.cancel()
        await asyncio.gather(pump_task, watch_task, return_exceptions=True)
