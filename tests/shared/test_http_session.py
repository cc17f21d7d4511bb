"""The shared retry policy (llm_shared.http.build_session, the cost tracker's session) against a real
local HTTP server: transient statuses retried, three attempts at most, other 4xx and read timeouts
never retried, Retry-After honoured and capped, backoff growing."""

from __future__ import annotations

import time

import pytest
import requests

from llm_shared.http import build_session

from .scripted_http import Reply, scripted_server

OK = Reply(200, {"ok": True})


def post(url: str, *, backoff: float = 0.01, timeout: tuple[float, float] = (1.0, 2.0),
         **kw) -> requests.Response:
    with build_session(backoff=backoff, **kw) as session:
        return session.post(f"{url}/chat/completions", json={"m": 1}, timeout=timeout)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_then_succeed(status):
    with scripted_server(Reply(status, {"error": {"message": "busy"}}), OK) as (url, script):
        assert post(url).status_code == 200
    assert len(script.requests) == 2


def test_three_attempts_at_most_then_the_last_answer():
    with scripted_server(Reply(503, {"error": {"message": "down"}})) as (url, script):
        assert post(url).status_code == 503
    assert len(script.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_4xx_are_not_retried(status):
    with scripted_server(Reply(status, {"error": {"message": "nope"}}), OK) as (url, script):
        assert post(url).status_code == status
    assert len(script.requests) == 1


def test_retry_after_is_honoured_and_capped():
    with scripted_server(Reply(429, headers={"Retry-After": "1"}), OK) as (url, script):
        post(url)
    assert script.times[1] - script.times[0] >= 0.95
    with scripted_server(Reply(503, headers={"Retry-After": "3600"}), OK) as (url, script):
        started = time.monotonic()
        post(url, max_retry_after=0.2)
    assert time.monotonic() - started < 5


def test_backoff_grows_between_attempts():
    with scripted_server(Reply(500), Reply(500), OK) as (url, script):
        post(url, backoff=0.2)
    second = script.times[2] - script.times[1]
    assert second >= 0.35  # 0.2 * 2**1 = 0.4 (jitter only adds)


def test_slow_response_times_out_without_retry():
    with scripted_server(Reply(200, OK.body, delay=1.0)) as (url, script):
        started = time.monotonic()
        with pytest.raises(requests.exceptions.RequestException, match="Read timed out"):
            post(url, timeout=(1.0, 0.2))
    assert time.monotonic() - started < 0.9
    assert len(script.requests) == 1
