"""The one URL rule every reader uses: a secret travels on https, or plain http to loopback only."""

from __future__ import annotations

import pytest

from llm_shared.urls import LOOPBACK_HOSTS, base_url_problem, secret_url_problem


@pytest.mark.parametrize("url", ["https://api.example.com/v1", "http://127.0.0.1:8000/v1",
                                 "http://localhost:9001", "http://[::1]:8080/v1"])
def test_tls_or_loopback_may_carry_a_secret(url):
    assert secret_url_problem(url) is None


@pytest.mark.parametrize(("url", "why"), [
    ("http://api.example.com/v1", "plain http"),
    ("http://127.0.0.1.example.com/v1", "plain http"),   # a loopback-looking name is not loopback
    ("http://10.0.0.5:8080", "plain http"),
    ("ftp://api.example.com", "not an http(s) URL"),
    ("api.example.com/v1", "not an http(s) URL"),
    ("https://", "not an http(s) URL"),
    ("https://api.example .com", "not an http(s) URL"),
    ("https://[::1", "not an http(s) URL"),
    ("https://user:pw@api.example.com/v1", "no credentials"),
    ("https://api.example.com/v1?key=x", "no credentials, query"),
    ("https://api.example.com/v1#x", "no credentials, query or fragment"),
])
def test_anything_else_is_refused_with_a_reason_that_does_not_quote_it(url, why):
    problem = secret_url_problem(url)
    assert problem is not None and why in problem
    assert url not in problem


def test_a_base_url_no_secret_travels_on_may_be_plain_http_anywhere():
    assert base_url_problem("http://model-server:8000/v1") is None
    assert base_url_problem("http://user:pw@model-server/v1") is not None
    assert "localhost" in LOOPBACK_HOSTS and "0.0.0.0" not in LOOPBACK_HOSTS
