"""The exporter against moto S3 and the real gateway with its ledger."""

from __future__ import annotations

import csv
import gzip
import io

import orjson
import pytest

from cost_tracker.usage import UsageReadError
from cost_tracker.usage_export import CSV_COLUMNS, export_once, object_key
from llm_shared.errors import ConfigError
from llm_shared.usage_records import SCHEMA_VERSION
from standins import asgi_server
from tests.gateway.conftest import ADMIN_TOKEN, HELLO, MEDIUM, SMALL, canned_upstream

from .conftest import BUCKET, PREFIX, export_deps, export_settings, objects, record


def chat(gw, n: int, model: str = SMALL) -> None:
    for _ in range(n):
        assert gw.chat({"model": model, "messages": HELLO, "user": "u-1"}).status_code == 200
    assert gw.app.writer.flush()


def exported_rows(aws) -> list[dict[str, str]]:
    rows = []
    for key, body in sorted(objects(aws).items()):
        reader = csv.DictReader(io.StringIO(gzip.decompress(body).decode()))
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS, key
        rows += list(reader)
    return rows


def test_pages_become_objects_named_by_cursor_range_and_a_rerun_writes_nothing(aws, gw):
    chat(gw, 5)
    chat(gw, 2, MEDIUM)
    settings, deps = export_settings(aws, gw.url, page_size=3), export_deps(aws)
    report = export_once(settings, deps)
    assert report["records"] == 7 and report["complete"] and report["from_cursor"] == 0
    assert sorted(objects(aws)) == [object_key(PREFIX, a, b) for a, b in ((1, 3), (4, 6), (7, 7))]
    rows = exported_rows(aws)
    ledger = gw.rows()
    assert [r["request_id"] for r in rows] == [row[0] for row in ledger]
    assert [int(r["cost_pico"]) for r in rows] == [row[5] for row in ledger]
    assert {r["stack"] for r in rows} == {"staging"} and {r["user_id"] for r in rows} == {"u-1"}
    assert {r["session_id"] for r in rows} == {""}  # NULL in the table
    assert {r["key_name"] for r in rows} == {"default"}  # the unnamed GATEWAY_CLIENT_TOKENS

    before = objects(aws)
    again = export_once(settings, deps)
    assert again["records"] == 0 and again["objects"] == [] and objects(aws) == before


def test_rows_written_after_a_run_are_exported_by_the_next_one_only(aws, gw):
    settings, deps = export_settings(aws, gw.url, page_size=10), export_deps(aws)
    chat(gw, 2)
    export_once(settings, deps)
    chat(gw, 3)
    report = export_once(settings, deps)
    assert report["from_cursor"] == 2 and report["objects"] == [object_key(PREFIX, 3, 5)]
    ids = [r["request_id"] for r in exported_rows(aws)]
    assert len(ids) == len(set(ids)) == 5


class FailingPut:
    """S3 whose n-th PutObject fails (a throttle, a network cut): the run must stop there."""

    def __init__(self, s3, fail_on: int) -> None:
        self.s3, self.fail_on, self.calls = s3, fail_on, 0

    def put_object(self, **kwargs):
        self.calls += 1
        if self.calls == self.fail_on:
            raise ConnectionError("S3 went away")
        return self.s3.put_object(**kwargs)

    def __getattr__(self, name):
        return getattr(self.s3, name)


def test_a_failed_run_resumes_after_the_last_object_it_wrote(aws, gw):
    chat(gw, 7)
    settings, deps = export_settings(aws, gw.url, page_size=3), export_deps(aws)
    deps.s3 = FailingPut(aws.s3, fail_on=2)
    with pytest.raises(ConnectionError):
        export_once(settings, deps)
    assert sorted(objects(aws)) == [object_key(PREFIX, 1, 3)]
    deps.s3 = aws.s3
    report = export_once(settings, deps)
    assert report["from_cursor"] == 3 and report["records"] == 4
    ids = [r["request_id"] for r in exported_rows(aws)]
    assert ids == [row[0] for row in gw.rows()]


def test_the_time_budget_stops_between_pages_and_the_next_run_continues(aws, gw):
    chat(gw, 4)
    settings, deps = export_settings(aws, gw.url, page_size=2), export_deps(aws)
    budget = iter([60_000, 1_000])
    report = export_once(settings, deps, remaining_ms=lambda: next(budget))
    assert report["records"] == 2 and not report["complete"]
    assert export_once(settings, deps)["records"] == 2


def _page(records: list[dict], *, after: int = 0, limit: int = 3, has_more: bool = False) -> bytes:
    return orjson.dumps({"schema_version": SCHEMA_VERSION, "after": after, "limit": limit,
                         "has_more": has_more,
                         "next_after": records[-1]["cursor"] if records else after, "records": records})


_record = record
_NO_COST = {k: v for k, v in record(1).items() if k != "cost_pico"}


BAD_PAGES = {
    "truncated JSON": (_page([_record(1)])[:-7], "not JSON"),
    "a partial page that says more follow": (_page([_record(1)], has_more=True), "truncated page"),
    "cursors out of commit order": (_page([_record(2), _record(1)]), "commit order"),
    "a missing field": (_page([_NO_COST]), "exactly the fields"),
    "a negative cost": (_page([_record(1, cost_pico=-5)]), "cost_pico"),
    "a float token count": (_page([_record(1, prompt_tokens=1.5)]), "prompt_tokens"),
    "more rows than asked": (_page([_record(i) for i in range(1, 5)]), "at most 3"),
    "a page for another cursor": (_page([_record(9)], after=5), "asked for 0"),
    "an error body with 200": (b'{"error": {"message": "x"}}', "missing"),
}


@pytest.mark.parametrize("case", sorted(BAD_PAGES))
def test_a_bad_page_raises_and_writes_nothing(aws, case):
    body, message = BAD_PAGES[case]
    with asgi_server(canned_upstream(body)) as url:
        with pytest.raises(UsageReadError, match=message) as failure:
            export_once(export_settings(aws, url), export_deps(aws))
    assert objects(aws) == {}
    assert ADMIN_TOKEN not in str(failure.value)


def test_an_unreachable_gateway_raises_naming_it_and_writes_nothing(aws):
    with asgi_server(canned_upstream(b"{}")) as url:
        pass  # the port is closed again
    with pytest.raises(UsageReadError, match="unreachable"):
        export_once(export_settings(aws, url), export_deps(aws))
    assert objects(aws) == {}


def test_bad_settings_name_every_variable(aws):
    from cost_tracker.usage_export import load_export_settings

    with pytest.raises(ConfigError) as failure:
        load_export_settings({"GATEWAY_URL": "http://gateway.example.com", "EXPORT_PREFIX": "no-slash",
                              "EXPORT_PAGE_SIZE": "0"})
    text = str(failure.value)
    for name in ("STACK_NAME", "GATEWAY_TOKEN_SECRET_ARN", "EXPORT_BUCKET", "plain http", "EXPORT_PREFIX",
                 "EXPORT_PAGE_SIZE"):
        assert name in text


def test_the_handler_logs_structured_fields_and_no_token(aws, gw, monkeypatch, caplog):
    """Lambda's JSON log format: `event` and `report` are fields of the line (was a JSON string)."""
    import logging

    from cost_tracker import env_names as env
    from cost_tracker import export_handler
    from tests.cost_tracker.conftest import log_fields, logged

    chat(gw, 2)
    for name, value in {env.STACK_NAME: "staging", env.GATEWAY_URL: gw.url,
                        env.GATEWAY_TOKEN_SECRET_ARN: aws.token_arn, env.EXPORT_BUCKET: BUCKET,
                        env.EXPORT_PREFIX: PREFIX}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(export_handler, "_DEPS", export_deps(aws))
    with caplog.at_level(logging.INFO, logger="usage_export"):
        report = export_handler.handler({}, None)
        monkeypatch.setenv(env.GATEWAY_URL, "http://127.0.0.1:9")  # nothing listens there
        with pytest.raises(UsageReadError):
            export_handler.handler({}, None)
    run, failed = (log_fields(r) for r in caplog.records if r.name == "usage_export")
    assert report["records"] == 2
    assert (run["message"], run["event"], run["report"]["records"]) == ("usage export", "usage_export.run", 2)
    assert (failed["level"], failed["event"], failed["error"]) == ("ERROR", "usage_export.failed",
                                                                   "UsageReadError")
    assert ADMIN_TOKEN not in logged(caplog)
