"""What low-complexity requests on medium/large models would have cost on the small model.

The gateway's ledger records the router's complexity estimate per request and the usage summary
carries, per (model, backend), the low-complexity requests and their tokens. Pricing those tokens
at both models' catalog prices (exact picodollars) gives the saving the router would have made
had those requests been sent to the small tier. Completions on a smaller model are assumed to be
as long as they were; GPU-served rows are left out (the host is paid by the hour either way).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from llm_shared.catalog import Catalog
from llm_shared.money import pico_to_usd
from llm_shared.pricing import cost_pico
from llm_shared.routing import SERVERLESS
from llm_shared.usage_schema import UsageSummary

SMALL_TIER = "small"


def suggest(summary: UsageSummary, catalog: Catalog) -> dict[str, Any]:
    """The optimization section of the CLI report for one period's summary."""
    small = catalog.for_tier(SMALL_TIER)
    suggestions: list[dict[str, Any]] = []  # JSON report rows
    skipped: list[dict[str, Any]] = []
    for row in summary.rows:
        if row.low_complexity_requests == 0:
            continue
        where = {"model": row.model, "backend": row.backend,
                 "low_complexity_requests": row.low_complexity_requests}
        if row.backend != SERVERLESS:
            skipped.append({**where, "reason": "served by the GPU host, which is paid by the hour"})
            continue
        if row.model not in catalog:
            skipped.append({**where, "reason": "model not in the catalog, so its price is unknown"})
            continue
        model = catalog.get(row.model)
        if model.tier == SMALL_TIER:
            continue
        prompt, completion = row.low_complexity_prompt_tokens, row.low_complexity_completion_tokens
        current = cost_pico(model, prompt, completion)
        cheaper = cost_pico(small, prompt, completion)
        if cheaper >= current:
            continue
        suggestions.append({
            **where, "tier": model.tier, "prompt_tokens": prompt, "completion_tokens": completion,
            "current_cost_usd": str(pico_to_usd(current)), "suggested_model": small.id,
            "suggested_cost_usd": str(pico_to_usd(cheaper)),
            "saving_usd": str(pico_to_usd(current - cheaper)), "saving_pico": current - cheaper,
        })
    suggestions.sort(key=lambda s: (-s["saving_pico"], s["model"]))
    total = sum(s["saving_pico"] for s in suggestions)
    spend = sum(r.cost_pico for r in summary.rows if r.backend == SERVERLESS)
    share = Decimal(total) * 100 / spend if spend else Decimal(0)
    return {
        "period": summary.period,
        "start": summary.start.isoformat(),
        "end": summary.end.isoformat(),
        "small_model": small.id,
        "total_saving_usd": str(pico_to_usd(total)),
        "saving_pico": total,
        "share_of_serverless_spend_percent": str(share.quantize(Decimal("0.01"))),
        "suggestions": suggestions,
        "skipped": skipped,
        "note": "Low-complexity requests are the router's own estimate; savings assume the same "
                "completion length on the small model.",
    }
