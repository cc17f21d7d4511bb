"""The keyword match the parser must beat: the plan's intent table, first substring hit wins.

The plan's `lambda_intents` (deploy_serverless -> run, check_costs, optimize), extended by one
keyword each for the intents the plan lacks, and slots found by the obvious keywords.
"""

from __future__ import annotations

from llm_shared.catalog import default_catalog

_INTENTS = (
    ("run", ("deploy serverless", "use lambda", "serverless inference")),
    ("check_costs", ("lambda costs", "usage stats", "budget status")),
    ("optimize", ("optimize costs", "reduce costs", "cost savings")),
    ("estimate", ("estimate",)),
    ("explain", ("route",)),
)
_PRIORITIES = (("low_cost", ("low cost", "cheap")), ("performance", ("high quality",)),
               ("latency_critical", ("fast", "real-time")))
_MODELS = (("8b", "llama3.1-8b-instruct"), ("70b", "llama3.1-70b-instruct-fp8"),
           ("maverick", "llama-4-maverick-17b-128e-instruct-fp8"))


def classify(text: str) -> dict[str, str | None]:
    lowered = text.lower()

    def first(table: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
        return next((name for name, words in table if any(w in lowered for w in words)), None)

    model = next((m for word, m in _MODELS if word in lowered), None)
    assert model is None or model in default_catalog()
    period = "day" if "today" in lowered else "month" if "month" in lowered else None
    return {"intent": first(_INTENTS) or "unknown", "cost_priority": first(_PRIORITIES), "model": model,
            "period": period}
