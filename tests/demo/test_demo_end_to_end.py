"""`python -m demo` end to end: the same command `make demo` runs, in a subprocess, bounded in time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "functions")])}
    done = subprocess.run([sys.executable, "-m", "demo", "--out", str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, done.stdout, json.loads((out / "report.json").read_text())


def test_workload_served_then_one_budget_breach(demo_run):
    _, _, report = demo_run
    work = report["workload"]
    assert work["ok"] > 40 and work["streamed"] >= 5
    assert work["refused_budget_exceeded"] == 1 and work["errors"] == []
    assert set(work["by_backend"]) == {"serverless", "gpu"}
    assert work["by_backend"]["serverless"] > work["by_backend"]["gpu"]
    assert len(work["by_model"]) == 3
    # Every served request reached the ledger, and nothing refused did.
    assert report["usage_totals"]["requests"] == work["ok"]


def test_tracker_pushed_the_headline_gauges_with_exactly_the_stack_dimension(demo_run):
    _, _, report = demo_run
    headline = {m["metric"]: m for m in report["metrics_pushed"] if m["dimensions"] == {"Stack": "staging"}}
    assert {"DailyCost", "MonthlyCost", "ForecastMonthlyCost"} <= set(headline)
    spent = Decimal(report["budget"]["day"]["spent_usd"])
    assert headline["DailyCost"]["value"] == pytest.approx(float(spent))
    assert Decimal(report["budget"]["month"]["spent_usd"]) >= spent > 0


def test_alarms_are_evaluated_against_what_was_pushed(demo_run):
    _, _, report = demo_run
    alarms = {a["name"].removeprefix("llm-cost-governance-staging-"): a for a in report["alarms"]}
    assert {"daily-cost-warning", "daily-cost-critical", "monthly-cost-warning", "monthly-cost-critical",
            "monthly-forecast", "tracker-heartbeat", "tracker-errors"} <= set(alarms)
    day_pct = Decimal(report["budget"]["day"]["percent_used"])
    expected = "ALARM" if day_pct >= 80 else "OK"
    assert alarms["daily-cost-warning"]["state"] == expected
    assert alarms["monthly-cost-critical"]["state"] == "OK"
    assert alarms["tracker-heartbeat"]["state"] == "OK"  # it just reported


def test_outputs_report_chart_and_no_process_left(demo_run):
    out, stdout, report = demo_run
    assert "== demo report: stack staging ==" in stdout
    assert (out / "spend.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the 7 budget alarms and the usage export's Errors alarm (the demo enables the export)
    assert report["aws_resources"]["created"]["aws:cloudwatch/metricAlarm:MetricAlarm"] == 8
    assert report["processes"], "the demo should report the processes it started"
    for pid in report["processes"]:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_demo_ends_with_an_mcp_tool_result_and_a_plain_language_answer(demo_run):
    _, stdout, report = demo_run
    tail = stdout[stdout.index("Operator tools against the same gateway:"):]
    budget = json.loads(next(line for line in tail.splitlines() if line.startswith('  {"status"')))
    assert budget["status"] == budget["day"]["status"] == "exceeded"  # the workload ends in a breach
    assert Decimal(budget["day"]["spent_usd"]) == Decimal(report["usage_totals"]["cost_usd"])
    assert '"intent": "check_costs"' in tail
    assert f"Today: ${budget['day']['spent_usd']} over {report['usage_totals']['requests']} requests" in tail


def test_the_export_reached_the_emulated_snowflake_view_and_matches_the_gateway(demo_run):
    _, stdout, report = demo_run
    insights, totals = report["insights"], report["usage_totals"]
    assert insights["export"]["records"] == totals["requests"] and insights["loaded_files"] >= 1
    rows = insights["lambda_usage_stats"]
    assert sum(int(Decimal(str(r["cost_pico"]))) for r in rows) == totals["cost_pico"]
    assert sum(int(Decimal(str(r["requests"]))) for r in rows) == totals["requests"]
    assert "AI_INSIGHTS.LAMBDA_USAGE_STATS:" in stdout
