"""Relaying one upstream SSE stream to the client while watching for the client leaving.

The pump forwards bytes as they arrive; a watcher waits for the ASGI disconnect message. Whichever
ends first decides: the upstream finished (complete), the client left, or the upstream broke off.
A client that stops reading without leaving fills the socket buffers, and then a send waits for it
forever (holding a graceful stop for its whole grace period): each send is bounded, and a client
stalled past the bound is treated as gone. The caller records usage either way, so every stream
leaves a ledger row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from .asgi import Receive, Send
from .sse import StreamMeter

log = logging.getLogger("gateway.stream")


class ClientStalled(Exception):
    """The client stopped reading: one send waited longer than the stall bound."""


async def relay(chunks: AsyncIterator[bytes], meter: StreamMeter, send: Send, receive: Receive,
                on_complete: Callable[[], bytes], stall_timeout_s: float) -> bool:
    """Forward until the upstream ends (True; `on_complete` returns the stream's last bytes) or the
    client leaves, stalls past `stall_timeout_s` or the upstream breaks off (False). The response
    must already have started."""

    async def forward(body: bytes, more: bool) -> None:
        try:
            async with asyncio.timeout(stall_timeout_s):
                await send({"type": "http.response.body", "body": body, "more_body": more})
        except TimeoutError:
            raise ClientStalled from None

    async def pump() -> None:
        async for data in chunks:
            out = meter.feed(data)
            if out:
                await forward(out, True)
        await forward(meter.finish() + on_complete(), False)

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
            if isinstance(error, ClientStalled):  # nothing more can reach it; the server closes it
                log.warning("stream client stopped reading for %.1f s: stream cut", stall_timeout_s)
                return False
            log.warning("upstream stream broke off: %r", error)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        return False
    finally:
        for task in (pump_task, watch_task):
            task.cancel()
        await asyncio.gather(pump_task, watch_task, return_exceptions=True)
