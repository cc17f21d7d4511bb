"""Clients and backends that stop moving: a stalled stream reader is cut after a bounded flush (its
row finished as partial), and a hang on both backends ends at one total deadline per request."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import orjson
import pytest

from standins import Script

from .conftest import CLIENT_TOKEN, HELLO, SMALL, running_gateway


def _wait_for(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _open_stalled_stream(url: str) -> socket.socket:
    """A raw client that sends a streaming request, reads the response head, then stops reading."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    sock.settimeout(5)
    sock.connect((parts.hostname, parts.port))
    body = orjson.dumps({"model": SMALL, "messages": HELLO, "stream": True})
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + CLIENT_TOKEN.encode() + b"\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1024)
        assert chunk, "the gateway closed before the response head"
        head += chunk
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return sock


def test_a_stream_client_that_stops_reading_is_cut_and_its_row_is_partial(backends, tmp_path):
    backends.reset()
    backends.serverless.script = Script(reply_tokens=100_000)  # ~14 MB: far more than socket buffers
    with running_gateway(backends, tmp_path, graceful_s=30, STREAM_STALL_SECONDS="0.5") as gw:
        sock = _open_stalled_stream(gw.url)
        try:
            # Once the socket buffers are full, within the bound (plus slack for a loaded machine: filling
            # them takes seconds there) the gateway gives up on the client.
            assert _wait_for(lambda: len(gw.rows()) == 1, 15), "no row: the stalled stream is still held"
            [row] = gw.rows()
            assert row[6] == "partial" and row[7] == 1 and row[5] > 0  # partial, estimated, not free
            day, _ = gw.app.guard.windows()
            assert day.reserved_pico == 0 and day.spent_pico == row[5]
            assert _wait_for(lambda: backends.serverless.app.abandoned_streams == 1, 15)
            started = time.monotonic()
        finally:
            sock.close()
    assert time.monotonic() - started < 10  # the graceful stop is not held for its 30 s


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_a_hang_on_both_backends_ends_at_the_request_deadline(backends, tmp_path, stream):
    backends.reset()
    backends.serverless.script = Script(delay_s=5)
    backends.gpu.script = Script(delay_s=5)
    with running_gateway(backends, tmp_path, UPSTREAM_TIMEOUT_SECONDS="1.5",
                         REQUEST_DEADLINE_SECONDS="1.6") as gw:
        started = time.monotonic()
        response = gw.chat({"model": SMALL, "messages": HELLO, "stream": stream})
        elapsed = time.monotonic() - started
        assert response.status_code == 504, response.text
        assert response.json()["error"]["code"] == "upstream_timeout"
        assert 1.5 <= elapsed < 2.6  # one deadline for both (each alone would take 2 x 1.5 s)
        assert backends.serverless.app.request_count == 1 and backends.gpu.app.request_count == 1
        [row] = gw.rows()
        assert row[6] == "error" and row[5] == 0
