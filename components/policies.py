"""IAM and resource policy documents as plain dicts, built from resolved ARNs.

Why pure functions: the exact JSON is the security boundary, so tests compare it whole; the
components only wrap these in `Output.all(...).apply(...)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Policy = dict[str, Any]
VERSION = "2012-10-17"


def assume_role(service: str) -> Policy:
    """Trust policy letting one AWS service assume the role."""
    return {
        "Version": VERSION,
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def own_log_group_statement(log_group_arn: str) -> dict[str, Any]:
    """Write log streams of this function's own log group only (the group itself is ours to create)."""
    return {
        "Sid": "WriteOwnLogGroup",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [f"{log_group_arn}:*"],
    }


def read_secrets_statement(secret_arns: Sequence[str]) -> dict[str, Any]:
    return {
        "Sid": "ReadOwnSecrets",
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue"],
        "Resource": sorted(secret_arns),
    }


def tracker_policy(*, namespace: str, log_group_arn: str, secret_arns: Sequence[str], topic_arn: str,
                   topic_key_arn: str | None) -> Policy:
    """Least privilege for the cost tracker: its metrics, its secrets, its logs, its failure topic."""
    statements: list[dict[str, Any]] = [
        {
            # PutMetricData has no resource-level permissions: the namespace condition is the scope.
            "Sid": "PutCostMetricsInOwnNamespace",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": namespace}},
        },
        read_secrets_statement(secret_arns),
        own_log_group_statement(log_group_arn),
        {
            # The async invoke config's on-failure destination publishes with the function's role.
            "Sid": "PublishFailuresToAlertTopic",
            "Effect": "Allow",
            "Action": ["sns:Publish"],
            "Resource": [topic_arn],
        },
    ]
    if topic_key_arn:
        statements.append(encrypted_topic_statement(topic_key_arn))
    return {"Version": VERSION, "Statement": statements}


def encrypted_topic_statement(key_arn: str) -> dict[str, Any]:
    """Publishing to a KMS-encrypted topic needs a data key from the topic's key."""
    return {
        "Sid": "UseAlertTopicKey",
        "Effect": "Allow",
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": [key_arn],
    }


def forwarder_policy(*, log_group_arn: str, webhook_secret_arn: str) -> Policy:
    """The Slack forwarder reads one secret and writes its own logs; nothing else."""
    return {
        "Version": VERSION,
        "Statement": [read_secrets_statement([webhook_secret_arn]), own_log_group_statement(log_group_arn)],
    }


def prefix_statements(bucket_arn: str, prefix: str, object_actions: list[str],
                      sid: str) -> list[dict[str, Any]]:
    """List one prefix of a bucket and act on the objects under it; nothing else in the bucket."""
    return [
        {
            # ListBucket is a bucket action: the s3:prefix condition is what keeps it to the prefix.
            "Sid": f"List{sid}Prefix",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        },
        {"Sid": f"{sid}Objects", "Effect": "Allow", "Action": object_actions,
         "Resource": [f"{bucket_arn}/{prefix}*"]},
    ]


def exporter_policy(*, bucket_arn: str, prefix: str, log_group_arn: str,
                    secret_arns: Sequence[str]) -> Policy:
    """The usage exporter: list and put under its prefix, read the gateway token, write its logs."""
    return {"Version": VERSION, "Statement": [
        *prefix_statements(bucket_arn, prefix, ["s3:PutObject"], "Export"),
        read_secrets_statement(secret_arns),
        own_log_group_statement(log_group_arn),
    ]}


def snowflake_read_policy(*, bucket_arn: str, prefix: str) -> Policy:
    """What Snowflake's storage integration needs to load the export's objects (and only those)."""
    return {"Version": VERSION, "Statement": [
        *prefix_statements(bucket_arn, prefix, ["s3:GetObject", "s3:GetObjectVersion"], "SnowflakeRead"),
        {"Sid": "LocateBucket", "Effect": "Allow", "Action": ["s3:GetBucketLocation"],
         "Resource": [bucket_arn]},
    ]}


def snowflake_trust_policy(*, iam_user_arn: str, external_id: str) -> Policy:
    """Only the integration's Snowflake IAM user, presenting the integration's external ID."""
    return {"Version": VERSION, "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": iam_user_arn},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
    }]}


def tls_only_bucket_policy(bucket_arn: str) -> Policy:
    """Refuse any request to the bucket that is not over TLS."""
    return {"Version": VERSION, "Statement": [{
        "Sid": "DenyPlainHttp",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]}


def topic_policy(*, topic_arn: str, account_id: str, region: str) -> Policy:
    """Let this account's CloudWatch alarms (and only them) publish; the owner keeps management rights."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "AllowThisAccountsCloudWatchAlarms",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{account_id}:alarm:*"},
                },
            },
            {
                "Sid": "AccountOwnerManagesTopic",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": [
                    "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission",
                    "sns:RemovePermission", "sns:DeleteTopic", "sns:Subscribe",
                    "sns:ListSubscriptionsByTopic", "sns:Publish",
                ],
                "Resource": topic_arn,
            },
        ],
    }


def topic_key_policy(*, account_id: str, region: str) -> Policy:
    """A customer-managed key CloudWatch may use: the AWS-managed SNS key silently drops alarm mail."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "AccountAdministersKey",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "AllowThisAccountsCloudWatchAlarms",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{account_id}:alarm:*"},
                },
            },
        ],
    }
