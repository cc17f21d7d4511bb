"""UsageExport: the bucket the ledger is exported to, and the hourly exporter that fills it.

The exporter is the tracker zip's second handler with its own function, schedule, log group and
Errors alarm, so an export failure never silences the cost alarms. It may only list its prefix
and put objects under it (plus its token and its logs). Objects are never expired: they are the
export's cursor (docs/adr/0008-usage-records-cursor.md); they move to cheaper storage instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import policies
from components.lambda_parts import lambda_with_own_logs, run_on_schedule
from components.naming import CostTaggedComponent, physical_name
from components.packaging import build_tracker_zip
from components.schedule import rate_interval_seconds
from components.settings import Settings
from cost_tracker import env_names

HANDLER = "cost_tracker.export_handler.handler"
TIMEOUT_SECONDS = 300
RETRY_ATTEMPTS = 2
IA_AFTER_DAYS = 30
GLACIER_IR_AFTER_DAYS = 180


@dataclass
class UsageExportArgs:
    settings: Settings
    account_id: pulumi.Input[str]
    topic_arn: pulumi.Input[str]
    gateway_token_secret_arn: pulumi.Input[str]


def export_prefix(stack: str) -> str:
    return f"usage/{stack}/"


class UsageExport(CostTaggedComponent):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    prefix: str
    function_name: pulumi.Output[str]
    role_policy: pulumi.Output[str]

    def __init__(self, name: str, args: UsageExportArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("UsageExport", name, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.prefix = export_prefix(s.stack)
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            # bucket names are global: the account id keeps two accounts' stacks apart
            bucket=pulumi.Output.concat(physical_name("usage"), "-", args.account_id),
            force_destroy=False,
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"},
                    "bucket_key_enabled": True}], opts=child)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket.id,
            rules=[{"id": "export-objects-to-cheaper-storage", "status": "Enabled",
                    "filter": {"prefix": self.prefix},
                    "transitions": [{"days": IA_AFTER_DAYS, "storage_class": "STANDARD_IA"},
                                    {"days": GLACIER_IR_AFTER_DAYS, "storage_class": "GLACIER_IR"}],
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1}}],
            opts=child)
        aws.s3.BucketPolicy(
            f"{name}-tls-only", bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(policies.tls_only_bucket_policy(arn))),
            # S3 refuses a second bucket-policy change while the public access block is being set.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]))

        prefix = self.prefix

        def policy(log_group_arn: pulumi.Output[str]) -> pulumi.Output[dict]:
            return pulumi.Output.all(bucket.arn, log_group_arn, args.gateway_token_secret_arn).apply(
                lambda v: policies.exporter_policy(bucket_arn=v[0], prefix=prefix, log_group_arn=v[1],
                                                   secret_arns=[v[2]]))

        parts = lambda_with_own_logs(
            name,
            function_name=physical_name("usage-export"),
            parent=self,
            package=build_tracker_zip(),
            handler=HANDLER,
            description="hourly ledger export to S3 for Snowflake",
            retention_days=s.tracker.log_retention_days,
            policy=policy,
            environment={
                env_names.STACK_NAME: s.stack,
                env_names.GATEWAY_URL: s.gateway.url,
                env_names.GATEWAY_TOKEN_SECRET_ARN: args.gateway_token_secret_arn,
                env_names.EXPORT_BUCKET: bucket.bucket,
                env_names.EXPORT_PREFIX: prefix,
            },
            timeout=TIMEOUT_SECONDS,
            memory_size=256,
            reserved_concurrency=1,  # two runs at once could export overlapping ranges
        )
        run_on_schedule(name, parent=self, function=parts.function, rule_name=physical_name("usage-export"),
                        description="Exports new ledger rows to S3 (Snowpipe loads them)",
                        schedule=s.export.schedule, retry_attempts=RETRY_ATTEMPTS,
                        max_event_age_seconds=TIMEOUT_SECONDS * 4)
        aws.cloudwatch.MetricAlarm(
            f"{name}-errors",
            name=physical_name("usage-export-errors"),
            alarm_description=("The usage export failed (error or timeout). Nothing is lost: the next run "
                               "resumes after the last object written. Read its log group."),
            namespace="AWS/Lambda", metric_name="Errors", dimensions={"FunctionName": parts.function.name},
            statistic="Sum", period=min(rate_interval_seconds(s.export.schedule) or 3600, 86400),
            evaluation_periods=1, datapoints_to_alarm=1, threshold=1.0,
            comparison_operator="GreaterThanOrEqualToThreshold", treat_missing_data="notBreaching",
            alarm_actions=[args.topic_arn], ok_actions=[args.topic_arn], opts=child)

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.function_name = parts.function.name
        self.role_policy = parts.policy.policy
        self.register_outputs({"bucket_name": self.bucket_name, "function_name": self.function_name})
