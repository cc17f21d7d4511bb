"""GET /v1/usage/records on the real gateway: pages in commit order, the contract, refusals."""

from __future__ import annotations

import threading
import time

import requests

from llm_shared.usage_records import FIELD_NAMES, parse_page
from standins import Script
from tests.gateway.conftest import ADMIN_TOKEN, CLIENT_TOKEN, HELLO, MEDIUM, SMALL

SECRET_PHRASE = "my-private-prompt-words-xyzzy"


def records(gw, query: str, token: str = ADMIN_TOKEN) -> requests.Response:
    return requests.get(f"{gw.v1}/usage/records?{query}", headers={"Authorization": f"Bearer {token}"},
                        timeout=10)


def test_pages_follow_commit_order_with_every_field_and_no_text(gw):
    for model in (SMALL, MEDIUM, SMALL):
        body = {"model": model, "messages": [{"role": "user", "content": SECRET_PHRASE}], "user": "ana",
                "cost_priority": "low_cost"}
        assert gw.chat(body, headers={"x-session-id": "s-1"}).status_code == 200
    first = records(gw, "after=0&limit=2")
    assert first.status_code == 200, first.text
    assert SECRET_PHRASE not in first.text
    page = parse_page(first.json(), after=0, limit=2)
    assert page.has_more and len(page.records) == 2
    rest = parse_page(records(gw, f"after={page.next_after}&limit=2").json(), after=page.next_after, limit=2)
    assert not rest.has_more and len(rest.records) == 1
    everything = [*page.records, *rest.records]
    assert [r["model"] for r in everything] == [SMALL, MEDIUM, SMALL]
    assert [r["request_id"] for r in everything] == [row[0] for row in gw.rows()]
    assert all(tuple(r) == FIELD_NAMES for r in everything)
    assert {(r["user_id"], r["session_id"], r["cost_priority"], r["status"]) for r in everything} == {
        ("ana", "s-1", "low_cost", "ok")}
    empty = parse_page(records(gw, f"after={rest.next_after}").json(), after=rest.next_after, limit=1000)
    assert empty.records == () and empty.next_after == rest.next_after and not empty.has_more


def test_a_slow_stream_that_started_first_is_not_skipped(gw, backends):
    backends.serverless.script = Script(chunk_delay_s=0.05, reply_tokens=8)
    result: dict[str, int] = {}

    def stream() -> None:
        response = gw.chat({"model": SMALL, "messages": HELLO, "stream": True},
                           headers={"x-force-backend": "serverless"}, stream=True)
        result["status"] = response.status_code
        for _ in response.iter_lines():
            pass

    slow = threading.Thread(target=stream)
    slow.start()
    deadline = time.monotonic() + 5
    while backends.serverless.app.request_count == 0 and time.monotonic() < deadline:
        time.sleep(0.005)  # the stream is admitted (and time-stamped) before the fast request
    assert gw.chat({"model": SMALL, "messages": HELLO}, headers={"x-force-backend": "gpu"}).status_code == 200
    gw.app.writer.flush()
    before = parse_page(records(gw, "after=0").json(), after=0, limit=1000)
    assert [r["backend"] for r in before.records] == ["gpu"]  # the stream is still running
    slow.join(10)
    assert result["status"] == 200
    after = parse_page(records(gw, f"after={before.next_after}").json(), after=before.next_after, limit=1000)
    (late,) = after.records
    assert late["backend"] == "serverless" and late["ts_ms"] <= before.records[0]["ts_ms"]


def test_bad_queries_and_tokens_are_refused_openai_style(gw):
    for query, param in (("after=-1", "after"), ("after=abc", "after"), ("limit=0", "limit"),
                         ("limit=10001", "limit"), ("cursor=3", "cursor")):
        response = records(gw, query)
        assert response.status_code == 400, query
        assert response.json()["error"]["param"] == param
    assert records(gw, "after=0", token=CLIENT_TOKEN).status_code == 403
    assert records(gw, "after=0", token="nope").status_code == 401
