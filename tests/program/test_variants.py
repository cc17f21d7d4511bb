"""Config variants beyond the committed stacks: schedules, gateway elsewhere, list shorthand."""

from __future__ import annotations

import pytest

from components.settings import parse_settings
from tests.program.harness import ESC_STAND_IN, REGION, project_config, run_program

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.mark.parametrize(("schedule", "period_key", "period"), [
    ("rate(5 minutes)", None, 300),
    ("cron(0 */2 * * ? *)", "7200", 7200),
])
def test_alarm_periods_follow_the_tracker_schedule(schedule, period_key, period):
    overrides = {"trackerSchedule": schedule, "alarmPeriodSeconds": period_key}
    run = run_program("staging", overrides)
    rule = run.one("aws:cloudwatch/eventRule:EventRule", "cost-tracker-schedule").inputs
    assert rule["scheduleExpression"] == schedule
    assert {a.inputs["period"] for a in run.of_type(ALARM)} == {period}
    target = run.one("aws:cloudwatch/eventTarget:EventTarget", "cost-tracker-target").inputs
    assert target["retryPolicy"]["maximumEventAgeInSeconds"] == period


def test_gateway_elsewhere_needs_neither_ssh_key_nor_client_tokens():
    secrets = {k: v for k, v in ESC_STAND_IN["staging"].items() if k in ("gatewayAdminToken", "lambdaApiKey")}
    run = run_program("staging", {"gatewayEnabled": "false"}, secrets=secrets)
    assert not [r for r in run.resources if r.typ.startswith("command:")]
    env = run.one("aws:lambda/function:Function", "cost-tracker").inputs["environment"]["variables"]
    assert env["GATEWAY_URL"] == project_config("staging")["gatewayUrl"]


def test_a_single_email_given_as_a_plain_string_is_accepted():
    settings = parse_settings("prod", REGION, {**project_config("prod"), "alertEmails": "oncall@example.com"})
    assert settings.alert_emails == ("oncall@example.com",)


def test_without_emails_the_topic_still_exists_and_alarms_still_point_at_it():
    run = run_program("staging", {"alertEmails": None})
    assert not run.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert {a.inputs["alarmActions"][0] for a in run.of_type(ALARM)} == {run.outputs["alertTopicArn"]}
