"""The Lambda's environment matches what the handler reads and what the alarms expect.

Regression: the tracker stamps datapoints at the start of METRIC_PERIOD_SECONDS (default 3600)
periods, while staging's alarms use 900 s; without the variable, every cost alarm saw no data after
the first quarter of each hour (found by `make demo`).
"""

from __future__ import annotations

from cost_tracker import env_names
from cost_tracker.config import load_tracker_config

from .harness import ProgramRun, reveal


def _lambda_env(run: ProgramRun) -> dict[str, str]:
    function = run.of_type("aws:lambda/function:Function")
    tracker = [f for f in function if "cost-tracker" in f.name]
    assert len(tracker) == 1
    return {k: reveal(v) for k, v in tracker[0].inputs["environment"]["variables"].items()}


def test_metric_period_equals_every_cost_alarm_period(run: ProgramRun):
    env = _lambda_env(run)
    period = int(env[env_names.METRIC_PERIOD_SECONDS])
    alarms = [a for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
              if a.inputs.get("namespace") == env[env_names.METRIC_NAMESPACE]]
    assert alarms
    assert {int(a.inputs["period"]) for a in alarms} == {period}


def test_the_handler_accepts_the_environment_the_program_gives_it(run: ProgramRun):
    env = _lambda_env(run)
    assert set(env_names.REQUIRED) <= set(env)
    settings = load_tracker_config(env)
    assert settings.stack == run.stack
    assert settings.metric_period_seconds == int(env[env_names.METRIC_PERIOD_SECONDS])
