"""AlertTopic: CloudWatch may publish (this account only), encryption uses a key CloudWatch can use."""

from __future__ import annotations

import json

from tests.program.harness import ACCOUNT, PROJECT, REGION, ProgramRun, secret_values, stack_config

TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def topic(run: ProgramRun) -> dict:
    return run.one(TOPIC, "alerts").inputs


def test_topic_policy_lets_only_this_accounts_cloudwatch_alarms_publish(run):
    policy = json.loads(run.one("aws:sns/topicPolicy:TopicPolicy", "alerts-policy").inputs["policy"])
    topic_arn = run.outputs["alertTopicArn"]
    service = {"Service": "cloudwatch.amazonaws.com"}
    cloudwatch = [s for s in policy["Statement"] if s.get("Principal") == service]
    assert cloudwatch == [{
        "Sid": "AllowThisAccountsCloudWatchAlarms", "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish", "Resource": topic_arn,
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                      "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"}},
    }]
    for statement in policy["Statement"]:
        assert statement["Principal"] != "*" and statement["Principal"] != {"AWS": "*"}
        assert statement["Resource"] == topic_arn


def test_prod_topic_uses_a_customer_managed_key_that_cloudwatch_may_use(program_runs):
    run = program_runs["prod"]
    key = run.one("aws:kms/key:Key", "alerts-key").inputs
    assert key["enableKeyRotation"] is True
    assert topic(run)["kmsMasterKeyId"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/alerts-key-0000-1111"
    assert "alias/aws/sns" not in json.dumps(topic(run))
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    cloudwatch = statements["AllowThisAccountsCloudWatchAlarms"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}


def test_staging_topic_is_unencrypted_as_configured(program_runs):
    run = program_runs["staging"]
    assert stack_config("staging")[f"{PROJECT}:encryptAlertTopic"] == "false"
    assert run.of_type("aws:kms/key:Key") == []
    assert topic(run).get("kmsMasterKeyId") is None


def test_one_email_subscription_per_configured_address(run):
    emails = json.loads(stack_config(run.stack)[f"{PROJECT}:alertEmails"])
    subscriptions = [s.inputs for s in run.of_type(SUBSCRIPTION) if s.inputs["protocol"] == "email"]
    assert sorted(s["endpoint"] for s in subscriptions) == sorted(emails)
    assert {s["topic"] for s in subscriptions} == {run.outputs["alertTopicArn"]}


def test_slack_forwarder_exists_only_when_esc_has_a_webhook(program_runs):
    assert not [s for s in program_runs["staging"].of_type(SUBSCRIPTION) if s.inputs["protocol"] == "lambda"]
    run = program_runs["prod"]
    forwarder = run.one("aws:lambda/function:Function", "alerts-slack").inputs
    assert forwarder["handler"] == "slack_forwarder.handler.handler"
    webhook_arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:secrets-slack-webhook-Ab12Cd"
    assert forwarder["environment"]["variables"] == {"SLACK_WEBHOOK_SECRET_ARN": webhook_arn}
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{forwarder['name']}"
    subscription = run.one(SUBSCRIPTION, "alerts-slack").inputs
    assert subscription == {"topic": run.outputs["alertTopicArn"], "protocol": "lambda",
                            "endpoint": function_arn}
    permission = run.one("aws:lambda/permission:Permission", "alerts-slack-invoke").inputs
    assert permission["principal"] == "sns.amazonaws.com"
    assert permission["sourceArn"] == run.outputs["alertTopicArn"]
    policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", "alerts-slack-policy").inputs["policy"])
    reads = [s for s in policy["Statement"] if s["Action"] == ["secretsmanager:GetSecretValue"]]
    assert reads == [{"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                      "Resource": [webhook_arn]}]
    assert all(value not in repr(forwarder) for value in secret_values("prod"))
