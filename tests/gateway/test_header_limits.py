"""Request heads are bounded (count and total size, 431 beyond), tested with raw sockets: no client
library sends a 16 MB header, and the point is what the server does before any auth."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import orjson

from gateway.http_protocol import MAX_HEADER_BYTES, MAX_HEADERS

from .conftest import CLIENT_TOKEN, HELLO, SMALL

BODY = orjson.dumps({"model": SMALL, "messages": HELLO})


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def _chat_head(extra: list[tuple[str, str]], body: bytes = BODY) -> bytes:
    lines = ["POST /v1/chat/completions HTTP/1.1", "Host: gw", f"Authorization: Bearer {CLIENT_TOKEN}",
             "Content-Type: application/json", f"Content-Length: {len(body)}",
             *(f"{name}: {value}" for name, value in extra)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    """(status, body) of one response with a content-length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data[:200]!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(head.split()[1]), rest[:length]


def _assert_431(status: int, body: bytes) -> None:
    assert status == 431
    error = orjson.loads(body)["error"]
    assert error["code"] == "request_headers_too_large" and error["type"] == "invalid_request_error"


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, TimeoutError):
        return True


def test_an_unfinished_huge_header_is_refused_without_waiting_for_its_end(gw):
    with _connect(gw.url) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nX-Huge: ")
        started = time.monotonic()
        try:  # 1 MiB of a header that never ends (was kept in memory, 16 MB of them too)
            for _ in range(16):
                sock.sendall(b"a" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, body = _read_response(sock)
        assert time.monotonic() - started < 10
        _assert_431(status, body)
        assert _closed(sock)
    assert gw.rows() == []


def test_more_header_fields_than_the_limit_is_431(gw):
    with _connect(gw.url) as sock:
        sock.sendall(_chat_head([(f"X-H{i}", "v") for i in range(MAX_HEADERS)]) + BODY)
        _assert_431(*_read_response(sock))
        assert _closed(sock)
    assert gw.rows() == []


def test_a_head_over_the_size_limit_in_one_piece_is_431(gw):
    big = [(f"X-Big{i}", "b" * 1000) for i in range(MAX_HEADER_BYTES // 1000 + 1)]
    assert len(big) < MAX_HEADERS
    with _connect(gw.url) as sock:
        sock.sendall(_chat_head(big) + BODY)
        _assert_431(*_read_response(sock))
    assert gw.rows() == []


def test_heads_just_under_the_limits_are_served_on_one_keep_alive_connection(gw):
    fields = MAX_HEADERS - 6  # the six the request itself carries
    size = (MAX_HEADER_BYTES - 1024) // fields
    head = _chat_head([(f"X-F{i:02d}", "c" * (size - 12)) for i in range(fields)])
    assert MAX_HEADER_BYTES - 2048 < len(head) < MAX_HEADER_BYTES
    with _connect(gw.url) as sock:
        for _ in range(3):  # the count starts again at each request
            sock.sendall(head + BODY)
            status, body = _read_response(sock)
            assert status == 200, body[:300]
    assert len(gw.rows()) == 3
