"""The two backends as pooled keep-alive HTTP/1.1 clients (`http1_client`: the loop's own transports).

Our own lean client rather than a library because, measured in the gateway process under load,
each library cost more CPU per call than the rest of the request path (ADR 0005: pyreqwest's
runtime-thread hand-offs, aiohttp's per-call objects). Failures that justify trying the other
backend (connection errors, timeouts, 5xx, garbage) raise `UpstreamFailure`; other statuses are
returned for the caller to pass through. Error details never include the API key: it only travels
in a header.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

from .http1_client import Http1Client, HttpClientError, HttpTimeout, Response

CONNECT = "connect"
TIMEOUT = "timeout"
STATUS = "status"
BAD_RESPONSE = "bad_response"
POOL_SIZE = 512


class UpstreamFailure(Exception):
    """The backend did not serve the request; `kind` says how (connect, timeout, status, bad_response)."""

    def __init__(self, backend: str, kind: str, detail: str, status: int | None = None, *,
                 deadline: bool = False) -> None:
        super().__init__(f"{backend}: {kind}: {detail}")
        self.backend = backend
        self.kind = kind
        self.status = status
        self.deadline = deadline  # a timeout because the caller's deadline passed


class UpstreamStream:
    """An open streaming response; `aclose()` must be called (a half-read connection is not reused)."""

    def __init__(self, name: str, response: Response) -> None:
        self._name = name
        self._response = response
        self.status: int = response.status
        self.content_type: str = response.content_type or "application/json"

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except HttpClientError as exc:
            raise _failure(self._name, exc) from None

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; a broken or stalled upstream raises UpstreamFailure."""
        response = self._response
        while True:
            try:
                chunk = await response.next_chunk()
            except HttpClientError as exc:
                raise _failure(self._name, exc) from None
            if chunk is None:
                return
            yield chunk

    async def aclose(self) -> None:
        self._response.release()


def _failure(name: str, exc: HttpClientError) -> UpstreamFailure:
    if isinstance(exc, HttpTimeout):
        return UpstreamFailure(name, TIMEOUT, "no answer within the timeout", deadline=exc.deadline)
    return UpstreamFailure(name, CONNECT, f"{type(exc).__name__}: {exc}")


class Upstream:
    """One OpenAI-compatible backend: base URL, optional key and a model-name map."""

    def __init__(self, name: str, base_url: str, api_key: str = "",
                 model_map: Mapping[str, str] | None = None, *, connect_timeout_s: float = 3.0,
                 read_timeout_s: float = 60.0) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._model_map = dict(model_map or {})
        self._api_key = api_key
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._client: Http1Client | None = None
        self._chat_head = b""
        self._models_head = b""

    def model_name(self, catalog_id: str) -> str:
        """The name this backend knows the catalog model by."""
        return self._model_map.get(catalog_id, catalog_id)

    async def start(self) -> None:
        self._client = Http1Client(self.base_url, connect_timeout_s=self._connect_timeout_s,
                                   read_timeout_s=self._read_timeout_s, max_connections=POOL_SIZE)
        path = urlsplit(self.base_url).path.rstrip("/")
        auth = f"authorization: Bearer {self._api_key}\r\n".encode() if self._api_key else b""
        host = b"host: " + self._client.host_header + b"\r\n"
        # Everything but the content-length is the same on every call: built once.
        self._chat_head = (f"POST {path}/chat/completions HTTP/1.1\r\n".encode() + host
                           + b"content-type: application/json\r\naccept: application/json\r\n" + auth)
        self._models_head = (f"GET {path}/models HTTP/1.1\r\n".encode() + host
                             + b"accept: application/json\r\n" + auth + b"\r\n")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    @property
    def client(self) -> Http1Client:
        if self._client is None:
            raise RuntimeError(f"upstream {self.name} is not started")
        return self._client

    async def _post(self, body: bytes, deadline: float | None) -> Response:
        head = b"%scontent-length: %d\r\n\r\n" % (self._chat_head, len(body))
        try:
            return await self.client.request(head, body, deadline=deadline)
        except HttpClientError as exc:
            raise _failure(self.name, exc) from None

    async def complete(self, body: bytes, deadline: float | None = None) -> tuple[int, bytes, str]:
        """POST a non-streaming request; (status, body, content type) unless it failed over-ably.
        `deadline` (event-loop time) bounds the whole call, body included."""
        response = await self._post(body, deadline)
        try:
            payload = await response.read()
        except HttpClientError as exc:
            raise _failure(self.name, exc) from None
        finally:
            response.release()
        status = response.status
        if status >= 500:
            raise UpstreamFailure(self.name, STATUS, f"HTTP {status}", status)
        return status, payload, response.content_type or "application/json"

    async def open_stream(self, body: bytes, deadline: float | None = None) -> UpstreamStream:
        """POST a streaming request and return the open response (the caller closes it).
        `deadline` (event-loop time) bounds the wait for the response head only."""
        response = await self._post(body, deadline)
        response.end_deadline()
        stream = UpstreamStream(self.name, response)
        if stream.status >= 500:
            await stream.aclose()
            raise UpstreamFailure(self.name, STATUS, f"HTTP {stream.status}", stream.status)
        return stream

    async def ping(self, timeout_s: float = 2.0) -> bool:
        """True when GET /models answers below 500 within the timeout."""
        try:
            async with asyncio.timeout(timeout_s):
                response = await self.client.request(self._models_head, read_timeout_s=timeout_s)
                try:
                    await response.read()
                finally:
                    response.release()
        except (HttpClientError, TimeoutError):
            return False
        return response.status < 500
