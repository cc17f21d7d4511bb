"""CostDashboard content and the stack outputs an ops engineer reads in the console."""

from __future__ import annotations

import json

from llm_shared import cloudwatch_contract as mc
from tests.program.harness import ProgramRun, project_config


def body(run: ProgramRun) -> dict:
    return json.loads(run.one("aws:cloudwatch/dashboard:Dashboard", "dashboard").inputs["dashboardBody"])


def metric_lines(run: ProgramRun) -> list[list]:
    widgets = [w for w in body(run)["widgets"] if w["type"] == "metric"]
    return [line for w in widgets for line in w["properties"]["metrics"]]


def test_cost_widgets_read_the_alarmed_metrics_with_the_stack_dimension(run):
    namespace = project_config(run.stack)["metricNamespace"]
    lines = {line[1]: line for line in metric_lines(run) if line[0] == namespace}
    for metric in (mc.DAILY_COST, mc.MONTHLY_COST, mc.FORECAST_MONTHLY_COST):
        assert lines[metric][2:4] == [mc.STACK_DIMENSION, run.stack]


def test_budget_lines_match_the_stack_budgets(run):
    config = project_config(run.stack)
    widgets = {w["properties"].get("title"): w["properties"] for w in body(run)["widgets"]}
    daily = {a["label"]: a["value"] for a in widgets["Daily cost to date (USD)"]["annotations"]["horizontal"]}
    assert daily[f"budget {config['dailyBudgetUsd']} USD"] == float(config["dailyBudgetUsd"])
    warning = float(config["dailyBudgetUsd"]) * float(config["warningThresholdPercent"]) / 100
    assert daily[f"warning {config['warningThresholdPercent']}%"] == warning
    monthly = widgets["Monthly cost to date and month-end forecast (USD)"]["annotations"]["horizontal"]
    assert float(config["monthlyBudgetUsd"]) in [a["value"] for a in monthly]


def test_breakdowns_search_this_stack_with_the_tracker_dimension_sets(run):
    expressions = [line[0]["expression"] for line in metric_lines(run) if isinstance(line[0], dict)]
    assert len(expressions) == 3
    metrics = (mc.MODEL_DAILY_COST, mc.BACKEND_DAILY_COST, mc.KEY_DAILY_COST)  # spend by key: issue 15
    for metric, expression in zip(metrics, expressions, strict=True):
        assert ",".join(mc.BREAKDOWN_DIMENSIONS[metric]) in expression
        assert f'MetricName="{metric}"' in expression and f'Stack="{run.stack}"' in expression


def test_tracker_health_and_every_alarm_are_on_the_dashboard(run):
    function = run.outputs["costTrackerFunctionName"]
    health = [line for line in metric_lines(run) if line[0] == "AWS/Lambda"]
    assert {line[1] for line in health} == {"Invocations", "Errors", "Throttles", "Duration"}
    assert {line[3] for line in health} == {function}
    [alarm_widget] = [w for w in body(run)["widgets"] if w["type"] == "alarm"]
    names = run.outputs["alarmNames"].values()
    alarm_arns = {f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{n}" for n in names}
    assert set(alarm_widget["properties"]["alarms"]) == alarm_arns


def test_widgets_do_not_overlap_on_the_24_column_grid(run):
    cells = set()
    for widget in body(run)["widgets"]:
        assert widget["x"] + widget["width"] <= 24
        for x in range(widget["x"], widget["x"] + widget["width"]):
            for y in range(widget["y"], widget["y"] + widget["height"]):
                assert (x, y) not in cells, widget
                cells.add((x, y))


def test_outputs_give_ops_what_they_need(run):
    out = run.outputs
    prefix = f"llm-cost-governance-{run.stack}"
    assert out["alertTopicArn"] == f"arn:aws:sns:us-east-1:123456789012:{prefix}-alerts"
    assert out["costTrackerFunctionName"] == f"llm-cost-governance-{run.stack}-cost-tracker"
    assert out["dashboardUrl"] == ("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
                                   f"#dashboards:name=llm-cost-governance-{run.stack}")
    assert out["gatewayUrl"] == project_config(run.stack)["gatewayUrl"]
    assert len(out["alarmNames"]) == 7


def test_readme_lists_every_output_and_alarm_with_what_to_do(run):
    readme = run.outputs["readme"]
    assert readme.startswith(f"# LLM cost governance: `{run.stack}`")
    out = run.outputs
    for value in (out["alertTopicArn"], out["costTrackerFunctionName"], out["dashboardUrl"],
                  out["gatewayUrl"], *out["alarmNames"].values()):
        assert value in readme
    alarm_rows = [line for line in readme.splitlines() if line.startswith("| `llm-cost-governance-")]
    assert len(alarm_rows) == 7 and all(len(row) > 80 for row in alarm_rows)
