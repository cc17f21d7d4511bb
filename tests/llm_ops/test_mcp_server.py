"""The MCP server through the SDK's own client: in memory against a real gateway, and once over stdio."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import jsonschema
from mcp import Client, StdioServerParameters

from llm_ops.client import GatewayClient
from llm_ops.mcp_server import ADMIN_TOOLS, CLIENT_TOOLS, build_server
from llm_shared.catalog import default_catalog
from llm_shared.money import usd_to_pico
from llm_shared.pricing import cost_pico
from llm_shared.usage_schema import usd_string
from tests.gateway.conftest import (
    ADMIN_TOKEN,
    CLIENT_TOKEN,
    HELLO,
    MEDIUM,
    SERVERLESS_KEY,
    SMALL,
    Clock,
    running_gateway,
    seed_row,
)

from .conftest import NOW, ledger_totals

ROOT = Path(__file__).resolve().parents[2]
SECRETS = (CLIENT_TOKEN, ADMIN_TOKEN, SERVERLESS_KEY)


def _session(client: GatewayClient, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """List the tools, then make each call in one in-memory MCP session; returns [tools, *results]."""

    async def go() -> list[Any]:
        async with Client(build_server(client)) as mcp:
            out: list[Any] = [(await mcp.list_tools()).tools]
            for name, arguments in calls:
                out.append(await mcp.call_tool(name, arguments))
            return out

    return anyio.run(go)


def _no_secret_in(result: Any) -> None:
    text = json.dumps(result.model_dump(mode="json"))
    assert not any(secret in text for secret in SECRETS)


def test_every_tool_has_an_output_schema_annotations_and_admin_tools_need_the_admin_token(admin, client_only):
    tools = {t.name: t for t in _session(admin, [])[0]}
    assert set(tools) == {*CLIENT_TOOLS, *ADMIN_TOOLS}
    for tool in tools.values():
        assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (tool.name != "invoke_serverless")
        assert tool.description
    assert set(tools["invoke_serverless"].input_schema["required"]) == {"prompt"}
    priority = tools["invoke_serverless"].input_schema["properties"]["cost_priority"]
    assert set(priority["enum"]) == {"low_cost", "balanced", "performance", "latency_critical"}
    assert {t.name for t in _session(client_only, [])[0]} == set(CLIENT_TOOLS)


def test_invoke_returns_what_the_ledger_recorded(gw, admin):
    tools, result = _session(admin, [("invoke_serverless", {"prompt": "Summarize: the cat sat on the mat.",
                                                            "cost_priority": "low_cost", "max_tokens": 5})])
    assert not result.is_error
    data = result.structured_content
    schema = next(t for t in tools if t.name == "invoke_serverless").output_schema
    jsonschema.validate(data, schema)
    (request_id, model, backend, prompt, completion, cost, status, *_), = gw.rows()
    assert (data["request_id"], data["model"], data["backend"]) == (request_id, model, backend)
    assert (data["prompt_tokens"], data["completion_tokens"], data["cost_pico"]) == (prompt, completion, cost)
    assert usd_to_pico(data["cost_usd"]) == cost and status == "ok" and model == SMALL
    assert data["completion"] == "w0 w1 w2 w3 w4" and data["latency_ms"] > 0
    _no_secret_in(result)


def test_usage_stats_equal_the_ledger_and_carry_the_budget(gw, admin):
    for text in ("hello", "Design an architecture for a multi-region database, analyze the trade-offs "
                          "step by step and prove the consistency guarantees."):
        assert gw.chat({"model": "auto", "messages": [{"role": "user", "content": text}]}).status_code == 200
    tools, result = _session(admin, [("get_usage_stats", {"period": "day"})])
    data = result.structured_content
    jsonschema.validate(data, next(t for t in tools if t.name == "get_usage_stats").output_schema)
    rows, prompt, completion, cost = ledger_totals(gw)
    assert (data["requests"], data["prompt_tokens"], data["completion_tokens"], data["cost_pico"]) == \
        (rows, prompt, completion, cost)
    assert {(r["model"], r["backend"]) for r in data["breakdown"]} == {(r[1], r[2]) for r in gw.rows()}
    assert sum(r["cost_pico"] for r in data["breakdown"]) == cost
    assert data["budget"]["day"]["spent_pico"] == cost and data["budget"]["status"] == "ok"
    assert all(r["p95_latency_ms"] >= 0 and r["unique_users"] == 0 for r in data["breakdown"])


def test_estimate_and_explain_call_no_model(gw, backends, admin):
    _, estimate, explain = _session(admin, [
        ("estimate_cost", {"prompt": "Write a haiku about autumn", "model": SMALL, "max_tokens": 100}),
        ("explain_route", {"prompt": "hello", "cost_priority": "latency_critical"})])
    est = estimate.structured_content
    assert est["model"] == SMALL and est["max_completion_tokens"] == 100
    small_per_token = usd_to_pico("0.07") // 10**6
    assert est["max_cost_pico"] == (est["prompt_tokens_bound"] + 100) * small_per_token
    assert usd_to_pico(est["min_cost_usd"]) == est["prompt_tokens_estimate"] * small_per_token
    route = explain.structured_content
    assert route["cost_priority"] == "latency_critical" and route["complexity"] == "low"
    assert backends.serverless.app.request_count == backends.gpu.app.request_count == 0 and gw.rows() == []


def test_gateway_refusals_are_tool_errors_without_tokens(backends, tmp_path):
    backends.reset()
    seed_row(tmp_path / "ledger.sqlite3", NOW - timedelta(hours=1), usd_to_pico("100"))
    with running_gateway(backends, tmp_path, clock=Clock(NOW)) as gw, \
            GatewayClient(gw.url, CLIENT_TOKEN, ADMIN_TOKEN) as client, \
            GatewayClient(gw.url, "wrong-token-0123456789", ADMIN_TOKEN) as stranger:
        _, refused, unknown, status = _session(client, [
            ("invoke_serverless", {"prompt": "hello"}),
            ("invoke_serverless", {"prompt": "hello", "model": "gpt-17"}),
            ("budget_status", {})])
        _, bad_token = _session(stranger, [("explain_route", {"prompt": "hello"})])
        assert backends.serverless.app.request_count == 0
    assert refused.is_error and "budget exceeded" in refused.content[0].text
    assert unknown.is_error and "unknown model 'gpt-17'" in unknown.content[0].text
    assert SMALL in unknown.content[0].text  # the message lists the known models
    assert bad_token.is_error and "401" in bad_token.content[0].text
    assert not status.is_error and status.structured_content["status"] == "exceeded"
    for result in (refused, unknown, bad_token, status):
        _no_secret_in(result)


def test_a_gateway_that_is_down_is_a_tool_error():
    with GatewayClient("http://127.0.0.1:9", CLIENT_TOKEN, ADMIN_TOKEN, timeout=(0.5, 0.5)) as client:
        _, down = _session(client, [("budget_status", {})])
    assert down.is_error and "unreachable" in down.content[0].text
    _no_secret_in(down)


def test_stdio_server_started_as_desktop_assistants_do(gw, tmp_path):
    """One subprocess (the SDK's import alone takes seconds); admin tools are checked in memory above."""
    (tmp_path / "client.token").write_text(CLIENT_TOKEN + "\n")
    (tmp_path / "admin.token").write_text(ADMIN_TOKEN)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": f"{ROOT / 'functions'}{os.pathsep}{ROOT}",
           "GATEWAY_URL": f"{gw.url}/v1", "GATEWAY_TOKEN_FILE": str(tmp_path / "client.token"),
           "GATEWAY_ADMIN_TOKEN_FILE": str(tmp_path / "admin.token")}
    params = StdioServerParameters(command=sys.executable, args=["-m", "llm_ops.mcp_server"], env=env)

    async def go() -> tuple[set[str], Any, Any]:
        async with Client(params, read_timeout_seconds=30) as mcp:
            names = {t.name for t in (await mcp.list_tools()).tools}
            return (names, await mcp.call_tool("explain_route", {"prompt": "hello"}),
                    await mcp.call_tool("budget_status", {}))

    names, route, budget = anyio.run(go)
    assert names == {*CLIENT_TOOLS, *ADMIN_TOOLS}
    assert not route.is_error and route.structured_content["model"] == SMALL
    assert budget.structured_content["day"]["budget_usd"] == "100"


def test_optimize_costs_prices_the_ledgers_own_traffic(backends, tmp_path):
    """Low-complexity traffic on the medium model, and GPU traffic against the host's hourly price."""
    backends.reset()
    with running_gateway(backends, tmp_path, clock=Clock(NOW)) as gw, \
            GatewayClient(gw.url, CLIENT_TOKEN, ADMIN_TOKEN) as client:
        for user in ("alice", "bob", "alice"):
            assert gw.chat({"model": MEDIUM, "messages": HELLO, "user": user}).status_code == 200
        on_gpu = gw.chat({"model": MEDIUM, "messages": HELLO}, headers={"x-force-backend": "gpu"})
        assert on_gpu.status_code == 200
        _, plain, with_gpu, usage = _session(client, [
            ("optimize_costs", {"workload_description": "support chat"}),
            ("optimize_costs", {"gpu_hourly_usd": "0.75"}), ("get_usage_stats", {"period": "month"})])
        rows = gw.rows()
    catalog = default_catalog()
    serverless = [r for r in rows if r[2] == "serverless"]
    assert all(r[8] == "low" for r in rows)  # the router's own estimate, as recorded
    medium, small = catalog.get(MEDIUM), catalog.get(SMALL)
    saving = sum(cost_pico(medium, r[3], r[4]) - cost_pico(small, r[3], r[4]) for r in serverless)
    data = plain.structured_content
    assert data["small_model_saving_usd"] == usd_string(saving)
    assert data["recommendations"][0]["saving_pico"] == saving and data["gpu_host_cost_usd"] is None
    assert data["workload_description"] == "support chat"
    gpu_row = next(r for r in rows if r[2] == "gpu")
    host_pico = usd_to_pico("0.75") * int((NOW - NOW.replace(day=1, hour=0)).total_seconds()) // 3600
    stop_host = with_gpu.structured_content["recommendations"][-1]
    assert with_gpu.structured_content["gpu_host_cost_usd"] == usd_string(host_pico)
    assert stop_host["saving_pico"] == host_pico - gpu_row[5] and "stop the GPU host" in stop_host["action"]
    assert usage.structured_content["unique_users"] == 2  # distinct over the month, not a sum of rows

