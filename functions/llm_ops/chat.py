"""Plain-language commands: `python -m llm_ops.chat "how much did we spend today?"`.

The sentence is parsed offline (`llm_ops.intents`); `--classify` prints that parse and stops.
Otherwise the intent acts through the same functions as the MCP tools and prints a short answer
(or the result as JSON with `--json`). Only `run` sends anything to a model; `unknown` asks back
and does nothing; nothing here deploys infrastructure.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from . import intents
from . import operations as ops
from .client import AdminTokenMissing, GatewayCallError, GatewayClient
from .intents import Parse
from .settings import OpsConfigError, OpsSettings

PERCENT_PLACES = Decimal("0.000001")  # single requests are tiny shares of a day's budget
ASK_BACK = ("I did not understand that. I can: check costs (\"how much did we spend today?\"), suggest "
            "savings (\"optimize costs for my workload\"), estimate (\"what would it cost to summarize a "
            "report?\"), explain routing (\"which model would you pick for a code review?\") or run a prompt "
            "(\"summarize this with low cost priority: ...\"). I never deploy infrastructure.")


def act(parsed: Parse, client: GatewayClient) -> dict[str, Any]:
    """Carry out one parsed sentence; the result is what the matching MCP tool returns."""
    model, priority = parsed.model, parsed.cost_priority
    if parsed.intent == intents.CHECK_COSTS:
        return dict(ops.usage_stats(client, parsed.period or intents.DAY))
    if parsed.intent == intents.OPTIMIZE:
        return dict(ops.optimize(client, parsed.prompt))
    if parsed.intent == intents.ESTIMATE:
        return dict(ops.estimate(client, parsed.prompt, model=model, cost_priority=priority))
    if parsed.intent == intents.EXPLAIN:
        return dict(ops.explain(client, parsed.prompt, model=model, cost_priority=priority))
    if parsed.intent == intents.RUN:
        result: dict[str, Any] = dict(ops.invoke(client, parsed.prompt, model=model,
                                                 cost_priority=priority))
        if client.has_admin:
            budget = ops.budget_status(client)
            share = ops.percent_of(result["cost_pico"], budget["day"])
            result["percent_of_daily_budget"] = str(share.quantize(PERCENT_PLACES))
        return result
    raise ValueError(f"nothing to do for intent {parsed.intent!r}")


def render(parsed: Parse, result: dict[str, Any]) -> str:
    """A few lines a person reads at a glance."""
    if parsed.intent == intents.CHECK_COSTS:
        budget = result["budget"][result["period"]]
        lines = [f"{'Today' if result['period'] == 'day' else 'This month'}: ${result['cost_usd']} over "
                 f"{result['requests']} requests ({budget['percent_used']}% of the ${budget['budget_usd']} "
                 f"budget, status {budget['status']}; reserved in flight ${budget['reserved_usd']})."]
        for row in sorted(result["breakdown"], key=lambda r: -r["cost_pico"])[:5]:
            lines.append(f"  {row['model']} on {row['backend']}: {row['requests']} requests, "
                         f"{row['total_tokens']} tokens, ${row['cost_usd']}, "
                         f"p95 {row['p95_latency_ms']:.0f} ms")
        return "\n".join(lines)
    if parsed.intent == intents.OPTIMIZE:
        if not result["recommendations"]:
            return (f"Nothing to save this month: serverless spend ${result['serverless_cost_usd']}, no "
                    "low-complexity traffic on larger models.")
        return "\n".join(f"- {r['action']}: would have saved ${r['saving_usd']} ({r['detail']})"
                         for r in result["recommendations"])
    if parsed.intent == intents.ESTIMATE:
        return (f"{result['model']}: {result['prompt_tokens_estimate']} prompt tokens (at most "
                f"{result['prompt_tokens_bound']}), answer up to {result['max_completion_tokens']} tokens; "
                f"cost between ${result['min_cost_usd']} and ${result['max_cost_usd']}.")
    if parsed.intent == intents.EXPLAIN:
        return (f"{result['model']} on {result['backend']} ({result['complexity']} complexity, "
                f"{result['tier']} tier): {result['reason']}. Worst case ${result['worst_case_cost_usd']}.")
    share = (f", {result['percent_of_daily_budget']}% of today's budget"
             if "percent_of_daily_budget" in result else "")
    return (f"{result['completion']}\n-- {result['model']} on {result['backend']}, "
            f"{result['total_tokens']} tokens, ${result['cost_usd']}{share} (request {result['request_id']})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="llm-ops-chat", description=__doc__.split("\n")[0],
        epilog="environment: GATEWAY_URL, GATEWAY_TOKEN_FILE, optional GATEWAY_ADMIN_TOKEN_FILE "
               "(see docs/ops.md)")
    parser.add_argument("sentence", nargs="+", help="what you want, in plain words")
    parser.add_argument("--classify", action="store_true", help="print the parse as JSON and do nothing")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    parsed = intents.parse(" ".join(args.sentence))
    if args.classify:
        print(json.dumps(parsed.slots()))
        return 0
    if parsed.intent == intents.UNKNOWN:
        print(ASK_BACK)
        return 1
    try:
        settings = OpsSettings.from_env()
    except OpsConfigError as exc:
        print(f"llm_ops.chat: {exc}", file=sys.stderr)
        return 2
    with GatewayClient.from_settings(settings) as client:
        try:
            result = act(parsed, client)
        except AdminTokenMissing as exc:
            print(f"llm_ops.chat: {parsed.intent} {exc}", file=sys.stderr)
            return 1
        except GatewayCallError as exc:
            print(f"llm_ops.chat: {exc}", file=sys.stderr)
            return 1
    print(json.dumps({**parsed.slots(), "result": result}, indent=2) if args.json else render(parsed, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
