"""The `readme` stack output: the Pulumi console renders it as the stack's README.

It tells the on-call engineer what this stack watches, what each alarm means, and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping

from components.settings import Settings


def render_readme(settings: Settings, *, topic_arn: str, function_name: str, dashboard_url: str,
                  alarms: Mapping[str, tuple[str, str]], forwarder_name: str | None) -> str:
    """Markdown; `alarms` maps a key to (alarm name, description) as the alarms were created."""
    s = settings
    g = s.gateway
    hosts = ", ".join(spec.host or "the launched host" for spec in g.hosts)
    where = f"deployed by this stack on {hosts}; ledger {s.ledger.kind}" if g.enabled else "managed elsewhere"
    lines = [
        f"# LLM cost governance: `{s.stack}`",
        "",
        f"Budgets: **{s.daily_budget_usd} USD/day**, **{s.monthly_budget_usd} USD/month** "
        f"(periods in {s.time_zone}); warning at {s.thresholds.warning} %, critical at "
        f"{s.thresholds.critical} %. Serverless share of routed requests: {s.serverless_ratio:g}.",
        "",
        "| What | Where |",
        "| --- | --- |",
        f"| Dashboard | [{dashboard_url}]({dashboard_url}) |",
        f"| Alert topic | `{topic_arn}` |",
        f"| Cost tracker function | `{function_name}` (schedule `{s.tracker.schedule}`) |",
        f"| Metrics | namespace `{s.namespace}`, dimension `Stack={s.stack}` |",
        f"| Gateway | {g.url} ({where}) |",
    ]
    if forwarder_name:
        lines.append(f"| Slack forwarder | `{forwarder_name}` |")
    lines += ["", "## Alarms", "", "| Alarm | Meaning and what to do |", "| --- | --- |"]
    lines += [f"| `{name}` | {description} |" for name, description in alarms.values()]
    lines += [
        "",
        "## Levers",
        "",
        "- Spend climbing: lower `serverlessRatio` only if the GPU host is already paid for; otherwise "
        "lower the daily budget so the gateway downgrades `auto` requests sooner.",
        "- Bad gateway release: set `gatewayImage` back to the previous tag and run `pulumi up`.",
        "- Rotate a secret: change it in the stack's ESC environment, then `pulumi up`.",
    ]
    return "\n".join(lines) + "\n"
