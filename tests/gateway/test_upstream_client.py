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
