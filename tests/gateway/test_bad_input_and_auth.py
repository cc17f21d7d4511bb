"""Every bad-input case is a precise 4xx (never a 500, never a ledger row); auth is bearer, 401/403."""

from __future__ import annotations

import logging

import pytest
import requests

from standins import Script

from .conftest import (
    ADMIN_TOKEN,
    CLIENT_TOKEN,
    HELLO,
    OTHER_CLIENT_TOKEN,
    SECRETS,
    SMALL,
    running_gateway,
)

GOOD = {"model": SMALL, "messages": HELLO}


@pytest.fixture(scope="module")
def shared_gw(backends, tmp_path_factory):
    """One gateway for the cases that must leave no trace (no rows, no upstream calls) anyway."""
    backends.reset()
    with running_gateway(backends, tmp_path_factory.mktemp("bad-input")) as gateway:
        yield gateway

BAD_BODIES = [
    (b"{not json", 400, None, "not valid JSON"),
    (b"[1, 2]", 400, None, "JSON object"),
    (b'"text"', 400, None, "JSON object"),
    ({"messages": HELLO}, 400, "model", "model is required"),
    ({"model": 7, "messages": HELLO}, 400, "model", "non-empty string"),
    ({"model": "gpt-17", "messages": HELLO}, 404, "model", "unknown model 'gpt-17'"),
    ({"model": SMALL}, 400, "messages", "messages is required"),
    ({"model": SMALL, "messages": []}, 400, "messages", "non-empty list"),
    ({"model": SMALL, "messages": "hi"}, 400, "messages", "non-empty list"),
    ({"model": SMALL, "messages": ["hi"]}, 400, "messages[0]", "must be an object"),
    ({"model": SMALL, "messages": [{"role": "wizard", "content": "x"}]}, 400, "messages[0].role", "wizard"),
    ({"model": SMALL, "messages": [{"role": "user", "content": 5}]}, 400, "messages[0].content", "int"),
    ({"model": SMALL, "messages": [{"role": "user", "content": [5]}]}, 400, "messages[0].content", "type"),
    ({"model": SMALL, "messages": [{"role": "user"}]}, 400, "messages[0].content", "NoneType"),
    ({"model": SMALL, "messages": [{"role": "user", "content": [{"type": "text", "text": {"t": "x"}}]}]},
     400, "messages[0].content[0].text", "must be a string"),
    ({**GOOD, "max_tokens": 0}, 400, "max_tokens", ">= 1"),
    ({**GOOD, "max_tokens": -5}, 400, "max_tokens", ">= 1"),
    ({**GOOD, "max_tokens": "100"}, 400, "max_tokens", "integer"),
    ({**GOOD, "max_tokens": True}, 400, "max_tokens", "integer"),
    ({**GOOD, "max_tokens": 1.5}, 400, "max_tokens", "integer"),
    ({**GOOD, "max_tokens": 8193}, 400, "max_tokens", "context window"),
    ({**GOOD, "max_completion_tokens": 10**6}, 400, "max_completion_tokens", "context window"),
    ({"model": "auto", "messages": HELLO, "max_tokens": 9000}, 400, "max_tokens", "context window"),
    ({**GOOD, "n": 0}, 400, "n", "between 1 and 16"),
    ({**GOOD, "stream": "yes"}, 400, "stream", "true or false"),
    ({**GOOD, "stream_options": []}, 400, "stream_options", "object"),
    ({**GOOD, "stream_options": {"include_usage": 1}}, 400, "stream_options.include_usage", "true or false"),
    ({**GOOD, "cost_priority": "cheapest"}, 400, "cost_priority", "low_cost"),
    ({**GOOD, "user": 12}, 400, "user", "string"),
    ({**GOOD, "user": "u" * 257}, 400, "user", "at most 256"),
]


@pytest.mark.parametrize(("body", "status", "param", "fragment"), BAD_BODIES,
                         ids=[f"{i}-{case[2]}" for i, case in enumerate(BAD_BODIES)])
def test_bad_bodies_are_precise_4xx_without_upstream_calls_or_rows(shared_gw, backends, body, status, param,
                                                                   fragment):
    gw = shared_gw
    before = backends.serverless.app.request_count + backends.gpu.app.request_count
    response = gw.chat(body)
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert fragment in error["message"]
    assert backends.serverless.app.request_count + backends.gpu.app.request_count == before
    assert gw.rows() == []  # this gateway never served a request: no row, ever


@pytest.mark.parametrize(("header", "value", "param", "fragment"), [
    ("x-cost-priority", "free", "cost_priority", "free"),
    ("x-force-backend", "tpu", "x-force-backend", "tpu"),
])
def test_bad_routing_headers_are_400(shared_gw, backends, header, value, param, fragment):
    gw = shared_gw
    response = gw.chat(GOOD, headers={header: value})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param and fragment in response.json()["error"]["message"]
    assert gw.rows() == []


def test_body_over_the_limit_is_413_whether_declared_or_streamed(backends, tmp_path):
    backends.reset()
    with running_gateway(backends, tmp_path, MAX_BODY_BYTES="2048") as gw:
        big = {"model": SMALL, "messages": [{"role": "user", "content": "x" * 5000}]}
        declared = gw.chat(big)
        assert declared.status_code == 413
        assert declared.json()["error"]["code"] == "body_too_large"
        assert "MAX_BODY_BYTES" in declared.json()["error"]["message"]

        def chunks():
            yield b'{"model": "' + SMALL.encode() + b'", "messages": [{"role": "user", "content": "'
            for _ in range(10):
                yield b"y" * 500
            yield b'"}]}'

        chunked = requests.post(f"{gw.v1}/chat/completions", data=chunks(), timeout=30,
                                headers={"Authorization": f"Bearer {CLIENT_TOKEN}",
                                         "Content-Type": "application/json"})
        assert chunked.status_code == 413
        assert gw.chat({"model": SMALL, "messages": HELLO}).status_code == 200  # still serving
        assert backends.serverless.app.request_count == 1


@pytest.mark.parametrize(("authorization", "code"), [
    (None, "missing_api_key"),
    ("Basic dXNlcjpwYXNz", "missing_api_key"),
    ("Bearer wrong-token-0000000000", "invalid_api_key"),
    ("Bearer " + CLIENT_TOKEN[:-1], "invalid_api_key"),
    ("Bearer ", "invalid_api_key"),
])
def test_chat_without_a_valid_token_is_401(shared_gw, backends, authorization, code):
    gw = shared_gw
    headers = {} if authorization is None else {"Authorization": authorization}
    before = backends.serverless.app.request_count + backends.gpu.app.request_count
    response = requests.post(f"{gw.v1}/chat/completions", json=GOOD, headers=headers, timeout=30)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert backends.serverless.app.request_count + backends.gpu.app.request_count == before


def test_every_client_token_works_and_the_scheme_is_case_insensitive(gw):
    assert gw.chat(GOOD, token=OTHER_CLIENT_TOKEN).status_code == 200
    response = requests.post(f"{gw.v1}/chat/completions", json=GOOD, timeout=30,
                             headers={"Authorization": f"bearer {CLIENT_TOKEN}"})
    assert response.status_code == 200


def test_usage_needs_the_admin_token(gw):
    assert gw.summary(token=CLIENT_TOKEN).status_code == 403
    assert gw.summary(token=CLIENT_TOKEN).json()["error"]["code"] == "admin_token_required"
    assert gw.summary(token="not-a-token-at-all-000").status_code == 401
    assert requests.get(f"{gw.v1}/usage/summary", timeout=30).status_code == 401
    assert gw.summary(token=ADMIN_TOKEN).status_code == 200


def test_models_needs_a_token_and_lists_auto_and_the_catalog(gw):
    assert requests.get(f"{gw.v1}/models", timeout=30).status_code == 401
    response = requests.get(f"{gw.v1}/models", headers={"Authorization": f"Bearer {CLIENT_TOKEN}"},
                            timeout=30)
    ids = [m["id"] for m in response.json()["data"]]
    assert ids[0] == "auto" and SMALL in ids and len(ids) == 4


def test_unknown_paths_and_methods(gw):
    assert requests.get(f"{gw.url}/v2/things", timeout=30).status_code == 404
    wrong = requests.get(f"{gw.v1}/chat/completions", timeout=30)
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_secrets_never_reach_logs_or_error_bodies(backends, tmp_path, caplog):
    backends.reset()
    caplog.set_level(logging.DEBUG)
    backends.serverless.script = Script(fail_status=500, fail_count=-1)
    backends.gpu.script = Script(fail_status=500, fail_count=-1)
    with running_gateway(backends, tmp_path) as gw:
        bodies = [gw.chat(GOOD).text, gw.chat(GOOD, token="Bearer-guess-000000000000").text,
                  gw.summary(token=CLIENT_TOKEN).text, gw.metrics().text]
        text = "\n".join(bodies) + caplog.text + repr(gw.app.config)
    for secret in SECRETS:
        assert secret not in text
    assert "both backends failed" in bodies[0]


def test_an_internal_error_is_an_openai_style_500_and_the_gateway_keeps_serving(gw, monkeypatch, caplog):
    def broken(_worst, _key=None):
        raise RuntimeError("bug with a detail the client must not see")

    monkeypatch.setattr(gw.app.guard, "reserve", broken)
    response = gw.chat(GOOD)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error" and "detail" not in error["message"]
    assert "bug with a detail" in caplog.text  # the operator sees it in the log
    monkeypatch.undo()
    assert gw.chat(GOOD).status_code == 200


def test_randomly_mangled_bodies_never_cause_a_500_or_a_garbage_row(shared_gw, backends):
    """A seeded fuzz: replace or drop fields of a valid body with values of every JSON type."""
    import random

    gw = shared_gw
    rng = random.Random(20261125)
    values = [None, True, 0, -1, 2**70, 1.5, "", "x", "auto", [], [1], {}, {"role": "user"},
              [{"role": "user", "content": [{"type": "text"}]}], [{"role": "tool", "content": None}]]
    keys = ["model", "messages", "max_tokens", "max_completion_tokens", "n", "stream", "stream_options",
            "cost_priority", "user", "temperature"]
    ok_before = len(gw.rows())
    served = 0
    for _ in range(150):
        body = {"model": SMALL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
        for key in rng.sample(keys, rng.randint(1, 3)):
            if rng.random() < 0.2:
                body.pop(key, None)
            else:
                body[key] = rng.choice(values)
        response = gw.chat(body)
        assert response.status_code < 500, (body, response.text)
        if response.status_code == 200:
            served += 1
        else:
            assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    rows = gw.rows()
    assert len(rows) - ok_before == served
    assert all(r[3] >= 0 and r[4] >= 0 and r[5] >= 0 and r[6] == "ok" for r in rows)
