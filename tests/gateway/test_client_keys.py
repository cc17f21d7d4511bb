"""Named client keys: GATEWAY_CLIENT_KEYS validation, the key a token authenticates as, and the key
name on every ledger row (and in a ledger from before the column)."""

from __future__ import annotations

import io
import json
import logging
import sqlite3

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway import env_names
from gateway.auth import Authenticator
from gateway.client_keys import ClientKey
from gateway.config import GatewayConfig
from gateway.json_logs import JsonFormatter
from gateway.ledger import Ledger, UsageRecord
from gateway.openai_errors import GatewayError
from llm_shared.errors import ConfigError
from llm_shared.money import pico_to_float, usd_to_pico
from llm_shared.usage_schema import parse_summary

from .conftest import (
    ADMIN_TOKEN,
    CLIENT_TOKEN,
    HELLO,
    OTHER_CLIENT_TOKEN,
    SERVERLESS_KEY,
    SMALL,
    running_gateway,
)

TEAM_A = "team-a-token-000000000001"
TEAM_B = "team-b-token-000000000002"
BASE = {
    env_names.ADMIN_TOKEN: ADMIN_TOKEN,
    env_names.SERVERLESS_BASE_URL: "https://api.example.test/v1/",
    env_names.SERVERLESS_API_KEY: SERVERLESS_KEY,
    env_names.GPU_BASE_URL: "http://127.0.0.1:8000/v1",
}
TWO_KEYS = json.dumps([{"name": "team-a", "token": TEAM_A, "daily_budget_usd": "5", "monthly_budget_usd": 50},
                       {"name": "batch.jobs_2", "token": TEAM_B}])


def _config(**env: str) -> GatewayConfig:
    return GatewayConfig.from_env({**BASE, **env})


def test_named_keys_with_budgets_and_the_unnamed_tokens_as_default():
    config = _config(GATEWAY_CLIENT_KEYS=TWO_KEYS, GATEWAY_CLIENT_TOKENS=CLIENT_TOKEN)
    assert config.client_keys == (
        ClientKey("team-a", TEAM_A, usd_to_pico("5"), usd_to_pico("50")),
        ClientKey("batch.jobs_2", TEAM_B, None, None),
        ClientKey("default", CLIENT_TOKEN, None, None),
    )
    assert TEAM_A not in repr(config) and TEAM_A in config.secrets() and CLIENT_TOKEN in config.secrets()
    only_named = GatewayConfig.from_env({**BASE, env_names.CLIENT_KEYS: TWO_KEYS})
    assert [key.name for key in only_named.client_keys] == ["team-a", "batch.jobs_2"]


def test_a_named_key_token_in_a_log_line_is_redacted():
    config = _config(GATEWAY_CLIENT_KEYS=TWO_KEYS)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(config.secrets()))
    log = logging.getLogger("gateway.test-key-redaction")
    log.addHandler(handler)
    try:
        log.warning("client sent %s", TEAM_B, extra={"detail": f"Bearer {TEAM_A}"})
    finally:
        log.removeHandler(handler)
    assert TEAM_A not in out.getvalue() and TEAM_B not in out.getvalue() and "***" in out.getvalue()


def test_json_numbers_are_exact_budgets():
    keys = json.dumps([{"name": "a", "token": TEAM_A, "daily_budget_usd": 0.1, "monthly_budget_usd": 3}])
    assert _config(GATEWAY_CLIENT_KEYS=keys).client_keys[0].daily_budget_pico == 100_000_000_000


def _keys(*entries: object) -> str:
    return json.dumps(list(entries))


@pytest.mark.parametrize(("keys", "tokens", "fragment"), [
    ("", "", "GATEWAY_CLIENT_KEYS or GATEWAY_CLIENT_TOKENS is required"),
    ('[{"name": "a", "token": "' + TEAM_A, "", "invalid JSON"),
    ('{"a": "x"}', "", "expected a JSON list"),
    (_keys("team-a"), "", "entry 0: expected an object"),
    (_keys({"token": TEAM_A}), "", "entry 0: name must be a string"),
    (_keys({"name": "", "token": TEAM_A}), "", "entry 0: name '' is not allowed"),
    (_keys({"name": "team a", "token": TEAM_A}), "", "name 'team a' is not allowed: 1-64 characters"),
    (_keys({"name": 'a"}, {', "token": TEAM_A}), "", "is not allowed"),  # a label or SQL injection
    (_keys({"name": "-lead", "token": TEAM_A}), "", "starting with a letter or digit"),
    (_keys({"name": "x" * 65, "token": TEAM_A}), "", "is not allowed"),
    (_keys({"name": "a", "token": TEAM_A}, {"name": "a", "token": TEAM_B}), "",
     "entry 1 ('a'): the name is already used by entry 0"),
    (_keys({"name": "a", "token": TEAM_A}, {"name": "b", "token": TEAM_A}), "",
     "key 'b' has the same token as key 'a'"),
    (_keys({"name": "a", "token": CLIENT_TOKEN}), CLIENT_TOKEN,
     "key 'default' has the same token as key 'a'"),
    (_keys({"name": "default", "token": TEAM_A}), CLIENT_TOKEN, "taken by the unnamed tokens"),
    (_keys({"name": "a"}), "", "entry 0 ('a'): token must be a string of at least 16 printable"),
    (_keys({"name": "a", "token": "short"}), "", "at least 16"),
    (_keys({"name": "a", "token": "has a space in it 12345"}), "", "without spaces"),
    (_keys({"name": "a", "token": 12345678901234567890}), "", "token must be a string"),
    (_keys({"name": "a", "token": TEAM_A, "daily_budget": "5"}), "", "unknown field(s) 'daily_budget'"),
    (_keys({"name": "a", "token": TEAM_A, "daily_budget_usd": "0"}), "", "daily_budget_usd must be > 0"),
    (_keys({"name": "a", "token": TEAM_A, "daily_budget_usd": "lots"}), "", "is not a number"),
    (_keys({"name": "a", "token": TEAM_A, "daily_budget_usd": True}), "", "must be a USD amount"),
    (_keys({"name": "a", "token": TEAM_A, "daily_budget_usd": "10", "monthly_budget_usd": "5"}), "",
     "entry 0 ('a'): monthly budget (5) must be >= daily budget (10)"),
    (_keys({"name": "a", "token": ADMIN_TOKEN}), "",
     "GATEWAY_ADMIN_TOKEN must differ from every client token"),
])
def test_bad_keys_name_the_variable_and_the_entry_never_a_token(keys, tokens, fragment):
    with pytest.raises(ConfigError) as error:
        _config(GATEWAY_CLIENT_KEYS=keys, GATEWAY_CLIENT_TOKENS=tokens)
    message = str(error.value)
    assert fragment in message
    assert "GATEWAY_CLIENT_KEYS" in message or "GATEWAY_CLIENT_TOKENS" in message
    for secret in (TEAM_A, TEAM_B, CLIENT_TOKEN, ADMIN_TOKEN, "12345678901234567890"):
        assert secret not in message


def test_a_repeated_unnamed_token_is_one_default_key():
    config = _config(GATEWAY_CLIENT_TOKENS=f"{CLIENT_TOKEN},{CLIENT_TOKEN}")
    assert config.client_keys == (ClientKey("default", CLIENT_TOKEN),)


def test_the_authenticator_returns_the_key_of_the_token_and_keeps_the_roles():
    keys = _config(GATEWAY_CLIENT_KEYS=TWO_KEYS, GATEWAY_CLIENT_TOKENS=CLIENT_TOKEN).client_keys
    auth = Authenticator(keys, ADMIN_TOKEN)
    for key in keys:
        assert auth.client_key(b"Bearer " + key.token.encode()) is key
        assert auth.client_key(b"bearer  " + key.token.encode() + b" ") is key
        assert auth.role(b"Bearer " + key.token.encode()) == "client"
    assert auth.role(b"Bearer " + ADMIN_TOKEN.encode()) == "admin"
    cases = [(b"Bearer " + ADMIN_TOKEN.encode(), 403, "client_token_required"),
             (None, 401, "missing_api_key"), (b"Basic abc", 401, "missing_api_key"),
             (b"Bearer " + TEAM_A.encode()[:-1], 401, "invalid_api_key"),
             (b"Bearer " + TEAM_A.encode() + TEAM_B.encode(), 401, "invalid_api_key")]
    for header, status, code in cases:
        with pytest.raises(GatewayError) as refused:
            auth.client_key(header)
        assert (refused.value.status, refused.value.code) == (status, code)
    with pytest.raises(GatewayError) as refused:
        auth.require_admin(b"Bearer " + TEAM_B.encode())
    assert (refused.value.status, refused.value.code) == (403, "admin_token_required")


def test_every_row_carries_the_name_of_the_key_that_spent_it(backends, tmp_path):
    backends.reset()
    with running_gateway(backends, tmp_path, GATEWAY_CLIENT_KEYS=TWO_KEYS) as gw:
        for token in (TEAM_A, TEAM_B, TEAM_B, CLIENT_TOKEN, OTHER_CLIENT_TOKEN):
            assert gw.chat({"model": SMALL, "messages": HELLO}, token=token).status_code == 200
        streamed = gw.chat({"model": SMALL, "messages": HELLO, "stream": True}, token=TEAM_A)
        assert streamed.status_code == 200 and streamed.text
        assert gw.chat({"model": SMALL, "messages": HELLO}, token=ADMIN_TOKEN).status_code == 403
        assert gw.app.writer.flush()
        names = [row["key_name"] for row in gw.app.ledger.records_after(0, 100)]
    assert names == ["team-a", "batch.jobs_2", "batch.jobs_2", "default", "default", "team-a"]


OLD_WITH_SEQ = """
    CREATE TABLE usage (seq INTEGER PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, ts_ms INTEGER NOT NULL,
        model TEXT NOT NULL, backend TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL, cost_pico INTEGER NOT NULL, latency_ms REAL NOT NULL,
        status TEXT NOT NULL, estimated INTEGER NOT NULL DEFAULT 0, user_id TEXT, session_id TEXT,
        complexity TEXT, cost_priority TEXT);
    CREATE INDEX usage_by_time ON usage (ts_ms, model, backend);
    INSERT INTO usage VALUES (7, 'old-1', 5, 'm', 'gpu', 1, 2, 3, 4.0, 'ok', 0, 'u', NULL, 'low', 'cost');
"""
OLDEST = """
    CREATE TABLE usage (request_id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, model TEXT NOT NULL,
        backend TEXT NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
        cost_pico INTEGER NOT NULL, latency_ms REAL NOT NULL, status TEXT NOT NULL,
        estimated INTEGER NOT NULL DEFAULT 0, user_id TEXT, session_id TEXT, complexity TEXT);
    INSERT INTO usage VALUES ('old-1', 5, 'm', 'gpu', 1, 2, 3, 4.0, 'ok', 0, 'u', NULL, 'low');
"""


@pytest.mark.parametrize("schema", [OLD_WITH_SEQ, OLDEST], ids=["with-seq", "before-seq"])
def test_a_ledger_from_before_key_names_gets_the_column_and_keeps_its_rows(tmp_path, schema):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    conn.close()
    ledger = Ledger(path)
    old = ledger.records_after(0, 10)
    assert [(r["request_id"], r["cost_pico"], r["key_name"]) for r in old] == [("old-1", 3, None)]
    ledger.record(UsageRecord(request_id="new-1", ts_ms=6, model="m", backend="serverless", prompt_tokens=1,
                              completion_tokens=1, cost_pico=9, latency_ms=1.0, key_name="team-a"))
    assert [r["key_name"] for r in ledger.records_after(old[0]["cursor"], 10)] == ["team-a"]
    ledger.close()
    again = Ledger(path)  # a second open migrates nothing
    assert again.count() == 2
    columns = [row[1] for row in again._conn().execute("PRAGMA table_info(usage)")]
    assert columns.count("key_name") == 1 and columns[-1] == "key_name"
    again.close()


def _samples(text: str, metric: str) -> dict[str, float]:
    """{key label: value} of one per-key metric in Prometheus text."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == metric:
                out[sample.labels["key"]] = sample.value
    return out


def test_summary_and_metrics_break_spend_down_by_key(backends, tmp_path):
    backends.reset()
    with running_gateway(backends, tmp_path, GATEWAY_CLIENT_KEYS=TWO_KEYS) as gw:
        before = gw.metrics().text
        zero = {"team-a": 0, "batch.jobs_2": 0, "default": 0}  # every configured key from the start
        assert _samples(before, "gateway_key_requests_total") == zero
        costs: dict[str, int] = {}
        for token, name in ((TEAM_A, "team-a"), (TEAM_A, "team-a"), (TEAM_B, "batch.jobs_2")):
            response = gw.chat({"model": SMALL, "messages": HELLO}, token=token)
            assert response.status_code == 200
            costs[name] = costs.get(name, 0) + usd_to_pico(response.headers["x-cost-usd"])
        assert gw.chat({"model": SMALL, "messages": HELLO}, token=ADMIN_TOKEN).status_code == 403
        summary = parse_summary(gw.summary().json())
        text = gw.metrics().text

    by_key = {(row.key_name, row.backend): row for row in summary.keys}
    assert set(by_key) == {("team-a", "serverless"), ("batch.jobs_2", "serverless")}
    assert by_key["team-a", "serverless"].requests == 2 and by_key["batch.jobs_2", "serverless"].requests == 1
    assert {name: by_key[name, "serverless"].cost_pico for name in costs} == costs
    assert sum(row.cost_pico for row in summary.keys) == summary.total_cost_pico
    assert _samples(text, "gateway_key_requests_total") == {"team-a": 2, "batch.jobs_2": 1, "default": 0}
    assert _samples(text, "gateway_key_cost_usd_total") == pytest.approx(
        {"team-a": pico_to_float(costs["team-a"]), "batch.jobs_2": pico_to_float(costs["batch.jobs_2"]),
         "default": 0})
    for secret in (TEAM_A, TEAM_B, CLIENT_TOKEN, ADMIN_TOKEN):
        assert secret not in text
