"""The sync chat client against a real local HTTP server: retries, no-retries, typed errors."""

from __future__ import annotations

import socket
import time

import pytest

from llm_shared.client import (
    AuthError,
    BadRequestError,
    ChatClient,
    RateLimitError,
    UpstreamUnavailable,
)

from .scripted_http import Reply, scripted_server

KEY = "sk-test-7f3a9c2e1b5d4f60aa11bb22cc33dd44"
OK = Reply(200, {"id": "c1", "model": "llama3.1-8b-instruct",
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                              "finish_reason": "stop"}],
                 "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}})
MESSAGES = [{"role": "user", "content": "hello"}]


def client(url: str, **kw) -> ChatClient:
    kw.setdefault("backoff", 0.01)
    kw.setdefault("timeout", (1.0, 2.0))
    return ChatClient(url, KEY, **kw)


def test_success_returns_completion_and_usage():
    with scripted_server(OK) as (url, script):
        result = client(url).chat(MESSAGES, "llama3.1-8b-instruct", max_tokens=5)
    assert result.usage.prompt_tokens == 12 and result.usage.total_tokens == 15
    assert result.completion["choices"][0]["message"]["content"] == "hi"
    sent = script.requests[0]
    assert sent["path"] == "/chat/completions"
    assert sent["headers"]["Authorization"] == f"Bearer {KEY}"
    assert sent["body"] == {"model": "llama3.1-8b-instruct", "messages": MESSAGES, "max_tokens": 5}


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_then_succeed(status):
    with scripted_server(Reply(status, {"error": {"message": "busy"}}), OK) as (url, script):
        result = client(url).chat(MESSAGES, "m")
    assert result.usage.completion_tokens == 3
    assert len(script.requests) == 2


def test_three_attempts_at_most_then_typed_error():
    with scripted_server(Reply(503, {"error": {"message": "down"}})) as (url, script):
        with pytest.raises(UpstreamUnavailable, match="503") as info:
            client(url).chat(MESSAGES, "m")
    assert len(script.requests) == 3
    assert info.value.status == 503
    with scripted_server(Reply(429, {"error": {"message": "slow down"}})) as (url, script):
        with pytest.raises(RateLimitError, match="slow down"):
            client(url).chat(MESSAGES, "m")
    assert len(script.requests) == 3


@pytest.mark.parametrize(("status", "error"), [(400, BadRequestError), (404, BadRequestError),
                                                (422, BadRequestError), (401, AuthError), (403, AuthError)])
def test_other_4xx_are_not_retried(status, error):
    with scripted_server(Reply(status, {"error": {"message": "nope"}}), OK) as (url, script):
        with pytest.raises(error, match=str(status)):
            client(url).chat(MESSAGES, "m")
    assert len(script.requests) == 1


def test_retry_after_is_honoured_and_capped():
    with scripted_server(Reply(429, headers={"Retry-After": "1"}), OK) as (url, script):
        client(url).chat(MESSAGES, "m")
    assert script.times[1] - script.times[0] >= 0.95
    with scripted_server(Reply(503, headers={"Retry-After": "3600"}), OK) as (url, script):
        started = time.monotonic()
        client(url, max_retry_after=0.2).chat(MESSAGES, "m")
    assert time.monotonic() - started < 5


def test_backoff_grows_between_attempts():
    with scripted_server(Reply(500), Reply(500), OK) as (url, script):
        client(url, backoff=0.2).chat(MESSAGES, "m")
    first, second = script.times[1] - script.times[0], script.times[2] - script.times[1]
    assert first >= 0.0 and second >= 0.35  # 0.2 * 2**1 = 0.4 (jitter only adds)


def test_slow_response_times_out_without_retry():
    with scripted_server(Reply(200, OK.body, delay=1.0)) as (url, script):
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable, match="timed out"):
            client(url, timeout=(1.0, 0.2)).chat(MESSAGES, "m")
    assert time.monotonic() - started < 0.9
    assert len(script.requests) == 1


def test_connection_refused_is_upstream_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(UpstreamUnavailable, match=r"cannot reach|after retries"):
        client(f"http://127.0.0.1:{port}").chat(MESSAGES, "m")


def test_key_never_appears_in_errors_or_repr():
    echo = Reply(401, {"error": {"message": f"invalid key Bearer {KEY}"}})
    with scripted_server(echo) as (url, _):
        with pytest.raises(AuthError) as info:
            client(url).chat(MESSAGES, "m")
    assert KEY not in str(info.value)
    assert "***" in str(info.value)
    assert KEY not in repr(client("http://127.0.0.1:9"))


def test_missing_usage_is_an_error():
    with scripted_server(Reply(200, {"choices": []})) as (url, _):
        with pytest.raises(BadRequestError, match="no usage"):
            client(url).chat(MESSAGES, "m")


def test_base_url_must_be_one_the_key_may_travel_on():
    with pytest.raises(ValueError, match="http"):
        ChatClient("ftp://x", KEY)
    with pytest.raises(ValueError, match="plain http"):  # was accepted: the key would go out in clear
        ChatClient("http://api.example.com/v1", KEY)
    assert KEY not in repr(ChatClient("http://127.0.0.1:9/v1", KEY))
