"""CostDashboard: spend against budget lines, cost by model, backend and client key, forecast,
tracker health.

One screen an engineer opens when an alarm mails them: is it real, which model, is it still
climbing, and is the tracker itself healthy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.budget_alarms import threshold_usd
from components.naming import CostTaggedComponent, stack_prefix
from components.settings import Settings
from llm_shared import cloudwatch_contract as mc


@dataclass
class CostDashboardArgs:
    settings: Settings
    function_name: pulumi.Input[str]
    alarm_arns: Sequence[pulumi.Input[str]]


def dashboard_url(region: str, name: str) -> str:
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards:name={name}"


def _budget_lines(budget: Any, settings: Settings) -> list[dict[str, Any]]:
    warning = settings.thresholds.warning
    return [
        {"label": f"warning {warning}%", "value": threshold_usd(budget, warning), "color": "#ff7f0e"},
        {"label": f"budget {budget} USD", "value": float(budget), "color": "#d62728"},
    ]


def _search(settings: Settings, metric: str, period: int) -> list[list[dict[str, str]]]:
    """A SEARCH over a breakdown metric (one line per model/backend/key), this stack only: keys
added later show up without a dashboard change."""
    dims = ",".join(mc.BREAKDOWN_DIMENSIONS[metric])
    expression = (f"SEARCH('{{{settings.namespace},{dims}}} MetricName=\"{metric}\" "
                  f"{mc.STACK_DIMENSION}=\"{settings.stack}\"', 'Maximum', {period})")
    return [[{"expression": expression, "id": metric.lower()}]]


def _widget(settings: Settings, title: str, metrics: list[list[Any]], x: int, y: int, *,
            annotations: list[dict[str, Any]] | None = None, stat: str = "Maximum") -> dict[str, Any]:
    props: dict[str, Any] = {
        "title": title, "region": settings.region, "view": "timeSeries", "stat": stat,
        "period": settings.tracker.period_seconds, "metrics": metrics, "yAxis": {"left": {"min": 0}},
    }
    if annotations:
        props["annotations"] = {"horizontal": annotations}
    return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": props}


def dashboard_body(settings: Settings, function_name: str, alarm_arns: Sequence[str]) -> dict[str, Any]:
    """The dashboard JSON (CloudWatch dashboard body structure)."""
    s = settings
    ns, stack_dim, period = s.namespace, [mc.STACK_DIMENSION, s.stack], s.tracker.period_seconds
    intro = (f"## LLM cost governance: {s.stack}\nDaily budget **{s.daily_budget_usd} USD**, monthly "
             f"**{s.monthly_budget_usd} USD**, warning at {s.thresholds.warning}%, critical at "
             f"{s.thresholds.critical}%. Budget periods in {s.time_zone}.")
    fn = ["AWS/Lambda", "FunctionName", function_name]

    def lam(metric: str, stat: str, **extra: str) -> list[Any]:
        return [fn[0], metric, fn[1], fn[2], {"stat": stat, **extra}]

    return {
        "widgets": [
            {"type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": {"markdown": intro}},
            _widget(s, "Daily cost to date (USD)", [[ns, mc.DAILY_COST, *stack_dim, {"label": "daily cost"}]],
                    0, 2, annotations=_budget_lines(s.daily_budget_usd, s)),
            _widget(s, "Monthly cost to date and month-end forecast (USD)", [
                [ns, mc.MONTHLY_COST, *stack_dim, {"label": "month to date"}],
                [ns, mc.FORECAST_MONTHLY_COST, *stack_dim, {"label": "forecast"}],
            ], 12, 2, annotations=_budget_lines(s.monthly_budget_usd, s)),
            _widget(s, "Daily cost by model (USD)", _search(s, mc.MODEL_DAILY_COST, period), 0, 8),
            _widget(s, "Daily cost by backend (USD)", _search(s, mc.BACKEND_DAILY_COST, period), 12, 8),
            _widget(s, "Budget used (%)", [
                [ns, mc.DAILY_BUDGET_USED, *stack_dim, {"label": "daily"}],
                [ns, mc.MONTHLY_BUDGET_USED, *stack_dim, {"label": "monthly"}],
            ], 0, 14, annotations=[{"label": "critical", "value": float(s.thresholds.critical)}]),
            _widget(s, "Cost tracker health", [
                lam("Invocations", "Sum"), lam("Errors", "Sum"), lam("Throttles", "Sum"),
                lam("Duration", "Maximum", yAxis="right"),
            ], 12, 14, stat="Sum"),
            _widget(s, "Daily cost by client key (USD, catalog prices on both backends)",
                    _search(s, mc.KEY_DAILY_COST, period), 0, 20),
            {"type": "alarm", "x": 0, "y": 26, "width": 24, "height": 3,
             "properties": {"title": "Alarms", "alarms": sorted(alarm_arns)}},
        ]
    }


class CostDashboard(CostTaggedComponent):
    dashboard_name: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: CostDashboardArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("CostDashboard", name, opts)
        s = args.settings
        dashboard_name = stack_prefix()
        body = pulumi.Output.all(args.function_name, *args.alarm_arns).apply(
            lambda v: json.dumps(dashboard_body(s, v[0], v[1:]), sort_keys=True)
        )
        dashboard = aws.cloudwatch.Dashboard(name, dashboard_name=dashboard_name, dashboard_body=body,
                                             opts=pulumi.ResourceOptions(parent=self))
        self.dashboard_name = dashboard.dashboard_name
        self.url = dashboard.dashboard_name.apply(lambda n: dashboard_url(s.region, n))
        self.register_outputs({"dashboard_name": self.dashboard_name, "url": self.url})
