"""BudgetAlarms: warning and critical alarms on daily and monthly spend, plus forecast and health.

The tracker pushes cost-to-date gauges once per push interval, so every cost alarm uses the
Maximum statistic (a retried push must not double the value), a period equal to the push
interval, and ignores missing data (a silent tracker is the heartbeat alarm's job, not theirs).
Names, namespace and dimensions come from llm_shared.cloudwatch_contract, the tracker's own contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pulumi
import pulumi_aws as aws

from components.naming import CostTaggedComponent, stack_prefix
from components.settings import Settings
from llm_shared import cloudwatch_contract as mc

# A forecast extrapolates month-to-date spend; early in the month one busy hour swings it wildly,
# so it must breach on this many consecutive pushes before it alarms.
FORECAST_EVALUATION_PERIODS = 3
HEARTBEAT_MISSED_PERIODS = 2


@dataclass
class BudgetAlarmsArgs:
    settings: Settings
    topic_arn: pulumi.Input[str]
    function_name: pulumi.Input[str]


def alarm_dimensions(stack: str) -> dict[str, str]:
    """The exact dimension set the tracker pushes the headline gauges with."""
    return {d["Name"]: d["Value"] for d in mc.stack_dimensions(stack)}


def threshold_usd(budget_usd: Decimal, percent: Decimal) -> float:
    """budget × percent / 100, exact until the float CloudWatch takes."""
    return float(budget_usd * percent / 100)


class BudgetAlarms(CostTaggedComponent):
    alarm_names: dict[str, pulumi.Output[str]]
    alarm_arns: dict[str, pulumi.Output[str]]
    descriptions: dict[str, str]

    def __init__(self, name: str, args: BudgetAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("BudgetAlarms", name, opts)
        s = args.settings
        self._name, self._args = name, args
        self._prefix = stack_prefix()
        self.alarm_names, self.alarm_arns, self.descriptions = {}, {}, {}
        cost = {
            "namespace": s.namespace,
            "dimensions": alarm_dimensions(s.stack),
            "statistic": "Maximum",
            "period": s.tracker.period_seconds,
            "treat_missing_data": "ignore",
        }
        for period, metric, budget in (("daily", mc.DAILY_COST, s.daily_budget_usd),
                                       ("monthly", mc.MONTHLY_COST, s.monthly_budget_usd)):
            for level, percent in (("warning", s.thresholds.warning), ("critical", s.thresholds.critical)):
                limit = threshold_usd(budget, percent)
                self._alarm(
                    f"{period}-cost-{level}",
                    f"{period.capitalize()} LLM spend reached {percent}% of the {budget} USD budget "
                    f"({limit:g} USD). Check the dashboard's cost by model; lower serverlessRatio or "
                    f"stop the heaviest client if it keeps climbing.",
                    metric_name=metric, threshold=limit, comparison_operator="GreaterThanOrEqualToThreshold",
                    evaluation_periods=1, datapoints_to_alarm=1, **cost,
                )
        self._alarm(
            "monthly-forecast",
            f"Month-end spend forecast is above the {s.monthly_budget_usd} USD monthly budget for "
            f"{FORECAST_EVALUATION_PERIODS} pushes in a row. Act before it is spent: review the "
            "routing ratio and the biggest models.",
            metric_name=mc.FORECAST_MONTHLY_COST, threshold=float(s.monthly_budget_usd),
            comparison_operator="GreaterThanThreshold", evaluation_periods=FORECAST_EVALUATION_PERIODS,
            datapoints_to_alarm=FORECAST_EVALUATION_PERIODS, **cost,
        )
        # Cost is never negative, so "Maximum < 0" is never true on real data: the alarm fires
        # only through missing data, i.e. when the tracker stopped pushing.
        self._alarm(
            "tracker-heartbeat",
            f"The cost tracker has not pushed {mc.HEARTBEAT_METRIC} for {HEARTBEAT_MISSED_PERIODS} "
            "periods: spend is unwatched. Check the function's Errors alarm and its log group.",
            metric_name=mc.HEARTBEAT_METRIC, threshold=0.0, comparison_operator="LessThanThreshold",
            evaluation_periods=HEARTBEAT_MISSED_PERIODS, datapoints_to_alarm=HEARTBEAT_MISSED_PERIODS,
            **{**cost, "treat_missing_data": "breaching"},
        )
        self._alarm(
            "tracker-errors",
            "The cost tracker function failed (error or timeout). Read its log group; failed runs "
            "also arrive on this topic after Lambda's retries.",
            namespace="AWS/Lambda", metric_name="Errors", dimensions={"FunctionName": args.function_name},
            statistic="Sum", period=s.tracker.period_seconds, threshold=1.0,
            comparison_operator="GreaterThanOrEqualToThreshold", evaluation_periods=1, datapoints_to_alarm=1,
            treat_missing_data="notBreaching",
        )
        self.register_outputs({"alarm_names": self.alarm_names})

    def _alarm(self, key: str, description: str, **props: Any) -> None:
        """One alarm on the topic; `props` are MetricAlarm's own keyword arguments."""
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{key}",
            name=f"{self._prefix}-{key}",
            alarm_description=description,
            actions_enabled=True,
            alarm_actions=[self._args.topic_arn],
            ok_actions=[self._args.topic_arn],
            opts=pulumi.ResourceOptions(parent=self),
            **props,
        )
        self.alarm_names[key] = alarm.name
        self.alarm_arns[key] = alarm.arn
        self.descriptions[key] = description
