"""integration.yml's inventory check counts real resources in an AWS endpoint and judges them.

Run against moto's in-process backend (the CI job points the same code at the moto server).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

SCRIPT = Path(__file__).resolve().parents[2] / ".github" / "scripts" / "moto_inventory.py"
spec = importlib.util.spec_from_file_location("moto_inventory", SCRIPT)
inventory = importlib.util.module_from_spec(spec)
spec.loader.exec_module(inventory)

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        yield


def _create_one_of_each(alarms: int) -> None:
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    for i in range(alarms):
        cloudwatch.put_metric_alarm(AlarmName=f"a{i}", MetricName="DailyCost", Namespace="LLMCostGovernance",
                                    Statistic="Maximum", Period=3600, EvaluationPeriods=1, Threshold=1.0,
                                    ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[topic],
                                    Dimensions=[{"Name": "Stack", "Value": "staging"}])
    cloudwatch.put_dashboard(DashboardName="cost", DashboardBody=json.dumps({"widgets": []}))
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="tracker", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="tracker", Runtime="python3.12", Role=role["Role"]["Arn"], Handler="h.h",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})
    secrets = boto3.client("secretsmanager", region_name=REGION)
    for name in ("gateway-token", "lambda-api-key"):
        secrets.create_secret(Name=name, SecretString="x")
    boto3.client("events", region_name=REGION).put_rule(Name="hourly", ScheduleExpression="rate(1 hour)")
    boto3.client("logs", region_name=REGION).create_log_group(logGroupName="/aws/lambda/tracker")


def test_empty_endpoint_passes_destroyed_and_fails_created(aws):
    counts = inventory.inventory(None, REGION)
    assert set(counts.values()) == {0}
    assert inventory.problems(counts, "destroyed") == []
    assert len(inventory.problems(counts, "created")) == len(inventory.CREATED_AT_LEAST)


def test_full_stack_passes_created_and_fails_destroyed(aws):
    _create_one_of_each(alarms=7)
    counts = inventory.inventory(None, REGION)
    assert counts["metric_alarms"] == 7 and counts["secrets"] == 2 and counts["lambda_functions"] == 1
    assert inventory.problems(counts, "created") == []
    left = inventory.problems(counts, "destroyed")
    assert "metric_alarms: 7 left after destroy" in left and len(left) == len(counts)


def test_missing_alarms_are_named(aws):
    _create_one_of_each(alarms=5)
    assert inventory.problems(inventory.inventory(None, REGION), "created") == [
        "metric_alarms: 5 found, expected at least 7"]


def test_main_exit_code_follows_the_check(aws, capsys, monkeypatch):
    monkeypatch.setattr(inventory, "inventory", lambda url, region: {"sns_topics": 1})
    assert inventory.main(["--endpoint-url", "http://127.0.0.1:1", "--expect", "destroyed"]) == 1
    assert "sns_topics: 1 left after destroy" in capsys.readouterr().err
