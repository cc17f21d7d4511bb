"""Deeply nested bodies: a 400 naming the field for every field the gateway reads or forwards.

The JSON parser accepts 1,024 levels; everything after it (re-encoding for the upstream, the prompt
bound's rendering, the complexity estimate) must never see more than the gateway's own limit.
"""

from __future__ import annotations

import orjson
import pytest

from gateway.json_depth import MAX_JSON_DEPTH
from gateway.token_estimates import prompt_upper_bound
from llm_shared.complexity import estimate

from .conftest import HELLO, SMALL

MARK = b'"DEEP"'


def nested(levels: int) -> bytes:
    """JSON text of `levels` objects inside each other (built as text: no recursion here either)."""
    return b'{"a":' * levels + b"1" + b"}" * levels


def body_with(template: dict, levels: int) -> bytes:
    """The template as JSON with the string "DEEP" replaced by `levels` nested objects."""
    raw = orjson.dumps(template)
    assert raw.count(MARK) == 1
    return raw.replace(MARK, nested(levels))


ASSISTANT_CALL = {"role": "assistant", "content": None, "tool_calls": [
    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "DEEP"}}]}
TOOL_REPLY = {"role": "tool", "tool_call_id": "c1", "content": "ok"}

# (case id, body template with "DEEP" where the nesting goes, the param the 400 must name)
FIELDS = [
    ("metadata", {"model": SMALL, "messages": HELLO, "metadata": "DEEP"}, "metadata"),
    ("unknown-pass-through", {"model": SMALL, "messages": HELLO, "x_vendor": ["DEEP"]}, "x_vendor"),
    ("tools", {"model": SMALL, "messages": HELLO, "tools": [
        {"type": "function", "function": {"name": "f", "parameters": "DEEP"}}]}, "tools"),
    ("functions", {"model": SMALL, "messages": HELLO, "functions": [{"name": "f", "parameters": "DEEP"}]},
     "functions"),
    ("tool_choice", {"model": SMALL, "messages": HELLO, "tool_choice": "DEEP"}, "tool_choice"),
    ("response_format", {"model": SMALL, "messages": HELLO, "response_format": {
        "type": "json_schema", "json_schema": {"name": "s", "schema": "DEEP"}}}, "response_format"),
    ("logit_bias", {"model": SMALL, "messages": HELLO, "logit_bias": "DEEP"}, "logit_bias"),
    ("stop", {"model": SMALL, "messages": HELLO, "stop": ["DEEP"]}, "stop"),
    ("stream_options", {"model": SMALL, "messages": HELLO, "stream": True,
                        "stream_options": {"include_usage": True, "x": "DEEP"}}, "stream_options"),
    ("content-part-text", {"model": SMALL, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "DEEP"}]}]}, "messages[0].content[0].text"),
    ("content-part-other", {"model": SMALL, "messages": [
        {"role": "user", "content": [{"type": "image_url", "image_url": "DEEP"}]}]},
     "messages[0].content[0].image_url"),
    ("tool_calls", {"model": SMALL, "messages": [*HELLO, ASSISTANT_CALL, TOOL_REPLY]},
     "messages[1].tool_calls"),
    ("function_call", {"model": SMALL, "messages": [
        *HELLO, {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "DEEP"}},
        {"role": "function", "name": "f", "content": "ok"}]}, "messages[1].function_call"),
    ("message-extra", {"model": SMALL, "messages": [{"role": "user", "content": "hi", "x": "DEEP"}]},
     "messages[0].x"),
]


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 300, 990])
@pytest.mark.parametrize(("template", "param"), [case[1:] for case in FIELDS], ids=[c[0] for c in FIELDS])
def test_an_over_deep_field_is_a_400_naming_it(shared_gw, backends, template, param, levels):
    gw = shared_gw
    before = backends.serverless.app.request_count + backends.gpu.app.request_count
    response = gw.chat(body_with(template, levels))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "nesting_too_deep"
    assert error["param"] == param
    assert f"{MAX_JSON_DEPTH} levels" in error["message"]
    assert backends.serverless.app.request_count + backends.gpu.app.request_count == before
    assert gw.rows() == []


# A text part's text must be a string whatever its depth; every other place takes any JSON value.
SERVABLE = [case for case in FIELDS if case[0] != "content-part-text"]


@pytest.mark.parametrize("template", [case[1] for case in SERVABLE], ids=[c[0] for c in SERVABLE])
def test_nesting_up_to_the_limit_is_served(shared_gw, backends, template):
    # The whole body may be MAX_JSON_DEPTH deep: the DEEP value gets what its place leaves.
    gw = shared_gw
    raw = body_with(template, 1)
    depth_of_mark = _depth_at_mark(raw)
    response = gw.chat(body_with(template, MAX_JSON_DEPTH - depth_of_mark))
    assert response.status_code == 200, response.text
    backends.reset()


def _depth_at_mark(raw: bytes) -> int:
    """How many containers enclose the nested value placed at the mark (string-unaware is enough here)."""
    prefix = raw[: raw.index(b'{"a":1}')]
    return prefix.count(b"{") + prefix.count(b"[") - prefix.count(b"}") - prefix.count(b"]")


def test_a_body_over_the_parsers_own_limit_is_a_400_too(shared_gw):
    response = shared_gw.chat(body_with({"model": SMALL, "messages": HELLO, "metadata": "DEEP"}, 5000))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_the_estimates_never_recurse_on_deep_values():
    deep: dict = {}
    node = deep
    for _ in range(5000):  # deeper than the interpreter's recursion limit
        node["a"] = {}
        node = node["a"]
    messages = [{"role": "user", "content": [{"type": "text", "text": deep}]},
                {"role": "assistant", "content": None, "tool_calls": [deep]}]
    with pytest.raises(ValueError, match="nested deeper"):
        prompt_upper_bound(messages)
    with pytest.raises(ValueError, match="nested deeper"):
        prompt_upper_bound(HELLO, tools=[deep])
    assert estimate(messages).level == "low"  # a part whose text is not a string adds no text


@pytest.fixture(scope="module")
def shared_gw(backends, tmp_path_factory):
    from .conftest import running_gateway

    backends.reset()
    with running_gateway(backends, tmp_path_factory.mktemp("nesting")) as gateway:
        yield gateway
