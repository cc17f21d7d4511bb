"""Requests the HTTP parser itself refuses get the OpenAI error shape too (raw sockets: no client
library would send these)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import orjson
import pytest

MALFORMED = [
    b"GARBAGE\r\n\r\n",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: nope\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
]


def raw_exchange(url: str, request: bytes) -> bytes:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):  # the server closes after a 400
            received += chunk
    return received


def assert_openai_400(response: bytes) -> None:
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), response[:200]
    assert b"content-type: application/json" in head.lower()
    error = orjson.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_http_request"


@pytest.mark.parametrize("request_bytes", MALFORMED, ids=["garbage", "bad-length", "bad-header"])
def test_a_request_the_parser_refuses_is_an_openai_400(gw, request_bytes):
    assert_openai_400(raw_exchange(gw.url, request_bytes))
    assert gw.rows() == []
