"""How the gateway speaks HTTP/1.1: uvicorn's httptools protocol, with the answers the server gives
by itself in the OpenAI error shape too, and the server options `python -m gateway` and the tests
share (one owner, so tests see the server the container runs).

A request the HTTP parser refuses (not HTTP, a bad header line, a bad Content-Length) never reaches
the ASGI app; uvicorn answers it with a plain-text 400, which OpenAI SDKs cannot parse.

httptools has no limit on headers: it keeps an unfinished header in memory however long it grows,
and a 16 MB header sidesteps the body limit. So the request line plus headers are bounded here
(MAX_HEADER_BYTES in all, MAX_HEADERS fields): beyond either, 431 and the connection is closed,
before any auth and before the app sees the request. An unfinished head is counted as it arrives.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .openai_errors import GatewayError

MAX_HEADER_BYTES = 32 * 1024  # request line + header names and values (nginx's default is 32 KiB)
MAX_HEADERS = 100  # header fields per request (as hyper, Go's net/http and Node allow about)


class _HeadTooLarge(Exception):
    """Raised inside a parser callback: httptools stops parsing and uvicorn calls send_400_response."""


class OpenAIErrorHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol whose parser-level 400 is an OpenAI-style JSON error, with
    bounded request heads (431 beyond MAX_HEADER_BYTES or MAX_HEADERS)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # between a message's start and its headers' end (or before the first)
        self._head_bytes = 0  # bytes received while in the head: bounds an unfinished header
        self._head_fields = 0
        self._head_size = 0  # exact: request line and headers as the parser delivers them
        self._head_too_large = False

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > MAX_HEADER_BYTES and not self._head_too_large:
            self._head_too_large = True
            self.send_400_response("request head too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_fields = self._head_size = 0
        self._head_bytes = 0  # restarts the count at each request of a keep-alive connection

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url), 0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4, 1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True

    def _count_head(self, size: int, fields: int) -> None:
        # Exact sizes as the parser delivers them: catches a head that arrived whole in one read.
        self._head_fields += fields
        self._head_size += size
        if self._head_fields > MAX_HEADERS or self._head_size > MAX_HEADER_BYTES:
            self._head_too_large = True
            raise _HeadTooLarge

    def send_400_response(self, msg: str) -> None:
        if self._head_too_large:
            self._send_error(431, b"Request Header Fields Too Large", GatewayError(
                431, f"request headers over the limit of {MAX_HEADERS} fields or {MAX_HEADER_BYTES} bytes",
                code="request_headers_too_large"))
            return
        self._send_error(400, b"Bad Request", GatewayError(400, f"malformed HTTP request: {msg.rstrip('.')}",
                                                          code="invalid_http_request"))

    def _send_error(self, status: int, reason: bytes, error: GatewayError) -> None:
        body = error.body()
        content = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content += [b"content-type: application/json\r\n", b"content-length: %d\r\n" % len(body),
                    b"connection: close\r\n\r\n", body]
        self.transport.write(b"".join(content))
        self.transport.close()


# uvicorn options of the gateway's server (the event loop and graceful stop are the entry point's).
SERVER_OPTIONS: dict[str, Any] = {
    "http": OpenAIErrorHttpToolsProtocol,
    "lifespan": "on",
    "access_log": False,
    "proxy_headers": False,
    "server_header": False,
    "date_header": False,
}
