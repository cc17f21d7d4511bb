"""The stream meter: forwards whole lines as they come, finds usage, counts text, hides unasked usage."""

from __future__ import annotations

import json

from gateway.sse import StreamMeter


def _event(payload) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


CONTENT = _event({"choices": [{"index": 0, "delta": {"content": "abcdefgh"}}], "usage": None})
USAGE = _event({"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}})
DONE = b"data: [DONE]\n\n"


def test_lines_split_across_reads_are_forwarded_once_complete():
    meter = StreamMeter(forward_usage_chunk=True)
    stream = CONTENT + USAGE + DONE
    out = b"".join(meter.feed(stream[i:i + 7]) for i in range(0, len(stream), 7)) + meter.finish()
    assert out == stream
    assert meter.usage == (11, 7) and meter.text_chars == 8 and meter.events == 2


def test_nothing_is_held_back_beyond_the_current_line():
    meter = StreamMeter(forward_usage_chunk=True)
    assert meter.feed(CONTENT + CONTENT[:10]) == CONTENT  # the complete event goes out at once
    assert meter.feed(CONTENT[10:]) == CONTENT


def test_usage_chunk_is_dropped_when_the_client_did_not_ask():
    meter = StreamMeter(forward_usage_chunk=False)
    out = meter.feed(CONTENT + USAGE + DONE) + meter.finish()
    assert b'"usage": {' not in out and CONTENT.strip() in out and DONE.strip() in out
    assert meter.usage == (11, 7)


def test_malformed_usage_and_non_json_lines_pass_through_unmetered():
    meter = StreamMeter(forward_usage_chunk=True)
    odd = (b": keep-alive comment\n\n" + b"data: {broken\n\n"
           + _event({"choices": [], "usage": {"prompt_tokens": -1, "completion_tokens": 2}}))
    assert meter.feed(odd) == odd
    assert meter.usage is None
    assert meter.estimated_completion_tokens() == 0
    meter.feed(CONTENT)
    assert meter.estimated_completion_tokens() == 2  # 8 characters ~ 2 tokens


def test_tool_call_arguments_count_as_streamed_output():
    meter = StreamMeter(forward_usage_chunk=True)
    call = {"index": 0, "function": {"name": "f", "arguments": '{"city": "Paris"}'}}
    meter.feed(_event({"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}))
    assert meter.text_chars == len('{"city": "Paris"}')
