"""Streaming: chunks pass through as they arrive, usage is recorded on every path, never zero cost."""

from __future__ import annotations

import contextlib
import json
import time

import requests

from gateway.ledger import Ledger
from llm_shared.pricing import cost_for
from llm_shared.usage_schema import usd_string
from standins import Script, prompt_tokens
from standins.serving import asgi_server

from .conftest import CLIENT_TOKEN, HELLO, SMALL, canned_upstream, running_gateway


def _open_stream(gw, body):
    return requests.post(f"{gw.v1}/chat/completions", json={**body, "stream": True}, stream=True, timeout=30,
                         headers={"Authorization": f"Bearer {CLIENT_TOKEN}"})


def _events(response) -> list[dict | str]:
    out: list[dict | str] = []
    for line in response.iter_lines():
        if line.startswith(b"data: "):
            payload = line[6:].decode()
            out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


def _wait_rows(gw, count: int = 1, timeout: float = 5.0) -> list[tuple]:
    deadline = time.monotonic() + timeout
    while True:
        rows = gw.rows()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_first_chunk_reaches_the_client_before_the_upstream_finishes(gw, backends):
    backends.serverless.script = Script(chunk_delay_s=0.15, reply_tokens=6)
    started = time.monotonic()
    with _open_stream(gw, {"model": SMALL, "messages": HELLO}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        first = next(line for line in lines if line.startswith(b"data: "))
        first_at = time.monotonic() - started
        assert backends.serverless.app.completed_streams == 0  # upstream still producing
        assert json.loads(first[6:])["choices"][0]["delta"]["role"] == "assistant"
        rest = [line for line in lines if line.startswith(b"data: ")]
        total = time.monotonic() - started
    assert rest[-1] == b"data: [DONE]"
    assert first_at < 0.5 < total  # 7 gaps of 150 ms upstream; the first chunk did not wait for them


def test_usage_is_asked_upstream_and_recorded_exactly_but_not_forced_on_the_client(gw, backends):
    with _open_stream(gw, {"model": SMALL, "messages": HELLO}) as response:
        events = _events(response)
    assert backends.serverless.last_request()["body"]["stream_options"] == {"include_usage": True}
    assert not any(isinstance(e, dict) and e.get("usage") for e in events)  # client did not ask
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events
                   if isinstance(e, dict) and e["choices"])
    assert text == " ".join(f"w{i}" for i in range(8))
    [row] = _wait_rows(gw)
    prompt = prompt_tokens(HELLO)
    assert row[3:8] == (prompt, 8, cost_for(SMALL, prompt, 8), "ok", 0)


def test_client_asking_for_usage_gets_the_usage_chunk(gw, backends):
    body = {"model": SMALL, "messages": HELLO, "stream_options": {"include_usage": True}}
    with _open_stream(gw, body) as response:
        events = _events(response)
    usage = [e["usage"] for e in events if isinstance(e, dict) and e.get("usage")]
    assert usage == [{"prompt_tokens": prompt_tokens(HELLO), "completion_tokens": 8,
                      "total_tokens": prompt_tokens(HELLO) + 8}]


def test_missing_stream_usage_is_estimated_marked_and_never_zero(gw, backends):
    backends.serverless.script = Script(omit_usage=True, reply_tokens=20)
    with _open_stream(gw, {"model": SMALL, "messages": HELLO}) as response:
        assert _events(response)[-1] == "[DONE]"
    [row] = _wait_rows(gw)
    assert row[6] == "ok" and row[7] == 1
    assert row[3] > 0 and row[4] > 0 and row[5] > 0


def test_client_disconnect_mid_stream_records_partial_usage_at_once(gw, backends):
    backends.serverless.script = Script(chunk_delay_s=0.1, reply_tokens=40)  # a 4 s stream
    with _open_stream(gw, {"model": SMALL, "messages": HELLO}) as response:
        lines = response.iter_lines()
        received = [next(lines) for _ in range(6)]  # a few events, then hang up
        assert any(line.startswith(b"data: ") for line in received)
    hung_up = time.monotonic()
    rows = _wait_rows(gw, timeout=3.0)
    assert time.monotonic() - hung_up < 1.5  # noticed the hang-up, did not wait for the upstream's end
    assert len(rows) == 1
    row = rows[0]
    assert row[6] == "partial" and row[7] == 1
    assert row[3] > 0 and row[4] >= 1 and row[5] > 0
    deadline = time.monotonic() + 2
    while backends.serverless.app.abandoned_streams == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert backends.serverless.app.abandoned_streams == 1  # the gateway hung up on the upstream too
    assert backends.serverless.app.completed_streams == 0


def test_upstream_breaking_off_mid_stream_records_partial_usage(gw, backends):
    backends.serverless.script = Script(drop_after_chunks=3, reply_tokens=10)
    with _open_stream(gw, {"model": SMALL, "messages": HELLO}) as response:
        events = []
        with contextlib.suppress(requests.exceptions.ChunkedEncodingError):
            events = _events(response)
    assert "[DONE]" not in events
    [row] = _wait_rows(gw)
    assert row[6] == "partial" and row[7] == 1 and row[5] > 0


def test_stream_falls_back_before_the_first_byte(gw, backends):
    backends.serverless.script = Script(fail_status=503, fail_count=1)
    with _open_stream(gw, {"model": SMALL, "messages": HELLO}) as response:
        assert response.headers["x-backend"] == "gpu"
        assert _events(response)[-1] == "[DONE]"
    [row] = _wait_rows(gw)
    assert row[2] == "gpu" and row[6] == "ok" and row[7] == 0


def test_stream_4xx_is_passed_through_and_both_failing_is_502(gw, backends):
    backends.serverless.script = Script(fail_status=422, fail_count=1)
    with _open_stream(gw, {"model": SMALL, "messages": HELLO}) as response:
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "scripted"
    assert backends.gpu.app.request_count == 0
    backends.serverless.script = Script(fail_status=503, fail_count=-1)
    backends.gpu.script = Script(fail_status=500, fail_count=-1)
    with _open_stream(gw, {"model": SMALL, "messages": HELLO}) as response:
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "upstream_error"
    rows = _wait_rows(gw, 2)
    assert [(r[6], r[5]) for r in rows] == [("error", 0), ("error", 0)]


def test_user_and_session_are_recorded(gw):
    with _open_stream(gw, {"model": SMALL, "messages": HELLO, "user": "carol"}) as response:
        _events(response)
    gw.chat({"model": SMALL, "messages": HELLO, "user": "dave"}, headers={"x-session-id": "s-42"})
    rows = _wait_rows(gw, 2)
    assert sorted(r[9] for r in rows) == ["carol", "dave"]
    ledger = Ledger(gw.ledger_path)
    try:
        sessions = ledger._conn().execute("SELECT user_id, session_id FROM usage ORDER BY user_id").fetchall()
    finally:
        ledger.close()
    assert sessions == [("carol", None), ("dave", "s-42")]


def test_a_stream_cut_by_shutdown_is_still_recorded(backends, tmp_path):
    backends.reset()
    backends.serverless.script = Script(chunk_delay_s=0.1, reply_tokens=100)  # a 10 s stream
    with running_gateway(backends, tmp_path, graceful_s=0.3) as gw:
        response = _open_stream(gw, {"model": SMALL, "messages": HELLO})
        lines = response.iter_lines()
        assert next(lines).startswith(b"data: ")
    # the server stopped: in-flight work cancelled after 0.3 s, then the ledger queue written
    response.close()
    ledger = Ledger(gw.ledger_path)
    try:
        rows = ledger._conn().execute("SELECT status, estimated, cost_pico FROM usage").fetchall()
    finally:
        ledger.close()
    assert len(rows) == 1
    status, estimated, cost = rows[0]
    assert status == "partial" and estimated == 1 and cost > 0


def test_a_finished_stream_ends_with_its_cost_as_an_sse_comment(gw, backends):
    with _open_stream(gw, {"model": SMALL, "messages": HELLO}) as response:
        lines = [line for line in response.iter_lines() if line]
    assert lines[-2] == b"data: [DONE]"
    prompt = prompt_tokens(HELLO)
    assert lines[-1] == b": x-cost-usd=" + usd_string(cost_for(SMALL, prompt, 8)).encode()


def test_an_upstream_stalling_mid_stream_times_out_into_a_partial_row(backends, tmp_path):
    backends.reset()
    backends.serverless.script = Script(chunk_delay_s=1.0, reply_tokens=5)  # first chunk, then silence
    with running_gateway(backends, tmp_path, UPSTREAM_TIMEOUT_SECONDS="0.3") as gw:
        started = time.monotonic()
        with _open_stream(gw, {"model": SMALL, "messages": HELLO}) as response:
            assert response.status_code == 200
            events = []
            with contextlib.suppress(requests.exceptions.ChunkedEncodingError):
                events = _events(response)
        assert time.monotonic() - started < 0.9  # ended by the gateway's timeout, not the upstream
        assert events and "[DONE]" not in events
        [row] = _wait_rows(gw)
        assert row[6] == "partial" and row[7] == 1 and row[5] > 0


def _unterminated_stream() -> bytes:
    """A backend's stream that ends right after 'data: [DONE]', without the closing blank line."""
    chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "hi"}}]}
    usage = {"object": "chat.completion.chunk", "choices": [],
             "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in (chunk, usage)) + b"data: [DONE]"


def test_an_unterminated_last_event_is_not_glued_to_the_cost_comment(backends, tmp_path):
    backends.reset()
    with asgi_server(canned_upstream(_unterminated_stream(), b"text/event-stream")) as upstream, \
            running_gateway(backends, tmp_path, SERVERLESS_BASE_URL=f"{upstream}/v1") as gw:
        with _open_stream(gw, {"model": SMALL, "messages": HELLO}) as response:
            lines = [line for line in response.iter_lines() if line]
        assert lines[-2:] == [b"data: [DONE]", b": x-cost-usd=" + usd_string(cost_for(SMALL, 5, 1)).encode()]


def test_an_upstream_line_over_the_bound_ends_the_stream_as_partial(backends, tmp_path):
    """A backend that streams megabytes without a line break is broken or hostile: the gateway stops
    buffering at MAX_SSE_LINE_BYTES, closes the upstream and records a partial row."""
    from gateway.sse import MAX_SSE_LINE_BYTES

    chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "hi"}}]}
    endless = b"data: " + json.dumps(chunk).encode() + b"\n\n" + b"data: " + b"x" * (MAX_SSE_LINE_BYTES * 3)
    backends.reset()
    with asgi_server(canned_upstream(endless, b"text/event-stream")) as upstream, \
            running_gateway(backends, tmp_path, SERVERLESS_BASE_URL=f"{upstream}/v1") as gw:
        received = b""
        with _open_stream(gw, {"model": SMALL, "messages": HELLO}) as response, \
                contextlib.suppress(requests.exceptions.ChunkedEncodingError):
            for data in response.iter_content(65536):
                received += data
        assert b'"content": "hi"' in received  # what came before the endless line is relayed
        assert b"x" * 1024 not in received and len(received) < MAX_SSE_LINE_BYTES
        [row] = _wait_rows(gw)
        assert row[6] == "partial" and row[7] == 1 and row[5] > 0
