"""How the gateway speaks HTTP/1.1: uvicorn's httptools protocol, with the answers the server gives
by itself in the OpenAI error shape too, and the server options `python -m gateway` and the tests
share (one owner, so tests see the server the container runs).

A request the HTTP parser refuses (not HTTP, a bad header line, a bad Content-Length) never reaches
the ASGI app; uvicorn answers it with a plain-text 400, which OpenAI SDKs cannot parse.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .openai_errors import GatewayError


class OpenAIErrorHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol whose parser-level 400 is an OpenAI-style JSON error."""

    def send_400_response(self, msg: str) -> None:
        body = GatewayError(400, f"malformed HTTP request: {msg.rstrip('.')}",
                            code="invalid_http_request").body()
        content = [b"HTTP/1.1 400 Bad Request\r\n"]
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
