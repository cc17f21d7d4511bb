"""The demo's Pulumi mocks really create resources in a local moto server, and AWS checks inputs."""

from __future__ import annotations

import json

import boto3
import pulumi
import pulumi_aws as aws
import pytest
from moto.server import ThreadedMotoServer

from demo.aws_emulator import MotoBackedMocks


@pytest.fixture(scope="module")
def endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def client(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="demo", aws_secret_access_key="demo")


def run_program(mocks: MotoBackedMocks, program) -> dict:
    """Run `program` under the mocks and wait for every output it returns."""
    pulumi.runtime.set_mocks(mocks, project="demo", stack="test", preview=False)
    result: dict = {}

    @pulumi.runtime.test
    def body():
        outputs = program()
        return pulumi.Output.all(**outputs).apply(result.update)

    body()
    return result


def test_resources_land_in_moto_with_their_inputs(endpoint, tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "index.py").write_text("def handler(event, context):\n    return 1\n")
    mocks = MotoBackedMocks(endpoint)

    def program():
        topic = aws.sns.Topic("alerts", name="demo-alerts")
        role = aws.iam.Role("role", name="demo-role", assume_role_policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "lambda.amazonaws.com"}}]}))
        fn = aws.lambda_.Function("fn", name="demo-fn", role=role.arn, runtime="python3.12",
                                  handler="index.handler", code=pulumi.FileArchive(str(code)),
                                  environment={"variables": {"STACK_NAME": "test"}})
        alarm = aws.cloudwatch.MetricAlarm(
            "daily", name="demo-daily", metric_name="DailyCost", namespace="Demo", statistic="Maximum",
            period=3600, evaluation_periods=1, threshold=40,
            comparison_operator="GreaterThanOrEqualToThreshold", dimensions={"Stack": "test"},
            alarm_actions=[topic.arn], treat_missing_data="ignore")
        return {"topic": topic.arn, "fn": fn.arn, "alarm": alarm.arn}

    out = run_program(mocks, program)
    assert out["topic"].endswith(":demo-alerts")
    alarm = client(endpoint, "cloudwatch").describe_alarms(AlarmNames=["demo-daily"])["MetricAlarms"][0]
    assert alarm["AlarmActions"] == [out["topic"]]
    assert alarm["Dimensions"] == [{"Name": "Stack", "Value": "test"}]
    assert alarm["Statistic"] == "Maximum" and alarm["Threshold"] == 40
    fn = client(endpoint, "lambda").get_function(FunctionName="demo-fn")["Configuration"]
    assert fn["Environment"]["Variables"] == {"STACK_NAME": "test"}
    emulated = {c.type for c in mocks.created if c.emulated}
    assert emulated >= {"aws:sns/topic:Topic", "aws:lambda/function:Function"}


def _args(typ: str, name: str, inputs: dict) -> pulumi.runtime.MockResourceArgs:
    return pulumi.runtime.MockResourceArgs(typ=typ, name=name, inputs=inputs, provider="", resource_id="",
                                           custom=True)


def test_invalid_inputs_are_rejected_by_the_aws_api(endpoint):
    mocks = MotoBackedMocks(endpoint)
    bad_alarm = {"name": "demo-bad", "metricName": "DailyCost", "namespace": "Demo", "statistic": "Maximum",
                 "period": 3600.0, "evaluationPeriods": 0.0, "threshold": 1.0,
                 "comparisonOperator": "GreaterThanThreshold"}
    with pytest.raises(Exception, match="EvaluationPeriods"):
        mocks.new_resource(_args("aws:cloudwatch/metricAlarm:MetricAlarm", "bad", bad_alarm))
    assert mocks.created == []


def test_a_function_whose_role_does_not_exist_is_refused(endpoint, tmp_path):
    mocks = MotoBackedMocks(endpoint)
    (tmp_path / "index.py").write_text("def handler(e, c):\n    return 1\n")
    orphan = {"name": "demo-orphan", "role": "arn:aws:iam::123456789012:role/none", "runtime": "python3.12",
              "handler": "index.handler", "code": pulumi.FileArchive(str(tmp_path))}
    with pytest.raises(Exception, match=r"(?i)role"):
        mocks.new_resource(_args("aws:lambda/function:Function", "orphan", orphan))


def test_secret_inputs_reach_aws_unwrapped(endpoint):
    from pulumi.runtime import rpc

    mocks = MotoBackedMocks(endpoint)
    _, secret = mocks.new_resource(_args("aws:secretsmanager/secret:Secret", "tok", {"name": "demo-tok"}))
    wrapped = {rpc._special_sig_key: rpc._special_secret_sig, "value": "s3cr3t-value"}
    mocks.new_resource(_args("aws:secretsmanager/secretVersion:SecretVersion", "tok-v",
                             {"secretId": secret["arn"], "secretString": wrapped}))
    value = client(endpoint, "secretsmanager").get_secret_value(SecretId="demo-tok")["SecretString"]
    assert value == "s3cr3t-value"
