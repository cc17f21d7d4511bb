"""The demo's report: what ran, what it cost, what was pushed, and which alarms would fire now."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from demo.alarm_eval import evaluate_alarm
from demo.aws_emulator import Created
from demo.workload import WorkloadResult


def _latest(cloudwatch: Any, namespace: str, metric: dict[str, Any], now: datetime) -> float | None:
    points = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName=metric["MetricName"], Dimensions=metric.get("Dimensions", []),
        StartTime=now - timedelta(days=1), EndTime=now + timedelta(minutes=1), Period=86400,
        Statistics=["Maximum"])["Datapoints"]
    return max((p["Maximum"] for p in points), default=None)


def build(*, stack: str, settings: Any, outputs: dict[str, Any], workload: WorkloadResult,
          usage: dict[str, Any], tracker: dict[str, Any], cloudwatch: Any, created: list[Created],
          now: datetime, processes: list[int]) -> dict[str, Any]:
    metrics = [
        {"metric": m["MetricName"], "dimensions": {d["Name"]: d["Value"] for d in m.get("Dimensions", [])},
         "value": _latest(cloudwatch, settings.namespace, m, now)}
        for m in cloudwatch.list_metrics(Namespace=settings.namespace)["Metrics"]
    ]
    metrics.sort(key=lambda m: (m["metric"], sorted(m["dimensions"].items())))
    alarms = [evaluate_alarm(cloudwatch, alarm, now)
              for alarm in cloudwatch.describe_alarms()["MetricAlarms"]]
    return {
        "stack": stack,
        "generated_at": now.isoformat(),
        "workload": {"sent": workload.sent, "ok": workload.ok, "streamed": workload.streamed,
                     "refused_budget_exceeded": workload.refused_budget,
                     "breach_after_requests": workload.breach_after, "errors": workload.errors,
                     "by_backend": dict(workload.by_backend), "by_model": dict(workload.by_model)},
        "usage": [{"backend": r["backend"], "model": r["model"], "requests": r["requests"],
                   "tokens": r["prompt_tokens"] + r["completion_tokens"], "cost_usd": r["cost_usd"]}
                  for r in usage["breakdown"]],
        "usage_totals": usage["totals"],
        "budget": {"day": tracker["day"], "month": tracker["month"], "forecast": tracker["forecast"],
                   "status": tracker["status"]},
        "metrics_pushed": metrics,
        "tracker": {"datums": tracker["metrics"]["datums"], "calls": tracker["metrics"]["calls"]},
        "alarms": [{"name": a.alarm, "state": a.state, "latest": a.latest, "threshold": a.threshold,
                    "reason": a.reason} for a in sorted(alarms, key=lambda a: a.alarm)],
        "aws_resources": {
            "created": dict(Counter(c.type for c in created if c.emulated)),
            "components": sorted({c.type for c in created if not c.emulated and ":index:" in c.type}),
            "not_aws": sorted({c.type for c in created if not c.emulated and ":index:" not in c.type}),
        },
        "processes": processes,
        "outputs": {k: v for k, v in outputs.items() if k != "readme"},
    }


def render_text(report: dict[str, Any]) -> str:
    lines = [f"\n== demo report: stack {report['stack']} =="]
    w = report["workload"]
    lines.append(f"requests: {w['sent']} sent, {w['ok']} served ({w['streamed']} streamed), "
                 f"{w['refused_budget_exceeded']} refused with budget_exceeded"
                 + (f" after {w['breach_after_requests']} served" if w["breach_after_requests"] else ""))
    lines.append("\nspend by backend and model (this month, from the gateway ledger):")
    for row in report["usage"]:
        lines.append(f"  {row['backend']:<10} {row['model']:<42} {row['requests']:>5} req "
                     f"{row['tokens']:>8} tok  ${Decimal(row['cost_usd']):.6f}")
    lines.append(f"  {'total':<53} {report['usage_totals']['requests']:>5} req "
                 f"{'':>8}      ${Decimal(report['usage_totals']['cost_usd']):.6f}")
    b = report["budget"]
    lines.append("\nbudget:")
    for period in ("day", "month"):
        p = b[period]
        lines.append(f"  {period:<6} ${Decimal(p['spent_usd']):.6f} of ${Decimal(p['budget_usd'])} "
                     f"({p['percent_used']}%) -> {p['status']}")
    forecast = b["forecast"]
    lines.append(f"  forecast month-end ${Decimal(forecast['monthly_usd']):.6f} -> {forecast['status']}")
    lines.append(f"\nmetrics pushed ({report['tracker']['datums']} datums in {report['tracker']['calls']} "
                 "PutMetricData call(s)):")
    for m in report["metrics_pushed"]:
        dims = ", ".join(f"{k}={v}" for k, v in m["dimensions"].items())
        value = "-" if m["value"] is None else f"{m['value']:.6f}"
        lines.append(f"  {m['metric']:<26} [{dims}] {value}")
    lines.append("\nalarms (evaluated from the pushed metrics with each alarm's statistic and threshold):")
    for a in report["alarms"]:
        lines.append(f"  {a['state']:<17} {a['name']}  ({a['reason']})")
    res = report["aws_resources"]
    lines.append(f"\nAWS resources created in the local endpoint: {sum(res['created'].values())} "
                 f"({len(res['created'])} types) by {len(res['components'])} components; "
                 f"not AWS (skipped): {', '.join(res['not_aws']) or 'none'}")
    return "\n".join(lines)


def chart(report: dict[str, Any], path: Path) -> None:
    """Spend against the budget lines for the day and the month (and the month-end forecast)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b = report["budget"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, period in zip(axes, ("day", "month"), strict=True):
        budget = float(b[period]["budget_usd"])
        spent = float(b[period]["spent_usd"])
        bars = {"spent": spent}
        if period == "month":
            bars["forecast"] = float(b["forecast"]["monthly_usd"])
        ax.bar(list(bars), list(bars.values()), color=["#4C72B0", "#DD8452"][: len(bars)])
        ax.axhline(budget * 0.8, color="orange", linestyle="--", label="80% warning")
        ax.axhline(budget, color="red", linestyle="-", label="100% budget")
        ax.set_title(rf"{period}: \${spent:.4f} of \${budget:.4f} ({b[period]['percent_used']}%)")
        ax.set_ylabel("USD")
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(f"LLM spend vs budget — stack {report['stack']} (local demo)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
