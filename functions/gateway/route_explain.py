"""POST /v1/route/explain (client token): the routing decision the gateway would make, not carried out.

The body is a chat-completions body, validated exactly as the chat endpoint does; the answer is the
chat pipeline's own plan (complexity, tier, backend, model, reason, budget status and downgrade,
the worst case it would reserve). Nothing is reserved, no upstream is called, no row is written,
so an operator tool can ask before it spends. A budget that would refuse the request is reported
(`admitted: false`), not raised: the question was answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llm_shared import budget as budget_maths
from llm_shared.pricing import cost_pico
from llm_shared.routing import AUTO_MODEL, BALANCED
from llm_shared.usage_schema import usd_string

from .asgi import Handler, HttpRequest, respond_json
from .chat_pipeline import ChatPipeline
from .chat_request import check_context_window
from .token_estimates import estimate_prompt_tokens

if TYPE_CHECKING:
    from .app import GatewayApp


def endpoint(app: GatewayApp) -> Handler:
    pipeline = ChatPipeline(app)

    async def handle(http: HttpRequest) -> None:
        request, _key = await pipeline.admit(http)
        plan = await pipeline.plan(request, http.headers)
        if request.model == AUTO_MODEL:
            check_context_window(request, plan.model)
        admitted = plan.budget_status != budget_maths.EXCEEDED
        reason = plan.decision.reason
        if plan.downgraded:
            reason = f"budget warning: auto downgraded to the cheapest model; {reason}"
        if not admitted:
            reason = f"budget exceeded: the gateway would refuse this request (429); {reason}"
        typical_prompt = estimate_prompt_tokens(request.messages)
        await respond_json(http.send, 200, {
            "object": "route.explanation",
            "model": plan.model.id,
            "tier": plan.model.tier,
            "backend": plan.decision.backend,
            "fallback_backend": plan.decision.fallback_backend,
            "complexity": plan.decision.complexity,
            "complexity_score": plan.decision.complexity_score,
            "cost_priority": request.cost_priority or BALANCED,
            "reason": reason,
            "budget_status": plan.budget_status,
            "budget_downgraded": plan.downgraded,
            "admitted": admitted,
            "prompt_tokens_estimate": typical_prompt,
            "prompt_tokens_bound": plan.prompt_bound,
            "max_completion_tokens": plan.completion_cap,
            "prompt_only_cost_usd": usd_string(cost_pico(plan.model, typical_prompt, 0)),
            "worst_case_cost_usd": usd_string(plan.worst_case_pico),
            "worst_case_cost_pico": plan.worst_case_pico,
        })

    return handle
