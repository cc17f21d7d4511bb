"""A lean keep-alive HTTP/1.1 client on the event loop's own transports, parsed by httptools.

Why not a library (ADR 0005, issue 14): measured end to end in the gateway, every library client
cost more CPU per call than the rest of the gateway's request path together. pyreqwest runs its
I/O on a Rust runtime thread, and the hand-offs between that thread and the event loop (futures
resolved across threads, loop wake-ups) cost ~90 µs per call; aiohttp builds several objects and
tasks per call. This client writes the request in one `transport.write` and resolves one future
per response on the loop thread, with the parser the server side already uses (httptools).

What it does, each tested against raw local servers (tests/gateway/test_upstream_client.py):
TLS with certificate verification (the default context, or a given one); content-length, chunked
and close-delimited bodies; keep-alive, a pooled connection the server closed is dropped before
use; a connect timeout and a read timeout (no byte for that long); a connection limit; a request
that was sent is never retried (a connection lost before the answer is an error, the caller
decides); a streamed body applies back-pressure (the socket is paused while a slow reader lags).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from urllib.parse import urlsplit

import httptools

_PAUSE_ABOVE = 256 * 1024  # buffered stream bytes at which reading from the socket pauses


class HttpClientError(Exception):
    """The exchange failed: connect, TLS, a broken or malformed response, the connection lost."""


class HttpTimeout(HttpClientError):
    """No connection within the connect timeout, no byte within the read timeout, or (`deadline`)
    the exchange not done by the caller's deadline."""

    def __init__(self, message: str, *, deadline: bool = False) -> None:
        super().__init__(message)
        self.deadline = deadline


class _Connection(asyncio.Protocol):
    """One keep-alive connection; carries at most one exchange at a time."""

    __slots__ = ("_buffered", "_busy", "_chunks", "_deadline", "_framed", "_last_read", "_loop", "_paused",
                 "_read_timeout", "_timer", "_waiter", "closed", "complete", "content_type", "error",
                 "keep_alive", "parser", "status", "transport")

    def __init__(self, loop: asyncio.AbstractEventLoop, read_timeout: float) -> None:
        self._loop = loop
        self._read_timeout = read_timeout
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_read = 0.0
        self._deadline: float | None = None  # loop time by which the exchange must be complete
        self._busy = False  # an exchange is under way (bytes arriving otherwise were not asked for)
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.content_type: str | None = None
        self.keep_alive = False
        self.complete = False
        self.error: HttpClientError | None = None
        self._framed = False  # content-length or chunked: the end is in the stream, not at the close
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._paused = False

    # exchange (called by the client) --------------------------------------------------------------

    def send(self, data: bytes, deadline: float | None) -> asyncio.Future[None]:
        """Write one request; the future resolves when the response head arrived."""
        assert self.transport is not None
        self._reset()
        self._busy = True
        self._last_read = self._loop.time()
        self._deadline = deadline
        self._waiter = self._loop.create_future()
        due = self._last_read + self._read_timeout
        self._timer = self._loop.call_at(due if deadline is None or due < deadline else deadline,
                                         self._check_read_timeout)
        self.transport.write(data)
        return self._waiter

    def wait(self) -> asyncio.Future[None]:
        """A future resolving when more body (or its end, or an error) arrived."""
        self._waiter = self._loop.create_future()
        if self._chunks or self.complete or self.error is not None:
            self._waiter.set_result(None)
        elif self._paused:
            self._resume()
        return self._waiter

    def take(self) -> bytes | None:
        """Buffered body bytes (b"" when none yet), None at the end; raises the exchange's error."""
        if self._chunks:
            chunks = self._chunks
            chunk = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
            chunks.clear()
            self._buffered = 0
            if self._paused:
                self._resume()
            return chunk
        if self.error is not None:
            raise self.error
        return None if self.complete else b""

    def finish(self) -> None:
        self._busy = False
        self._cancel_timer()

    def abort(self) -> None:
        self._cancel_timer()
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _resume(self) -> None:
        self._paused = False
        self._last_read = self._loop.time()  # the read timeout counts from here, not from the pause
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check_read_timeout(self) -> None:
        """One timer per exchange for both limits: re-armed, not replaced, as data arrives."""
        self._timer = None
        if self.complete or self.error is not None:
            return
        now = self._loop.time()
        if self._deadline is not None and now >= self._deadline:
            self._fail(HttpTimeout("no complete answer within the deadline", deadline=True))
            self.abort()
            return
        due = self._last_read + self._read_timeout
        if self._paused:  # the reader lags, not the server: not a read timeout
            due = now + self._read_timeout
        if now >= due:
            self._fail(HttpTimeout(f"no data within the read timeout of {self._read_timeout:g} s"))
            self.abort()
            return
        if self._deadline is not None and self._deadline < due:
            due = self._deadline
        self._timer = self._loop.call_at(due, self._check_read_timeout)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: HttpClientError) -> None:
        if self.error is None and not self.complete:
            self.error = error
        self._cancel_timer()
        self._wake()

    # asyncio protocol --------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        if not self._busy:  # bytes on an idle pooled connection: out of step with the server, drop it
            self.abort()
            return
        self._last_read = self._loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpClientError(f"malformed response: {exc}"))
            self.abort()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.status and not self._framed and not self.complete and self.error is None:
            self.on_message_complete()  # a close-delimited body ends here
            return
        reason = f": {exc}" if exc else ""
        self._fail(HttpClientError(f"connection closed before the response was complete{reason}"))

    # httptools callbacks -------------------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"content-type":
            self.content_type = value.decode("latin-1")
        elif lowered == b"content-length" or (lowered == b"transfer-encoding"
                                              and b"chunked" in value.lower()):
            self._framed = True

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _PAUSE_ABOVE and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self._cancel_timer()
        self._wake()


class Response:
    """A response whose head arrived; the body is read with `read()` or `chunks()`, then `release()`."""

    __slots__ = ("_client", "_conn", "content_type", "status")

    def __init__(self, client: Http1Client, conn: _Connection) -> None:
        self._client = client
        self._conn = conn
        self.status = conn.status
        self.content_type = conn.content_type

    async def read(self) -> bytes:
        """The whole body."""
        parts = []
        while (chunk := await self.next_chunk()) is not None:
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def next_chunk(self) -> bytes | None:
        """Body bytes as they arrive; None at the end."""
        conn = self._conn
        while True:
            chunk = conn.take()
            if chunk is None or chunk:
                return chunk
            await conn.wait()

    def end_deadline(self) -> None:
        """The deadline covered the head only (a stream's body takes as long as it takes)."""
        self._conn._deadline = None

    def release(self) -> None:
        """Back to the pool when the body was read whole on a keep-alive connection, else closed."""
        self._client._release(self._conn)


class Http1Client:
    """A pool of keep-alive connections to one origin (scheme://host:port)."""

    def __init__(self, base_url: str, *, connect_timeout_s: float, read_timeout_s: float,
                 max_connections: int, ssl_context: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._host = parts.hostname
        self._tls = parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        default_port = 443 if self._tls else 80
        host = f"[{self._host}]" if ":" in self._host else self._host
        self.host_header = (host if self._port == default_port else f"{host}:{self._port}").encode("idna")
        self._ssl = (ssl_context or ssl.create_default_context()) if self._tls else None
        self._connect_timeout = connect_timeout_s
        self._read_timeout = read_timeout_s
        self._free = max_connections  # connection slots not in use (a plain counter: no lock per call)
        self._slot_waiters: deque[asyncio.Future[None]] = deque()
        self._idle: list[_Connection] = []
        self._closed = False

    async def request(self, head: bytes, body: bytes = b"", read_timeout_s: float | None = None,
                      deadline: float | None = None) -> Response:
        """Send `head` (request line and headers, ending in CRLF CRLF) and `body` once; the response
        once its head arrived. `deadline` (loop time) bounds the wait for a slot, the connect and the
        whole exchange until `Response.end_deadline()`. Never retries: a request that may have been
        sent fails as it is."""
        if self._closed:
            raise HttpClientError("the client is closed")
        await self._take_slot(deadline)
        try:
            conn = self._idle.pop() if self._idle else None
            while conn is not None and (conn.closed or conn.transport is None or conn.transport.is_closing()):
                conn.abort()
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = await self._connect(read_timeout_s, deadline)
            else:
                conn._read_timeout = read_timeout_s or self._read_timeout
            try:
                await conn.send(head + body if body else head, deadline)
            except BaseException:
                conn.abort()
                raise
            if conn.error is not None:
                conn.abort()
                raise conn.error
            return Response(self, conn)
        except BaseException:
            self._give_slot()
            raise

    async def _take_slot(self, deadline: float | None) -> None:
        if self._free > 0 and not self._slot_waiters:
            self._free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._slot_waiters.append(waiter)
        try:
            if deadline is None:
                await waiter
            else:
                async with asyncio.timeout_at(deadline):
                    await waiter
        except TimeoutError:
            raise HttpTimeout("no free connection before the deadline", deadline=True) from None
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._give_slot()  # handed a slot while being cancelled: pass it on
            elif waiter in self._slot_waiters:
                self._slot_waiters.remove(waiter)
            raise

    def _give_slot(self) -> None:
        while self._slot_waiters:
            waiter = self._slot_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes straight to the next waiter
                return
        self._free += 1

    def _release(self, conn: _Connection) -> None:
        conn.finish()
        if (conn.complete and conn.keep_alive and not conn.closed and not self._closed
                and conn.transport is not None and not conn.transport.is_closing()):
            conn._read_timeout = self._read_timeout
            self._idle.append(conn)
        else:
            conn.abort()
        self._give_slot()

    async def _connect(self, read_timeout_s: float | None, deadline: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        timeout = read_timeout_s or self._read_timeout
        limit = loop.time() + self._connect_timeout
        by_deadline = deadline is not None and deadline < limit
        try:
            async with asyncio.timeout_at(deadline if by_deadline else limit):
                _, conn = await loop.create_connection(
                    lambda: _Connection(loop, timeout), self._host, self._port, ssl=self._ssl,
                    server_hostname=self._host if self._tls else None)
        except TimeoutError:
            if by_deadline:
                raise HttpTimeout("no connection before the deadline", deadline=True) from None
            raise HttpTimeout(f"no connection within {self._connect_timeout:g} s") from None
        except ssl.SSLError as exc:
            raise HttpClientError(f"TLS: {exc}") from None
        except OSError as exc:
            raise HttpClientError(f"connect: {exc}") from None
        return conn

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().abort()
