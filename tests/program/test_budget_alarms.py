"""BudgetAlarms as the committed stacks create them: thresholds, statistics, dimensions, actions."""

from __future__ import annotations

from decimal import Decimal

from llm_shared import cloudwatch_contract as mc
from tests.program.harness import PROJECT, ProgramRun, stack_config

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COST_ALARMS = {
    "daily-cost-warning": ("dailyBudgetUsd", "warningThresholdPercent", mc.DAILY_COST),
    "daily-cost-critical": ("dailyBudgetUsd", "criticalThresholdPercent", mc.DAILY_COST),
    "monthly-cost-warning": ("monthlyBudgetUsd", "warningThresholdPercent", mc.MONTHLY_COST),
    "monthly-cost-critical": ("monthlyBudgetUsd", "criticalThresholdPercent", mc.MONTHLY_COST),
}


def alarm(run: ProgramRun, key: str) -> dict:
    return run.one(ALARM, f"budget-alarms-{key}").inputs


def push_interval_seconds(stack: str) -> int:
    """Read independently of the program: the stack's schedule is a rate(N unit) expression."""
    value, unit = stack_config(stack)[f"{PROJECT}:trackerSchedule"][len("rate("):-1].split()
    return int(value) * {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600}[unit]


def topic_arn(run: ProgramRun) -> str:
    return run.outputs["alertTopicArn"]


def test_thresholds_are_budget_times_threshold_for_each_committed_stack(run):
    config = stack_config(run.stack)
    for key, (budget_key, percent_key, metric) in COST_ALARMS.items():
        budget, percent = config[f"{PROJECT}:{budget_key}"], config[f"{PROJECT}:{percent_key}"]
        expected = Decimal(budget) * Decimal(percent) / 100
        inputs = alarm(run, key)
        assert inputs["threshold"] == float(expected), key
        assert inputs["metricName"] == metric
        assert inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_the_two_stacks_alarm_at_different_amounts(program_runs):
    staging = alarm(program_runs["staging"], "daily-cost-critical")["threshold"]
    prod = alarm(program_runs["prod"], "daily-cost-critical")["threshold"]
    assert prod == 50.0 and staging < prod


def test_cost_alarms_read_the_gauge_with_maximum_over_one_push_interval(run):
    period = push_interval_seconds(run.stack)
    for key in [*COST_ALARMS, "monthly-forecast"]:
        inputs = alarm(run, key)
        assert inputs["statistic"] == "Maximum", key
        assert inputs["period"] == period, key
        assert inputs["treatMissingData"] == "ignore", key
        assert inputs["namespace"] == stack_config(run.stack)[f"{PROJECT}:metricNamespace"]


def test_dimensions_are_exactly_what_the_tracker_pushes(run):
    """CloudWatch matches dimension sets exactly (moto does not): compare with the shared contract."""
    expected = {d["Name"]: d["Value"] for d in mc.stack_dimensions(run.stack)}
    cost_alarms = [a for a in run.of_type(ALARM) if a.inputs.get("metricName") in mc.ALARMED_METRICS]
    assert len(cost_alarms) == 6  # four budget alarms, the forecast and the heartbeat
    for a in cost_alarms:
        assert a.inputs["dimensions"] == expected, a.name
        assert tuple(a.inputs["dimensions"]) == mc.ALARM_DIMENSIONS


def test_every_alarm_notifies_the_topic_on_alarm_and_on_ok(run):
    alarms = run.of_type(ALARM)
    assert len(alarms) == 7
    for a in alarms:
        assert a.inputs["alarmActions"] == [topic_arn(run)], a.name
        assert a.inputs["okActions"] == [topic_arn(run)], a.name
        assert a.inputs["actionsEnabled"] is True
        assert a.inputs["name"].startswith(f"llm-cost-governance-{run.stack}-")
        assert a.inputs["alarmDescription"]


def test_forecast_alarm_fires_above_the_monthly_budget_after_three_pushes(run):
    inputs = alarm(run, "monthly-forecast")
    assert inputs["metricName"] == mc.FORECAST_MONTHLY_COST
    assert inputs["threshold"] == float(stack_config(run.stack)[f"{PROJECT}:monthlyBudgetUsd"])
    assert inputs["comparisonOperator"] == "GreaterThanThreshold"
    assert inputs["evaluationPeriods"] == inputs["datapointsToAlarm"] == 3


def test_heartbeat_alarm_fires_only_when_two_pushes_are_missing(run):
    inputs = alarm(run, "tracker-heartbeat")
    assert inputs["metricName"] == mc.HEARTBEAT_METRIC
    assert inputs["treatMissingData"] == "breaching"
    assert inputs["evaluationPeriods"] == inputs["datapointsToAlarm"] == 2
    assert inputs["period"] == push_interval_seconds(run.stack)
    # A pushed cost is >= 0, so the condition never holds on real data: only missing data breaches.
    assert inputs["comparisonOperator"] == "LessThanThreshold" and inputs["threshold"] == 0


def test_errors_alarm_watches_the_tracker_function(run):
    inputs = alarm(run, "tracker-errors")
    assert (inputs["namespace"], inputs["metricName"], inputs["statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    assert inputs["dimensions"] == {"FunctionName": run.outputs["costTrackerFunctionName"]}
    assert inputs["threshold"] == 1 and inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert inputs["treatMissingData"] == "notBreaching"


def test_alarm_names_output_lists_every_alarm(run):
    names = run.outputs["alarmNames"]
    assert sorted(names.values()) == sorted(a.inputs["name"] for a in run.of_type(ALARM))
