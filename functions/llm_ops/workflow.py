"""LangGraph workflow: analyze_complexity -> select_model -> generate -> track_usage.

The gateway stays authoritative. `analyze_complexity` runs the same estimator the gateway uses
(llm_shared.complexity, pure); `select_model` asks POST /v1/route/explain what the gateway would
do; `generate` sends `model: auto` with the cost priority, so the gateway routes (and may
downgrade under budget pressure); `track_usage` copies request id, model, backend and exact cost
from the gateway's answer into the state and flags a served model that differs from the
prediction. The gateway's ledger row is the only record: nothing here writes a second one.

    graph = build_workflow(GatewayClient(url, token))
    state = graph.invoke({"prompt": "Summarize this memo: ...", "cost_priority": "low_cost"})
    state["cost_usd"], state["model"], state["model_changed"]
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from llm_shared.complexity import estimate

from . import operations as ops
from .client import GatewayClient

NODES = ("analyze_complexity", "select_model", "generate", "track_usage")


class WorkflowState(TypedDict, total=False):
    prompt: str                 # input
    cost_priority: str | None   # input: low_cost, balanced, performance, latency_critical
    max_tokens: int | None      # input
    complexity: str
    complexity_score: float
    predicted_model: str
    predicted_backend: str
    route_reason: str
    worst_case_cost_usd: str
    completion: str
    invoke_result: ops.InvokeResult
    request_id: str
    model: str
    backend: str
    cost_usd: str
    cost_pico: int
    total_tokens: int
    model_changed: bool
    change_reason: str | None


def build_workflow(client: GatewayClient) -> Any:
    """The compiled graph; `invoke({"prompt": ...})` runs the four nodes once, in order."""

    def analyze_complexity(state: WorkflowState) -> WorkflowState:
        level = estimate([{"role": "user", "content": state["prompt"]}])
        return {"complexity": level.level, "complexity_score": level.score}

    def select_model(state: WorkflowState) -> WorkflowState:
        route = ops.explain(client, state["prompt"], cost_priority=state.get("cost_priority"),
                            max_tokens=state.get("max_tokens"))
        return {"predicted_model": route["model"], "predicted_backend": route["backend"],
                "route_reason": route["reason"], "worst_case_cost_usd": route["worst_case_cost_usd"]}

    def generate(state: WorkflowState) -> WorkflowState:
        result = ops.invoke(client, state["prompt"], model=None, cost_priority=state.get("cost_priority"),
                            max_tokens=state.get("max_tokens"))
        return {"invoke_result": result, "completion": result["completion"]}

    def track_usage(state: WorkflowState) -> WorkflowState:
        result = state["invoke_result"]
        changed = result["model"] != state["predicted_model"]
        reason = None
        if changed:
            reason = ("the gateway downgraded to its cheapest model under budget pressure"
                      if result["budget_downgraded"] else "the gateway routed differently than predicted")
        return {"request_id": result["request_id"], "model": result["model"], "backend": result["backend"],
                "cost_usd": result["cost_usd"], "cost_pico": result["cost_pico"],
                "total_tokens": result["total_tokens"], "model_changed": changed, "change_reason": reason}

    graph = StateGraph(WorkflowState)
    for name, node in zip(NODES, (analyze_complexity, select_model, generate, track_usage), strict=True):
        graph.add_node(name, node)
    graph.add_edge(START, NODES[0])
    for first, second in pairwise(NODES):
        graph.add_edge(first, second)
    graph.add_edge(NODES[-1], END)
    return graph.compile()
