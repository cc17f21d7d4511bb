"""The two backends as pooled keep-alive aiohttp clients.

Failures that justify trying the other backend (connection errors, timeouts, 5xx, garbage) raise
`UpstreamFailure`; other statuses are returned for the caller to pass through. Error details
never include the API key: it only travels in a request header.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

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
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout_s, sock_read=read_timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def model_name(self, catalog_id: str) -> str:
        """The name this backend knows the catalog model by."""
        return self._model_map.get(catalog_id, catalog_id)

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=POOL_SIZE, keepalive_timeout=30, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout,
                                              skip_auto_headers=("User-Agent",), auto_decompress=True)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(f"upstream {self.name} is not started")
        return self._session

    def _failure(self, exc: BaseException) -> UpstreamFailure:
        if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
            return UpstreamFailure(self.name, TIMEOUT, "no answer within the timeout")
        return UpstreamFailure(self.name, CONNECT, f"{type(exc).__name__}: {exc}")

    async def complete(self, body: bytes) -> tuple[int, bytes, str]:
        """POST a non-streaming request; (status, body, content type) unless it failed over-ably."""
        try:
            async with self.session.post(self._chat_url, data=body, headers=self._headers) as response:
                payload = await response.read()
                status = response.status
                content_type = response.headers.get("Content-Type", "application/json")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise self._failure(exc) from None
        if status >= 500:
            raise UpstreamFailure(self.name, STATUS, f"HTTP {status}", status)
        return status, payload, content_type

    async def open_stream(self, body: bytes) -> aiohttp.ClientResponse:
        """POST a streaming request and return the open response (caller releases it)."""
        try:
            response = await self.session.post(self._chat_url, data=body, headers=self._headers)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise self._failure(exc) from None
        if response.status >= 500:
            response.release()
            raise UpstreamFailure(self.name, STATUS, f"HTTP {response.status}", response.status)
        return response

    async def ping(self, timeout_s: float = 2.0) -> bool:
        """True when GET /models answers below 500 within the timeout."""
        try:
            async with self.session.get(f"{self.base_url}/models", headers=self._headers,
                                        timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
                await response.read()
                return response.status < 500
        except (TimeoutError, aiohttp.ClientError, OSError):
            return False
