"""The two backends as pooled keep-alive HTTP/1.1 clients (pyreqwest: Rust's reqwest/hyper).

Chosen over aiohttp for the hot path because it costs well under half the CPU per call
(ADR 0005, `benchmarks/http_clients.py`), with TLS certificate verification, connect and read
timeouts, a connection limit, stale-connection detection and no retry of a POST that was sent,
all done by a well-kept library. Failures that justify trying the other backend (connection
errors, timeouts, 5xx, garbage) raise `UpstreamFailure`; other statuses are returned for the
caller to pass through. Error details never include the API key: it only travels in a header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import PyreqwestError, RequestTimeoutError

CONNECT = "connect"
TIMEOUT = "timeout"
STATUS = "status"
BAD_RESPONSE = "bad_response"
POOL_SIZE = 512


class UpstreamFailure(Exception):
    """The backend did not serve the request; `kind` says how (connect, timeout, status, bad_response)."""

    def __init__(self, backend: str, kind: str, detail: str, status: int | None = None) -> None:
        super().__init__(f"{backend}: {kind}: {detail}")
        self.backend = backend
        self.kind = kind
        self.status = status


class UpstreamStream:
    """An open streaming response; `aclose()` must be called (a half-read connection is not reused)."""

    def __init__(self, name: str, context: Any, response: Any) -> None:
        self._name = name
        self._context = context
        self._response = response
        self.status: int = response.status
        self.content_type: str = response.get_header("content-type") or "application/json"

    async def read(self) -> bytes:
        try:
            return (await self._response.bytes()).to_bytes()
        except PyreqwestError as exc:
            raise _failure(self._name, exc) from None

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; a broken or stalled upstream raises UpstreamFailure."""
        reader = self._response.body_reader
        while True:
            try:
                chunk = await reader.read_chunk()
            except PyreqwestError as exc:
                raise _failure(self._name, exc) from None
            if chunk is None:
                return
            yield chunk.to_bytes()

    async def aclose(self) -> None:
        await self._context.__aexit__(None, None, None)


def _failure(name: str, exc: BaseException) -> UpstreamFailure:
    if isinstance(exc, RequestTimeoutError | TimeoutError):
        return UpstreamFailure(name, TIMEOUT, "no answer within the timeout")
    return UpstreamFailure(name, CONNECT, f"{type(exc).__name__}: {exc}")


class Upstream:
    """One OpenAI-compatible backend: base URL, optional key and a model-name map."""

    def __init__(self, name: str, base_url: str, api_key: str = "",
                 model_map: Mapping[str, str] | None = None, *, connect_timeout_s: float = 3.0,
                 read_timeout_s: float = 60.0) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._chat_url = f"{self.base_url}/chat/completions"
        self._model_map = dict(model_map or {})
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self._api_key = api_key
        self._connect_timeout = timedelta(seconds=connect_timeout_s)
        self._read_timeout = timedelta(seconds=read_timeout_s)
        self._client: Client | None = None

    def model_name(self, catalog_id: str) -> str:
        """The name this backend knows the catalog model by."""
        return self._model_map.get(catalog_id, catalog_id)

    async def start(self) -> None:
        builder = (ClientBuilder().error_for_status(False).http1_only().tcp_nodelay(True)
                   .max_connections(POOL_SIZE).pool_idle_timeout(timedelta(seconds=30))
                   .connect_timeout(self._connect_timeout).read_timeout(self._read_timeout)
                   .follow_redirects(False).default_headers(self._headers))
        self._client = builder.build()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError(f"upstream {self.name} is not started")
        return self._client

    def _post(self, body: bytes) -> Any:
        request = self.client.post(self._chat_url).body_bytes(body)
        if self._api_key:
            request = request.header("Authorization", f"Bearer {self._api_key}", is_sensitive=True)
        return request

    async def complete(self, body: bytes) -> tuple[int, bytes, str]:
        """POST a non-streaming request; (status, body, content type) unless it failed over-ably."""
        try:
            response = await self._post(body).build().send()
            payload = (await response.bytes()).to_bytes()
        except PyreqwestError as exc:
            raise _failure(self.name, exc) from None
        status = response.status
        if status >= 500:
            raise UpstreamFailure(self.name, STATUS, f"HTTP {status}", status)
        return status, payload, response.get_header("content-type") or "application/json"

    async def open_stream(self, body: bytes) -> UpstreamStream:
        """POST a streaming request and return the open response (the caller closes it)."""
        # No read-ahead: by default the response is held back until 64 KiB of body (or its end)
        # arrived, which would delay a stream's first chunk until the whole answer was generated.
        context = self._post(body).streamed_read_buffer_limit(0).build_streamed()
        try:
            response = await context.__aenter__()
        except PyreqwestError as exc:
            raise _failure(self.name, exc) from None
        stream = UpstreamStream(self.name, context, response)
        if stream.status >= 500:
            await stream.aclose()
            raise UpstreamFailure(self.name, STATUS, f"HTTP {stream.status}", stream.status)
        return stream

    async def ping(self, timeout_s: float = 2.0) -> bool:
        """True when GET /models answers below 500 within the timeout."""
        try:
            response = await (self.client.get(f"{self.base_url}/models")
                              .timeout(timedelta(seconds=timeout_s)).build().send())
            await response.bytes()
        except PyreqwestError:
            return False
        return response.status < 500
