"""CostTracker: the scheduled Lambda that turns gateway usage into CloudWatch cost metrics.

Least privilege by construction: the role may put metrics only in its namespace, read only its
own secrets, write only its own log group and publish failures only to the alert topic. A run
that fails after Lambda's retries lands on the alert topic instead of vanishing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import policies
from components.lambda_parts import lambda_with_own_logs, run_on_schedule
from components.naming import CostTaggedComponent, physical_name
from components.packaging import build_tracker_zip
from components.settings import Settings
from cost_tracker import env_names

HANDLER = "cost_tracker.handler.handler"
ASYNC_RETRIES = 2
MAX_EVENT_AGE_SECONDS = 3600
# EventBridge retries a Lambda target only when the invoke itself fails (throttling, service
# errors); give up after one push interval, when the next scheduled run supersedes this one.
TARGET_RETRY_ATTEMPTS = 3


@dataclass
class CostTrackerArgs:
    settings: Settings
    topic_arn: pulumi.Input[str]
    topic_key_arn: pulumi.Input[str] | None
    gateway_token_secret_arn: pulumi.Input[str]
    lambda_api_key_secret_arn: pulumi.Input[str]
    gpu_started_at: pulumi.Input[str] | None = None  # a launched host's launch time (else the config's)


def tracker_environment(settings: Settings, gateway_token_secret_arn: pulumi.Input[str],
                        lambda_api_key_secret_arn: pulumi.Input[str],
                        gpu_started_at: pulumi.Input[str] | None = None) -> dict[str, pulumi.Input[str]]:
    """Exactly the variables the handler reads (names from cost_tracker.env_names); ARNs, never values."""
    tracker = settings.tracker
    env: dict[str, pulumi.Input[str]] = {
        env_names.METRIC_NAMESPACE: settings.namespace,
        env_names.STACK_NAME: settings.stack,
        env_names.DAILY_BUDGET_USD: str(settings.daily_budget_usd),
        env_names.MONTHLY_BUDGET_USD: str(settings.monthly_budget_usd),
        env_names.WARNING_THRESHOLD_PERCENT: str(settings.thresholds.warning),
        env_names.CRITICAL_THRESHOLD_PERCENT: str(settings.thresholds.critical),
        env_names.TIME_ZONE: settings.time_zone,
        # Datapoints are stamped at the start of the alarms' period: it must be the alarms' period.
        env_names.METRIC_PERIOD_SECONDS: str(tracker.period_seconds),
        env_names.GATEWAY_URL: settings.gateway.url,
        env_names.GATEWAY_TOKEN_SECRET_ARN: gateway_token_secret_arn,
        env_names.LAMBDA_API_KEY_SECRET_ARN: lambda_api_key_secret_arn,
    }
    optional = {
        env_names.LAMBDA_CLOUD_API_URL: tracker.lambda_cloud_api_url,
        env_names.GPU_INSTANCE_TYPE: tracker.gpu_instance_type,
        env_names.GPU_HOURLY_USD: "" if tracker.gpu_hourly_usd is None else str(tracker.gpu_hourly_usd),
        env_names.GPU_HOST_STARTED_AT: gpu_started_at or tracker.gpu_host_started_at,
    }
    env.update({key: value for key, value in optional.items() if value})
    return env


class CostTracker(CostTaggedComponent):
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    role_policy: pulumi.Output[str]

    def __init__(self, name: str, args: CostTrackerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("CostTracker", name, opts)
        settings = args.settings
        secret_arns = [args.gateway_token_secret_arn, args.lambda_api_key_secret_arn]

        def policy(log_group_arn: pulumi.Output[str]) -> pulumi.Output[dict]:
            key = args.topic_key_arn if args.topic_key_arn is not None else ""
            return pulumi.Output.all(log_group_arn, args.topic_arn, key, *secret_arns).apply(
                lambda v: policies.tracker_policy(namespace=settings.namespace, log_group_arn=v[0],
                                                  topic_arn=v[1], topic_key_arn=v[2] or None,
                                                  secret_arns=v[3:])
            )

        parts = lambda_with_own_logs(
            name,
            function_name=physical_name("cost-tracker"),
            parent=self,
            package=build_tracker_zip(),
            handler=HANDLER,
            description="hourly LLM spend to CloudWatch metrics",
            retention_days=settings.tracker.log_retention_days,
            policy=policy,
            environment=tracker_environment(settings, args.gateway_token_secret_arn,
                                            args.lambda_api_key_secret_arn, args.gpu_started_at),
            timeout=60,
            memory_size=256,
        )
        function = parts.function

        run_on_schedule(
            name, parent=self, function=function,
            rule_name=physical_name("cost-tracker"),
            description="Runs the cost tracker, which pushes cost-to-date metrics",
            schedule=settings.tracker.schedule, retry_attempts=TARGET_RETRY_ATTEMPTS,
            max_event_age_seconds=max(60, min(settings.tracker.period_seconds, 86400)),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async",
            function_name=function.name,
            maximum_retry_attempts=ASYNC_RETRIES,
            maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
            destination_config={"on_failure": {"destination": args.topic_arn}},
            # Lambda checks the role may publish to the destination when the config is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[parts.policy]),
        )

        self.function_name = function.name
        self.function_arn = function.arn
        self.log_group_name = parts.log_group.name
        self.role_policy = parts.policy.policy
        self.register_outputs({"function_name": self.function_name, "function_arn": self.function_arn})
