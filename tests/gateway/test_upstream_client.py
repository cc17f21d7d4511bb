"""The upstream client's HTTP behaviour, against raw local servers scripted byte by byte: body
framings, keep-alive with a connection the server closed, timeouts, no retry of a POST that was
sent, and TLS certificate verification."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator

import pytest

from gateway.upstreams import CONNECT, TIMEOUT, Upstream, UpstreamFailure
from standins.serving import bind_loopback

BODY = b'{"model": "m", "messages": []}'


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += conn.recv(65536)
    return head


@contextlib.contextmanager
def raw_server(handle: Callable[[socket.socket, list[bytes]], None],
               tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, list[bytes]]]:
    """A loopback server running `handle(conn, requests_seen)` per connection, in daemon threads."""
    sock = bind_loopback(0)
    sock.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            if tls is not None:
                try:
                    conn = tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    conn.close()
                    continue
            conn.settimeout(5)
            threading.Thread(target=_run, args=(conn,), daemon=True).start()

    def _run(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            handle(conn, seen)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{sock.getsockname()[1]}/v1", seen
    finally:
        stop.set()
        thread.join(5)
        sock.close()


def _call(url: str, method: str = "complete", *, read_timeout_s: float = 5.0, times: int = 1) -> list:
    async def run() -> list:
        upstream = Upstream("serverless", url, "sk-test-key-1234567890", connect_timeout_s=1,
                            read_timeout_s=read_timeout_s)
        await upstream.start()
        try:
            results = []
            for _ in range(times):
                try:
                    results.append(await upstream.complete(BODY))
                except UpstreamFailure as failure:
                    results.append(failure)
            return results
        finally:
            await upstream.close()

    return asyncio.run(run())


def _answer(body: bytes, framing: str) -> bytes:
    if framing == "length":
        return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
            len(body), body)
    if framing == "chunked":
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:5], body[5:]))
        return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n" + \
            chunks + b"0\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n" + body


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_each_body_framing_is_read_whole(framing):
    answer = b'{"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}}'

    def handle(conn: socket.socket, seen: list[bytes]) -> None:
        while head := _read_request(conn):
            seen.append(head)
            conn.sendall(_answer(answer, framing))
            if framing == "close":
                return

    with raw_server(handle) as (url, seen):
        results = _call(url, times=2)
    assert results == [(200, answer, "application/json")] * 2
    assert all(b"authorization: bearer sk-test-key" in head.lower() for head in seen)


def test_a_keep_alive_connection_the_server_closed_is_replaced_not_failed():
    def handle(conn: socket.socket, seen: list[bytes]) -> None:
        seen.append(_read_request(conn))
        conn.sendall(_answer(b"{}", "length"))  # keep-alive by HTTP/1.1 default, then the server
        # closes the idle connection (as an upstream's idle timeout does)

    with raw_server(handle) as (url, seen):
        async def run() -> list:
            upstream = Upstream("gpu", url)
            await upstream.start()
            try:
                first = await upstream.complete(BODY)
                await asyncio.sleep(0.2)  # the server's close reaches the pooled connection
                return [first, await upstream.complete(BODY)]
            finally:
                await upstream.close()

        results = asyncio.run(run())
    assert results == [(200, b"{}", "application/json")] * 2
    assert len(seen) == 2


def test_a_post_that_was_sent_is_never_retried():
    def handle(conn: socket.socket, seen: list[bytes]) -> None:
        seen.append(_read_request(conn))  # read the whole request, then drop the connection unanswered

    with raw_server(handle) as (url, seen):
        [result] = _call(url)
        threading.Event().wait(0.3)  # a retry would have arrived by now
    assert isinstance(result, UpstreamFailure) and result.kind == CONNECT
    assert len(seen) == 1


def test_no_answer_within_the_read_timeout_is_a_timeout():
    def handle(conn: socket.socket, seen: list[bytes]) -> None:
        seen.append(_read_request(conn))
        threading.Event().wait(3)

    with raw_server(handle) as (url, _):
        [result] = _call(url, read_timeout_s=0.3)
    assert isinstance(result, UpstreamFailure) and result.kind == TIMEOUT
    assert "sk-test-key" not in str(result)


def test_a_closed_port_is_a_connect_failure():
    sock = bind_loopback(0)
    port = sock.getsockname()[1]
    sock.close()
    [result] = _call(f"http://127.0.0.1:{port}/v1")
    assert isinstance(result, UpstreamFailure) and result.kind == CONNECT


def _self_signed(tmp_path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False).sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


def test_a_certificate_nobody_vouches_for_is_refused(tmp_path):
    def handle(conn: socket.socket, seen: list[bytes]) -> None:
        seen.append(_read_request(conn))
        conn.sendall(_answer(b"{}", "length"))

    with raw_server(handle, tls=_self_signed(tmp_path)) as (url, seen):
        [result] = _call(url)
    assert isinstance(result, UpstreamFailure) and result.kind == CONNECT
    assert seen == []  # the request (and its API key) never left


def test_a_certificate_the_context_trusts_is_accepted_and_the_answer_read(tmp_path):
    from gateway.http1_client import Http1Client

    def handle(conn: socket.socket, seen: list[bytes]) -> None:
        while head := _read_request(conn):
            seen.append(head)
            conn.sendall(_answer(b'{"ok": true}', "chunked"))

    server = _self_signed(tmp_path)
    trusted = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    with raw_server(handle, tls=server) as (url, seen):
        async def run() -> list[tuple[int, bytes]]:
            client = Http1Client(url, connect_timeout_s=1, read_timeout_s=2, max_connections=4,
                                 ssl_context=trusted)
            out = []
            for _ in range(2):
                response = await client.request(b"GET /v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
                out.append((response.status, await response.read()))
                response.release()
            await client.close()
            return out

        assert asyncio.run(run()) == [(200, b'{"ok": true}')] * 2
    assert len(seen) == 2


def test_the_connection_limit_holds_further_requests_until_one_is_released():
    from gateway.http1_client import Http1Client

    connections: list[int] = []

    def handle(conn: socket.socket, seen: list[bytes]) -> None:
        connections.append(1)
        while head := _read_request(conn):
            seen.append(head)
            threading.Event().wait(0.2)
            conn.sendall(_answer(b"{}", "length"))

    with raw_server(handle) as (url, seen):
        async def run() -> float:
            client = Http1Client(url, connect_timeout_s=1, read_timeout_s=5, max_connections=2)

            async def one() -> None:
                response = await client.request(b"GET /v1/models HTTP/1.1\r\nhost: x\r\n\r\n")
                await response.read()
                response.release()

            loop = asyncio.get_running_loop()
            started = loop.time()
            await asyncio.gather(*(one() for _ in range(4)))
            await client.close()
            return loop.time() - started

        elapsed = asyncio.run(run())
    assert len(connections) == 2  # never more than the limit; the others reused them
    assert len(seen) == 4
    assert elapsed >= 0.38  # two rounds of 0.2 s, not one


def test_a_stream_is_delivered_as_it_arrives_and_a_half_read_connection_is_not_reused():
    first_sent = threading.Event()
    release = threading.Event()
    connections: list[int] = []

    def handle(conn: socket.socket, seen: list[bytes]) -> None:
        connections.append(1)
        while head := _read_request(conn):
            seen.append(head)
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                         b"transfer-encoding: chunked\r\n\r\n")
            conn.sendall(b"%x\r\n%s\r\n" % (len(b"data: 1\n\n"), b"data: 1\n\n"))
            first_sent.set()
            release.wait(2)
            conn.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(b"data: 2\n\n"), b"data: 2\n\n"))

    with raw_server(handle) as (url, _):
        async def run() -> list[bytes]:
            upstream = Upstream("gpu", url, read_timeout_s=5)
            await upstream.start()
            try:
                stream = await upstream.open_stream(BODY)
                assert (stream.status, stream.content_type) == (200, "text/event-stream")
                chunks = stream.chunks()
                first = await asyncio.wait_for(chunks.__anext__(), 1)  # before the server goes on
                await stream.aclose()  # half read: this connection is closed
                release.set()
                whole = await upstream.open_stream(BODY)
                rest = [chunk async for chunk in whole.chunks()]
                await whole.aclose()
                return [first, b"".join(rest)]
            finally:
                await upstream.close()

        assert asyncio.run(run()) == [b"data: 1\n\n", b"data: 1\n\ndata: 2\n\n"]
    assert len(connections) == 2


@pytest.mark.parametrize("answer", [b"NOT HTTP AT ALL\r\n\r\n",
                                    b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"])
def test_a_malformed_or_cut_response_is_a_connect_failure(answer):
    def handle(conn: socket.socket, seen: list[bytes]) -> None:
        seen.append(_read_request(conn))
        conn.sendall(answer)

    with raw_server(handle) as (url, seen):
        [result] = _call(url)
    assert isinstance(result, UpstreamFailure) and result.kind == CONNECT
    assert len(seen) == 1


def test_a_body_that_stops_midway_is_a_read_timeout():
    def handle(conn: socket.socket, seen: list[bytes]) -> None:
        seen.append(_read_request(conn))
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"choi")
        threading.Event().wait(3)

    with raw_server(handle) as (url, _):
        [result] = _call(url, read_timeout_s=0.3)
    assert isinstance(result, UpstreamFailure) and result.kind == TIMEOUT


def test_a_stream_reader_that_lags_pauses_the_socket_instead_of_buffering_everything():
    from gateway import http1_client

    total = 8 * http1_client._PAUSE_ABOVE
    piece = b"x" * 65536

    def handle(conn: socket.socket, seen: list[bytes]) -> None:
        seen.append(_read_request(conn))
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % total)
        for _ in range(total // len(piece)):
            conn.sendall(piece)

    with raw_server(handle) as (url, _):
        async def run() -> tuple[int, int]:
            client = http1_client.Http1Client(url, connect_timeout_s=1, read_timeout_s=0.5, max_connections=1)
            response = await client.request(b"GET /v1/big HTTP/1.1\r\nhost: x\r\n\r\n")
            await asyncio.sleep(0.3)  # the reader lags; the socket is paused, the timeout does not fire
            conn = response._conn
            peak = conn._buffered
            await asyncio.sleep(0.6)  # longer than the read timeout while paused
            received = 0
            while (chunk := await response.next_chunk()) is not None:
                received += len(chunk)
            response.release()
            await client.close()
            return peak, received

        peak, received = asyncio.run(run())
    assert received == total
    # Paused past the limit; at most one more socket read (uvloop reads up to 256 KiB) gets in.
    assert peak <= http1_client._PAUSE_ABOVE + 256 * 1024 < total


def test_the_deadline_bounds_a_body_that_keeps_trickling_but_not_a_streams_body():
    """The read timeout restarts with every byte; the caller's deadline does not (non-streaming).
    A stream's deadline ends with its head: its body may take as long as the model does."""
    def handle(conn: socket.socket, seen: list[bytes]) -> None:
        while head := _read_request(conn):
            seen.append(head)
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 8\r\n\r\n")
            for byte in b'{"a": 1}':
                threading.Event().wait(0.15)
                conn.sendall(bytes([byte]))

    with raw_server(handle) as (url, _):
        async def run() -> tuple[UpstreamFailure | None, bytes, float]:
            upstream = Upstream("gpu", url, read_timeout_s=0.5)
            await upstream.start()
            loop = asyncio.get_running_loop()
            try:
                started = loop.time()
                try:
                    await upstream.complete(BODY, loop.time() + 0.4)
                    failure = None
                except UpstreamFailure as exc:
                    failure = exc
                took = loop.time() - started
                stream = await upstream.open_stream(BODY, loop.time() + 0.4)
                body = b"".join([chunk async for chunk in stream.chunks()])  # ~1.2 s: past the deadline
                await stream.aclose()
                return failure, body, took
            finally:
                await upstream.close()

        failure, body, took = asyncio.run(run())
    assert failure is not None and failure.kind == TIMEOUT and failure.deadline
    assert took < 0.9
    assert body == b'{"a": 1}'


def test_a_wait_for_a_free_connection_ends_at_the_deadline():
    from gateway.http1_client import Http1Client, HttpTimeout

    def handle(conn: socket.socket, seen: list[bytes]) -> None:
        seen.append(_read_request(conn))
        threading.Event().wait(2)

    with raw_server(handle) as (url, seen):
        async def run() -> tuple[BaseException | None, int]:
            client = Http1Client(url, connect_timeout_s=1, read_timeout_s=5, max_connections=1)
            loop = asyncio.get_running_loop()
            hold = asyncio.ensure_future(client.request(b"GET /v1/a HTTP/1.1\r\nhost: x\r\n\r\n"))
            await asyncio.sleep(0.1)
            try:
                await client.request(b"GET /v1/b HTTP/1.1\r\nhost: x\r\n\r\n", deadline=loop.time() + 0.2)
                error = None
            except HttpTimeout as exc:
                error = exc
            hold.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await hold
            free = client._free
            await client.close()
            return error, free

        error, free = asyncio.run(run())
    assert isinstance(error, HttpTimeout) and error.deadline
    assert free == 1  # the cancelled holder gave its slot back
    assert len(seen) == 1


def test_a_pooled_connection_that_sends_bytes_nobody_asked_for_is_not_reused():
    connections: list[int] = []

    def handle(conn: socket.socket, seen: list[bytes]) -> None:
        connections.append(1)
        while head := _read_request(conn):
            seen.append(head)
            conn.sendall(_answer(b'{"n": %d}' % len(seen), "length"))
            threading.Event().wait(0.05)
            conn.sendall(_answer(b'{"stale": true}', "length"))  # out of step: no request for it

    with raw_server(handle) as (url, _):
        async def run() -> list:
            upstream = Upstream("gpu", url)
            await upstream.start()
            try:
                first = await upstream.complete(BODY)
                await asyncio.sleep(0.2)  # the unasked-for answer reaches the idle connection
                return [first, await upstream.complete(BODY)]
            finally:
                await upstream.close()

        results = asyncio.run(run())
    assert results == [(200, b'{"n": 1}', "application/json"), (200, b'{"n": 2}', "application/json")]
    assert len(connections) == 2
