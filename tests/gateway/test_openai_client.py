"""The official openai SDK works against the gateway unchanged, streaming and not."""

from __future__ import annotations

import openai
import pytest

from standins import prompt_tokens

from .conftest import CLIENT_TOKEN, HELLO, SMALL, running_gateway


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
