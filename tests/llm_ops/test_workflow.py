"""The LangGraph workflow against a real gateway: one ledger row per run, its exact cost in the state."""

from __future__ import annotations

from datetime import timedelta

from llm_ops.client import GatewayClient
from llm_ops.workflow import NODES, build_workflow
from llm_shared.money import usd_to_pico
from tests.gateway.conftest import ADMIN_TOKEN, CLIENT_TOKEN, HARD, SMALL, Clock, running_gateway, seed_row

from .conftest import NOW

MEDIUM_PROMPT = "Explain how HTTP caching works and write an example of a Cache-Control header."


def test_one_run_is_one_ledger_row_and_its_exact_cost(gw, admin):
    graph = build_workflow(admin)
    assert set(NODES) <= set(graph.get_graph().nodes)
    state = graph.invoke({"prompt": MEDIUM_PROMPT, "cost_priority": "balanced", "max_tokens": 16})
    (request_id, model, backend, prompt, completion, cost, *_), = gw.rows()
    assert (state["request_id"], state["model"], state["backend"], state["cost_pico"]) == \
        (request_id, model, backend, cost)
    assert usd_to_pico(state["cost_usd"]) == cost and state["total_tokens"] == prompt + completion
    assert state["predicted_model"] == model and state["model_changed"] is False
    assert state["complexity"] == "medium" and state["completion"]
    graph.invoke({"prompt": "hello", "cost_priority": "low_cost"})
    assert len(gw.rows()) == 2


def test_a_budget_downgrade_between_prediction_and_generation_is_flagged(backends, tmp_path):
    backends.reset()
    # Just under the 80 % warning line: the next request's cost pushes the day into warning.
    seed_row(tmp_path / "ledger.sqlite3", NOW - timedelta(hours=1), usd_to_pico("80") - 1000)
    with running_gateway(backends, tmp_path, clock=Clock(NOW)) as gw, \
            GatewayClient(gw.url, CLIENT_TOKEN, ADMIN_TOKEN) as client:
        graph = build_workflow(client)
        state: dict = {}
        for update in graph.stream({"prompt": HARD[0]["content"], "max_tokens": 8}, stream_mode="updates"):
            state.update(next(iter(update.values())))
            if "predicted_model" in update.get("select_model", {}):
                assert gw.chat({"model": SMALL, "messages": HARD, "max_tokens": 8}).status_code == 200
        rows = [r for r in gw.rows() if not r[0].startswith("seed-")]
    assert state["predicted_model"] != SMALL and state["model"] == SMALL
    assert state["model_changed"] is True and "budget" in state["change_reason"]
    assert len(rows) == 2 and rows[-1][0] == state["request_id"] and rows[-1][5] == state["cost_pico"]
