"""AlertTopic: where every alarm and tracker failure goes (email, and Slack when configured).

The topic policy lets this account's CloudWatch alarms publish. An encrypted topic uses a
customer-managed key whose policy allows CloudWatch: with the AWS-managed SNS key, alarm
notifications are dropped without any error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import policies
from components.lambda_parts import lambda_with_own_logs
from components.naming import CostTaggedComponent, stack_prefix
from components.packaging import build_slack_forwarder_zip
from slack_forwarder.handler import WEBHOOK_SECRET_ARN_ENV


@dataclass
class AlertTopicArgs:
    stack: str
    region: str
    account_id: pulumi.Input[str]
    emails: Sequence[str]
    encrypted: bool
    log_retention_days: int
    slack_webhook_secret_arn: pulumi.Input[str] | None = None


class AlertTopic(CostTaggedComponent):
    topic_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str] | None
    forwarder_name: pulumi.Output[str] | None

    def __init__(self, name: str, args: AlertTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("AlertTopic", name, opts)
        child = pulumi.ResourceOptions(parent=self)
        base = stack_prefix()

        self.key_arn = None
        key_id: pulumi.Input[str] | None = None
        if args.encrypted:
            key = aws.kms.Key(
                f"{name}-key",
                description=f"Encrypts the {base} alert topic; CloudWatch alarms may use it",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=pulumi.Output.from_input(args.account_id).apply(
                    lambda account: json.dumps(policies.topic_key_policy(account_id=account,
                                                                         region=args.region))
                ),
                opts=child,
            )
            aws.kms.Alias(f"{name}-key-alias", name=f"alias/{base}-alerts", target_key_id=key.key_id,
                          opts=child)
            self.key_arn = key.arn
            key_id = key.arn

        topic = aws.sns.Topic(
            name,
            name=f"{base}-alerts",
            display_name=f"LLM cost alerts ({args.stack})",
            kms_master_key_id=key_id,
            opts=child,
        )
        self.topic_arn = topic.arn
        aws.sns.TopicPolicy(
            f"{name}-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, args.account_id).apply(
                lambda v: json.dumps(policies.topic_policy(topic_arn=v[0], account_id=v[1],
                                                           region=args.region))
            ),
            opts=child,
        )
        for email in args.emails:
            # Named by a hash of the address so reordering the list does not churn subscriptions.
            digest = hashlib.sha256(email.lower().encode()).hexdigest()[:10]
            aws.sns.TopicSubscription(f"{name}-email-{digest}", topic=topic.arn, protocol="email",
                                      endpoint=email, opts=child)

        self.forwarder_name = None
        if args.slack_webhook_secret_arn is not None:
            self.forwarder_name = self._slack_forwarder(name, base, topic, args)

        self.register_outputs({"topic_arn": self.topic_arn, "forwarder_name": self.forwarder_name})

    def _slack_forwarder(self, name: str, base: str, topic: aws.sns.Topic,
                         args: AlertTopicArgs) -> pulumi.Output[str]:
        secret_arn = args.slack_webhook_secret_arn
        assert secret_arn is not None
        parts = lambda_with_own_logs(
            f"{name}-slack",
            function_name=f"{base}-slack-forwarder",
            parent=self,
            package=build_slack_forwarder_zip(),
            handler="slack_forwarder.handler.handler",
            description="posts alert-topic messages to Slack",
            retention_days=args.log_retention_days,
            policy=lambda log_arn: pulumi.Output.all(log_arn, secret_arn).apply(
                lambda v: policies.forwarder_policy(log_group_arn=v[0], webhook_secret_arn=v[1])
            ),
            environment={WEBHOOK_SECRET_ARN_ENV: secret_arn},
            timeout=15,
            memory_size=128,
        )
        permission = aws.lambda_.Permission(
            f"{name}-slack-invoke",
            action="lambda:InvokeFunction",
            function=parts.function.name,
            principal="sns.amazonaws.com",
            source_arn=topic.arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.sns.TopicSubscription(
            f"{name}-slack",
            topic=topic.arn,
            protocol="lambda",
            endpoint=parts.function.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
        return parts.function.name
