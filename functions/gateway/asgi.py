"""The raw-ASGI vocabulary shared by the gateway, its stream relay and the local stand-ins.

One place for the callable types, the request a handler receives and the few ways a response is
sent, so every server here speaks HTTP the same way (content-length always set, JSON by default).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON = b"application/json"


class ClientGone(Exception):
    """The client disconnected before its request body arrived."""


class BodyTooLarge(Exception):
    """The request body (declared or received so far) is over the limit; `size` says how big."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"request body of {size} bytes is over the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class HttpRequest:
    """One HTTP request as an endpoint sees it: the ASGI triple plus the headers the gateway reads."""

    __slots__ = ("headers", "receive", "scope", "send")

    def __init__(self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes]) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self.headers = headers

    @property
    def query_string(self) -> bytes:
        return self.scope.get("query_string", b"")


Handler = Callable[[HttpRequest], Awaitable[None]]


async def read_body(receive: Receive, limit: int | None = None, declared: bytes | None = None) -> bytes:
    """The whole request body; raises BodyTooLarge past `limit` (or when the declared content-length
    is over it, before reading), ClientGone on a disconnect."""
    if limit is not None and declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLarge(size, limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def respond_with(send: Send, status: int, body: bytes, headers: Headers) -> None:
    """A complete response in one body message; appends content-length to `headers`."""
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def respond(send: Send, status: int, body: bytes, content_type: bytes = JSON,
                  extra_headers: Headers | None = None) -> None:
    """A complete response of one content type (JSON unless told), plus any extra headers."""
    await respond_with(send, status, body, [(b"content-type", content_type), *(extra_headers or ())])


async def respond_json(send: Send, status: int, payload: Any) -> None:
    await respond(send, status, orjson.dumps(payload))
