"""What the operator tools do, once: each function is one MCP tool and one chat intent.

Every figure comes from the gateway (its ledger, its guard, its router, its catalog prices);
nothing here re-prices, re-routes or keeps a second ledger. Results are TypedDicts so the MCP
server derives each tool's output schema from the same types the chat command prints.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from typing_extensions import TypedDict  # typing.TypedDict drops nested output schemas on 3.11

from cost_tracker.optimization import suggest
from llm_shared.catalog import Catalog, default_catalog
from llm_shared.money import usd_to_pico
from llm_shared.routing import GPU
from llm_shared.usage_schema import usd_string

from .client import GatewayClient

Priority = Literal["low_cost", "balanced", "performance", "latency_critical"]
PeriodName = Literal["day", "month"]
SECONDS_PER_HOUR = 3600


class InvokeResult(TypedDict):
    completion: str
    model: str
    backend: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: str
    cost_pico: int
    latency_ms: float
    request_id: str
    fallback_from: str | None
    budget_downgraded: bool
    usage_estimated: bool


class RouteResult(TypedDict):
    model: str
    tier: str
    backend: str
    fallback_backend: str | None
    complexity: str
    complexity_score: float
    cost_priority: str
    reason: str
    budget_status: str
    budget_downgraded: bool
    admitted: bool
    prompt_tokens_estimate: int
    prompt_tokens_bound: int
    max_completion_tokens: int
    prompt_only_cost_usd: str
    worst_case_cost_usd: str
    worst_case_cost_pico: int


class EstimateResult(TypedDict):
    model: str
    tier: str
    input_usd_per_million: str
    output_usd_per_million: str
    prompt_tokens_estimate: int
    prompt_tokens_bound: int
    max_completion_tokens: int
    min_cost_usd: str
    max_cost_usd: str
    max_cost_pico: int
    note: str


class PeriodBudget(TypedDict):
    period: str
    start: str
    end: str
    budget_usd: str
    spent_usd: str
    reserved_usd: str
    committed_usd: str
    remaining_usd: str
    percent_used: str
    status: str
    spent_pico: int
    reserved_pico: int
    budget_pico: int


class BudgetResult(TypedDict):
    status: str
    time_zone: str
    warning_percent: str
    critical_percent: str
    day: PeriodBudget
    month: PeriodBudget


class UsageRowResult(TypedDict):
    model: str
    backend: str
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: str
    cost_pico: int
    avg_latency_ms: float
    p95_latency_ms: float
    unique_users: int


class UsageStatsResult(TypedDict):
    period: str
    start: str
    end: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: str
    cost_pico: int
    unique_users: int
    breakdown: list[UsageRowResult]
    budget: BudgetResult


class Recommendation(TypedDict):
    action: str
    saving_usd: str
    saving_pico: int
    detail: str


class OptimizeResult(TypedDict):
    period: str
    start: str
    end: str
    serverless_cost_usd: str
    small_model: str
    small_model_saving_usd: str
    gpu_token_value_usd: str
    gpu_host_cost_usd: str | None
    recommendations: list[Recommendation]
    workload_description: str | None
    note: str


def _messages(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


def invoke(client: GatewayClient, prompt: str, *, model: str | None = None, cost_priority: str | None = None,
           max_tokens: int | None = None) -> InvokeResult:
    """Send one prompt through the gateway; cost and tokens as the gateway billed them."""
    done = client.chat(_messages(prompt), model=model, cost_priority=cost_priority, max_tokens=max_tokens)
    return InvokeResult(completion=done.text, model=done.model, backend=done.backend,
                        prompt_tokens=done.prompt_tokens, completion_tokens=done.completion_tokens,
                        total_tokens=done.prompt_tokens + done.completion_tokens, cost_usd=done.cost_usd,
                        cost_pico=done.cost_pico, latency_ms=round(done.latency_ms, 1),
                        request_id=done.request_id, fallback_from=done.fallback_from,
                        budget_downgraded=done.budget_downgraded, usage_estimated=done.usage_estimated)


def explain(client: GatewayClient, prompt: str, *, cost_priority: str | None = None, model: str | None = None,
            max_tokens: int | None = None) -> RouteResult:
    """The routing decision the gateway would make for this prompt (no upstream call, nothing billed)."""
    data = client.explain_route(_messages(prompt), model=model, cost_priority=cost_priority,
                                max_tokens=max_tokens)
    return RouteResult(**{key: data[key] for key in RouteResult.__annotations__})  # type: ignore[typeddict-item]


def estimate(client: GatewayClient, prompt: str, *, model: str | None = None, max_tokens: int | None = None,
             cost_priority: str | None = None, catalog: Catalog | None = None) -> EstimateResult:
    """Token counts and exact cost bounds at the catalog's prices, from the gateway's own bounds."""
    route = explain(client, prompt, cost_priority=cost_priority, model=model, max_tokens=max_tokens)
    entry = (catalog or default_catalog()).get(route["model"])
    return EstimateResult(
        model=route["model"], tier=route["tier"], input_usd_per_million=str(entry.input_usd_per_million),
        output_usd_per_million=str(entry.output_usd_per_million),
        prompt_tokens_estimate=route["prompt_tokens_estimate"],
        prompt_tokens_bound=route["prompt_tokens_bound"],
        max_completion_tokens=route["max_completion_tokens"], min_cost_usd=route["prompt_only_cost_usd"],
        max_cost_usd=route["worst_case_cost_usd"], max_cost_pico=route["worst_case_cost_pico"],
        note="max is exact: every prompt token the gateway bounds plus the full completion cap, the amount "
             "it reserves; min is the typical prompt alone with an empty answer")


def budget_status(client: GatewayClient) -> BudgetResult:
    """Today's and this month's settled and reserved spend against the budgets, from the guard."""
    data = client.budget()
    return BudgetResult(**{key: data[key] for key in BudgetResult.__annotations__})  # type: ignore[typeddict-item]


def usage_stats(client: GatewayClient, period: str = "day") -> UsageStatsResult:
    """Per model and backend figures of the ledger for this calendar day or month, plus the budget."""
    summary = client.usage_summary(period)
    rows = [UsageRowResult(model=r.model, backend=r.backend, requests=r.requests, errors=r.errors,
                           prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
                           total_tokens=r.prompt_tokens + r.completion_tokens,
                           cost_usd=usd_string(r.cost_pico), cost_pico=r.cost_pico,
                           avg_latency_ms=r.avg_latency_ms, p95_latency_ms=r.p95_latency_ms,
                           unique_users=r.unique_users) for r in summary.rows]
    return UsageStatsResult(
        period=summary.period, start=summary.start.isoformat(), end=summary.end.isoformat(),
        requests=summary.total_requests, prompt_tokens=summary.total_prompt_tokens,
        completion_tokens=summary.total_completion_tokens, cost_usd=usd_string(summary.total_cost_pico),
        cost_pico=summary.total_cost_pico, unique_users=summary.unique_users_total, breakdown=rows,
        budget=budget_status(client))


def optimize(client: GatewayClient, workload_description: str | None = None, *,
             gpu_hourly_usd: str | None = None, catalog: Catalog | None = None) -> OptimizeResult:
    """What this month's ledger says would have saved money, in dollars (not a keyword guess)."""
    catalog = catalog or default_catalog()
    summary = client.usage_summary("month")
    small = suggest(summary, catalog)
    serverless_pico = sum(r.cost_pico for r in summary.rows if r.backend != GPU)
    gpu_value = sum(r.cost_pico for r in summary.rows if r.backend == GPU)
    recommendations = []
    if small["saving_pico"] > 0:
        moved = sum(s["low_complexity_requests"] for s in small["suggestions"])
        recommendations.append(Recommendation(
            action=f"send low-complexity requests to {small['small_model']}",
            saving_usd=usd_string(small["saving_pico"]), saving_pico=small["saving_pico"],
            detail=f"{moved} low-complexity requests this month ran on larger serverless models; at "
                   f"{small['small_model']}'s price they would have cost {usd_string(small['saving_pico'])} "
                   f"USD less ({small['share_of_serverless_spend_percent']}% of serverless spend)"))
    host_cost: int | None = None
    if gpu_hourly_usd is not None:
        seconds = max(int((summary.generated_at - summary.start).total_seconds()), 0)
        host_cost = usd_to_pico(gpu_hourly_usd, name="gpu_hourly_usd") * seconds // SECONDS_PER_HOUR
        saving = host_cost - gpu_value
        recommendations.append(Recommendation(
            action="raise the serverless ratio to 1.0 and stop the GPU host" if saving > 0
            else "keep the GPU host: its traffic would cost more serverless",
            saving_usd=usd_string(max(saving, 0)), saving_pico=max(saving, 0),
            detail=f"the GPU host cost {usd_string(host_cost)} USD this month so far; the requests it served "
                   f"would have cost {usd_string(gpu_value)} USD serverless"))
    result = OptimizeResult(
        period="month", start=summary.start.isoformat(), end=summary.end.isoformat(),
        serverless_cost_usd=usd_string(serverless_pico), small_model=small["small_model"],
        small_model_saving_usd=small["total_saving_usd"], gpu_token_value_usd=usd_string(gpu_value),
        gpu_host_cost_usd=None if host_cost is None else usd_string(host_cost),
        recommendations=recommendations, workload_description=workload_description,
        note="savings assume the same completion lengths; the GPU host is paid by the hour, so moving its "
             "traffic saves money only if the host is stopped (pass gpu_hourly_usd to compare)")
    return result


def percent_of(cost_pico: int, budget: PeriodBudget) -> Decimal:
    """A cost as a percentage of a period's budget (for "2.5% of today's budget")."""
    return Decimal(cost_pico) * 100 / Decimal(budget["budget_pico"])
