"""The official openai SDK works against the gateway unchanged, streaming and not."""

from __future__ import annotations

from datetime import UTC, datetime

import openai
import pytest

from standins import prompt_tokens

from .conftest import CLIENT_TOKEN, HELLO, SMALL, Clock, running_gateway


def _client(gw, token: str = CLIENT_TOKEN) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.v1, api_key=token, max_retries=0, timeout=10)


def test_chat_completion_with_headers(gw):
    raw = _client(gw).chat.completions.with_raw_response.create(model="auto", messages=HELLO)
    completion = raw.parse()
    assert completion.choices[0].message.content == " ".join(f"w{i}" for i in range(8))
    assert completion.usage.prompt_tokens == prompt_tokens(HELLO)
    assert raw.headers["x-backend"] == "serverless" and raw.headers["x-model"] == SMALL
    assert float(raw.headers["x-cost-usd"]) > 0


def test_streaming_with_usage(gw):
    stream = _client(gw).chat.completions.create(model=SMALL, messages=HELLO, stream=True,
                                                 stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == " ".join(f"w{i}" for i in range(8))
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 8


def test_streaming_without_usage_and_extra_body_hints(gw, backends):
    stream = _client(gw).chat.completions.create(model="auto", messages=HELLO, stream=True,
                                                 extra_body={"cost_priority": "latency_critical"},
                                                 extra_headers={"x-force-backend": "gpu"})
    chunks = list(stream)
    assert all(c.usage is None for c in chunks)
    assert backends.gpu.app.request_count == 1


def test_models_listing(gw):
    ids = [m.id for m in _client(gw).models.list()]
    assert ids[0] == "auto" and SMALL in ids


def test_sdk_errors_map_to_their_exceptions(gw, backends, tmp_path):
    with pytest.raises(openai.AuthenticationError):
        _client(gw, "wrong-token-000000000000").chat.completions.create(model=SMALL, messages=HELLO)
    with pytest.raises(openai.NotFoundError) as missing:
        _client(gw).chat.completions.create(model="gpt-99", messages=HELLO)
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        _client(gw).chat.completions.create(model=SMALL, messages=HELLO, max_tokens=0)
    assert bad.value.param == "max_tokens"
    backends.reset()
    with running_gateway(backends, tmp_path / "tiny", DAILY_BUDGET_USD="0.000001") as tiny:
        client = _client(tiny)
        with pytest.raises(openai.RateLimitError) as refused:
            for _ in range(5):
                client.chat.completions.create(model=SMALL, messages=HELLO, max_tokens=8)
        assert refused.value.code == "budget_exceeded"


def _refusals(gw) -> float:
    """gateway_budget_refusals_total: how many requests the gateway itself refused for budget."""
    for line in gw.metrics().text.splitlines():
        if line.startswith("gateway_budget_refusals_total "):
            return float(line.split()[1])
    raise AssertionError("gateway_budget_refusals_total is missing from /metrics")


def test_a_budget_refusal_costs_one_request_with_the_sdk_s_default_retries(backends, tmp_path):
    """The SDK retries a 429 twice by default; x-should-retry: false makes one refusal one request."""
    backends.reset()
    clock = Clock(datetime(2026, 1, 14, 22, 59, 30, tzinfo=UTC))  # 23:59:30 in Berlin
    with running_gateway(backends, tmp_path, clock=clock, TIME_ZONE="Europe/Berlin",
                         DAILY_BUDGET_USD="0.000001") as gw:
        client = openai.OpenAI(base_url=gw.v1, api_key=CLIENT_TOKEN, timeout=10)  # default retries
        assert client.max_retries == 2
        client.chat.completions.create(model=SMALL, messages=HELLO, max_tokens=8)  # spends the day
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(model=SMALL, messages=HELLO, max_tokens=8)
        assert refused.value.code == "budget_exceeded"
        assert _refusals(gw) == 1
        assert backends.serverless.app.request_count + backends.gpu.app.request_count == 1
        headers = refused.value.response.headers
        assert headers["x-should-retry"] == "false"
        assert headers["retry-after"] == "30"  # the day rolls over at local midnight
        assert len(gw.rows()) == 1


def test_a_used_up_month_asks_for_a_retry_when_the_month_rolls_over(backends, tmp_path):
    backends.reset()
    clock = Clock(datetime(2026, 1, 30, 12, 0, tzinfo=UTC))
    with running_gateway(backends, tmp_path, clock=clock, DAILY_BUDGET_USD="0.000001",
                         MONTHLY_BUDGET_USD="0.000001") as gw:
        assert gw.chat({"model": SMALL, "messages": HELLO, "max_tokens": 8}).status_code == 200
        refused = gw.chat({"model": SMALL, "messages": HELLO, "max_tokens": 8})
        assert refused.status_code == 429 and refused.headers["x-should-retry"] == "false"
        # day and month both used up: the next day would not help; the month ends 36 hours away
        assert refused.headers["retry-after"] == str(36 * 3600)
