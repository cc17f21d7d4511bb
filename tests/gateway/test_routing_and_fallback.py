"""Routing by the shared rules, the GPU model map, and one fallback to the other backend."""

from __future__ import annotations

from llm_shared.pricing import cost_for
from llm_shared.usage_schema import usd_string
from standins import Script, count_tokens, prompt_tokens
from standins.serving import asgi_server, bind_loopback

from .conftest import HARD, HELLO, LARGE, MEDIUM, SMALL, canned_upstream, running_gateway


def test_low_complexity_auto_goes_serverless_on_the_small_model_and_is_priced_exactly(gw, backends):
    response = gw.chat({"model": "auto", "messages": HELLO})
    assert response.status_code == 200
    assert response.headers["x-backend"] == "serverless"
    assert response.headers["x-model"] == SMALL
    sent = backends.serverless.last_request()
    assert sent["body"]["model"] == SMALL
    assert sent["headers"][b"authorization"] == b"Bearer sk-serverless-secret-for-tests"
    usage = response.json()["usage"]
    assert usage["prompt_tokens"] == prompt_tokens(HELLO)
    expected = cost_for(SMALL, usage["prompt_tokens"], usage["completion_tokens"])
    assert response.headers["x-cost-usd"] == usd_string(expected)
    [row] = gw.rows()
    assert row[1:9] == (SMALL, "serverless", usage["prompt_tokens"], usage["completion_tokens"], expected,
                        "ok", 0, "low")
    assert backends.gpu.app.request_count == 0


def test_high_complexity_latency_critical_goes_to_the_gpu_with_the_large_model_renamed(backends, tmp_path):
    backends.reset()
    model_map = f'{{"{LARGE}": "meta-llama/Llama-4-Maverick"}}'
    with running_gateway(backends, tmp_path, GPU_MODEL_MAP=model_map) as gw:
        response = gw.chat({"model": "auto", "messages": HARD},
                           headers={"x-cost-priority": "latency_critical"})
        assert response.status_code == 200
        assert (response.headers["x-backend"], response.headers["x-model"]) == ("gpu", LARGE)
        sent = backends.gpu.last_request()
        assert sent["body"]["model"] == "meta-llama/Llama-4-Maverick"
        assert b"authorization" not in sent["headers"]  # the serverless key never goes to the GPU host
        assert "cost_priority" not in sent["body"]
        [row] = gw.rows()
        assert row[1:3] == (LARGE, "gpu") and row[8] == "high"


def test_body_priority_wins_and_low_cost_picks_the_small_model(gw, backends):
    response = gw.chat({"model": "auto", "messages": HARD, "cost_priority": "low_cost"},
                       headers={"x-cost-priority": "latency_critical"})
    assert (response.headers["x-backend"], response.headers["x-model"]) == ("serverless", SMALL)
    assert "cost_priority" not in backends.serverless.last_request()["body"]


def test_ratio_split_uses_the_injected_draw(backends, tmp_path):
    backends.reset()
    with running_gateway(backends, tmp_path, rng=lambda: 0.95, SERVERLESS_RATIO="0.8") as gw:
        response = gw.chat({"model": "auto", "messages": HARD})
        assert (response.headers["x-backend"], response.headers["x-model"]) == ("gpu", LARGE)
    with running_gateway(backends, tmp_path / "b", rng=lambda: 0.5, SERVERLESS_RATIO="0.8") as gw:
        response = gw.chat({"model": "auto", "messages": HARD})
        assert response.headers["x-backend"] == "serverless"


def test_forced_backend_and_explicit_model_are_kept(gw, backends):
    response = gw.chat({"model": MEDIUM, "messages": HELLO}, headers={"x-force-backend": "gpu"})
    assert (response.headers["x-backend"], response.headers["x-model"]) == ("gpu", MEDIUM)
    assert backends.gpu.last_request()["body"]["model"] == MEDIUM  # no map entry: the catalog id


def test_5xx_falls_back_once_to_the_other_backend(gw, backends):
    backends.serverless.script = Script(fail_status=503, fail_count=1)
    response = gw.chat({"model": "auto", "messages": HELLO})
    assert response.status_code == 200
    assert response.headers["x-backend"] == "gpu"
    assert response.headers["x-fallback-from"] == "serverless"
    assert backends.serverless.app.request_count == 1 and backends.gpu.app.request_count == 1
    [row] = gw.rows()
    assert row[2] == "gpu" and row[6] == "ok" and row[5] > 0


def test_connection_refused_falls_back(backends, tmp_path):
    backends.reset()
    closed = bind_loopback(0)
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    with running_gateway(backends, tmp_path, SERVERLESS_BASE_URL=f"http://127.0.0.1:{port}/v1") as gw:
        response = gw.chat({"model": "auto", "messages": HELLO})
        assert response.status_code == 200 and response.headers["x-backend"] == "gpu"


def test_timeout_falls_back(backends, tmp_path):
    backends.reset()
    backends.serverless.script = Script(delay_s=1.0)
    with running_gateway(backends, tmp_path, UPSTREAM_TIMEOUT_SECONDS="0.2") as gw:
        response = gw.chat({"model": "auto", "messages": HELLO})
        assert response.status_code == 200 and response.headers["x-backend"] == "gpu"


def test_both_failing_is_a_502_with_an_error_row(gw, backends):
    backends.serverless.script = Script(fail_status=500, fail_count=-1)
    backends.gpu.script = Script(fail_status=502, fail_count=-1)
    response = gw.chat({"model": "auto", "messages": HELLO})
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_error"
    assert "serverless" in error["message"] and "gpu" in error["message"]
    [row] = gw.rows()
    assert row[6] == "error" and row[5] == 0
    # the reservation was released: a later request is admitted normally
    backends.reset()
    assert gw.chat({"model": "auto", "messages": HELLO}).status_code == 200


def test_both_timing_out_is_a_504(backends, tmp_path):
    backends.reset()
    backends.serverless.script = Script(delay_s=1.0)
    backends.gpu.script = Script(delay_s=1.0)
    with running_gateway(backends, tmp_path, UPSTREAM_TIMEOUT_SECONDS="0.2") as gw:
        response = gw.chat({"model": "auto", "messages": HELLO})
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "upstream_timeout"


def test_upstream_4xx_is_passed_through_without_fallback(gw, backends):
    backends.serverless.script = Script(fail_status=400, fail_count=1)
    response = gw.chat({"model": "auto", "messages": HELLO})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "scripted"
    assert backends.gpu.app.request_count == 0
    [row] = gw.rows()
    assert row[6] == "error" and row[5] == 0


def test_missing_upstream_usage_is_estimated_and_marked(gw, backends):
    backends.serverless.script = Script(omit_usage=True, reply_tokens=12)
    response = gw.chat({"model": "auto", "messages": HELLO})
    assert response.status_code == 200
    assert response.headers["x-usage-estimated"] == "true"
    [row] = gw.rows()
    assert row[7] == 1 and row[3] > 0 and row[4] > 0 and row[5] > 0
    content = response.json()["choices"][0]["message"]["content"]
    assert count_tokens(content) == 12


def test_max_tokens_is_forwarded_and_caps_the_completion(gw, backends):
    response = gw.chat({"model": SMALL, "messages": HELLO, "max_tokens": 3})
    assert response.json()["usage"]["completion_tokens"] == 3
    assert backends.serverless.last_request()["body"]["max_tokens"] == 3


def test_a_large_prompt_is_routed_like_any_other(gw, backends):
    from gateway.chat_pipeline import LARGE_PROMPT_BYTES
    from llm_shared.complexity import estimate

    text = "Refactor this step by step:\n```python\n" + "def f(x):\n    return x + 1\n" * 2000 + "```"
    messages = [{"role": "user", "content": text}]
    assert len(text.encode()) > LARGE_PROMPT_BYTES
    response = gw.chat({"model": "auto", "messages": messages, "max_tokens": 64})
    assert response.status_code == 200
    [row] = gw.rows()
    assert row[8] == estimate(messages).level == "high"
    assert response.headers["x-model"] == LARGE


def test_operator_force_backend_sends_even_low_complexity_to_the_gpu(backends, tmp_path):
    """The rollback lever: GATEWAY_FORCE_BACKEND=gpu moves all traffic; a request header still wins."""
    backends.reset()
    with running_gateway(backends, tmp_path, GATEWAY_FORCE_BACKEND="gpu") as gw:
        low = gw.chat({"model": "auto", "messages": HELLO}, headers={"x-cost-priority": "low_cost"})
        assert (low.status_code, low.headers["x-backend"], low.headers["x-model"]) == (200, "gpu", SMALL)
        own = gw.chat({"model": "auto", "messages": HELLO}, headers={"x-force-backend": "serverless"})
        assert own.headers["x-backend"] == "serverless"
    assert backends.gpu.app.request_count == 1 and backends.serverless.app.request_count == 1


def test_an_odd_200_without_usage_is_never_a_500(backends, tmp_path):
    backends.reset()
    with asgi_server(canned_upstream(b'{"id": "x", "choices": 5}')) as odd:  # JSON, but odd, and no usage
        with running_gateway(backends, tmp_path, SERVERLESS_BASE_URL=f"{odd}/v1") as gw:
            response = gw.chat({"model": SMALL, "messages": HELLO})
            assert response.status_code == 200
            assert response.headers["x-usage-estimated"] == "true"
            [row] = gw.rows()
            assert row[2] == "serverless" and row[7] == 1 and row[5] > 0


def test_a_model_the_gpu_host_does_not_serve_never_reaches_it(backends, tmp_path):
    """With a model map, only mapped models go to the GPU: the ratio split sends others serverless,
    and when serverless fails there is no GPU fallback that would answer 404 for an unloaded model."""
    backends.reset()
    only_small = f'{{"{SMALL}": "meta-llama/Llama-3.1-8B-Instruct"}}'
    with running_gateway(backends, tmp_path, GPU_MODEL_MAP=only_small, SERVERLESS_RATIO="0") as gw:
        medium = gw.chat({"model": MEDIUM, "messages": HARD})  # ratio 0 would pick the GPU
        assert (medium.status_code, medium.headers["x-backend"]) == (200, "serverless")
        urgent = gw.chat({"model": "auto", "messages": HARD}, headers={"x-cost-priority": "latency_critical"})
        assert (urgent.headers["x-backend"], urgent.headers["x-model"]) == ("gpu", SMALL)
        assert backends.gpu.last_request()["body"]["model"] == "meta-llama/Llama-3.1-8B-Instruct"
        backends.serverless.script = Script(fail_status=503, fail_count=-1)
        down = gw.chat({"model": MEDIUM, "messages": HELLO})
        assert down.status_code == 502
    assert backends.gpu.app.request_count == 1
