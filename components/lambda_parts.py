"""The parts every function of this project has: its own log group, role, inline policy, function.

Why shared: the tracker and the Slack forwarder must get the same guarantees (log retention, a
role scoped to their own log group, no managed wildcard policies), so they are built in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.packaging import BuiltZip
from components.policies import assume_role

PYTHON_RUNTIME = "python3.12"


@dataclass(frozen=True)
class LambdaParts:
    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    function: aws.lambda_.Function


def lambda_with_own_logs(
    name: str,
    *,
    function_name: str,
    parent: pulumi.Resource,
    package: BuiltZip,
    handler: str,
    description: str,
    retention_days: int,
    policy: Callable[[pulumi.Output[str]], pulumi.Output[dict[str, Any]]],
    environment: Mapping[str, pulumi.Input[str]],
    timeout: int = 60,
    memory_size: int = 256,
    reserved_concurrency: int | None = None,
) -> LambdaParts:
    """Build the four parts; `policy` receives the log group ARN and returns the role's document."""
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=f"/aws/lambda/{function_name}",
        retention_in_days=retention_days,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    role = aws.iam.Role(
        f"{name}-role",
        # Named like its function (roles are another namespace): the deploy role may only create,
        # tag and pass roles named with the stack prefix (bootstrap/deploy_policy.py).
        name=function_name,
        assume_role_policy=json.dumps(assume_role("lambda.amazonaws.com")),
        description=f"Runs {function_name} ({description})",
        opts=pulumi.ResourceOptions(parent=parent),
    )
    role_policy = aws.iam.RolePolicy(
        f"{name}-policy",
        role=role.name,
        policy=policy(log_group.arn).apply(lambda doc: json.dumps(doc, sort_keys=True)),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    function = aws.lambda_.Function(
        name,
        name=function_name,
        description=description,
        role=role.arn,
        runtime=PYTHON_RUNTIME,
        handler=handler,
        architectures=["x86_64"],
        code=pulumi.FileArchive(str(package.path)),
        source_code_hash=package.sha256_b64,
        timeout=timeout,
        memory_size=memory_size,
        reserved_concurrent_executions=reserved_concurrency,
        environment={"variables": dict(environment)},
        # Lambda's JSON log format: each record's `extra` fields become fields of the line, so
        # Logs Insights queries them directly; INFO for the code, WARN for the platform's lines.
        logging_config={"log_format": "JSON", "application_log_level": "INFO", "system_log_level": "WARN",
                        "log_group": log_group.name},
        # The log group must exist first, or Lambda creates one that never expires.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[log_group, role_policy]),
    )
    return LambdaParts(log_group, role, role_policy, function)


def run_on_schedule(name: str, *, parent: pulumi.Resource, function: aws.lambda_.Function, rule_name: str,
                    description: str, schedule: str, retry_attempts: int,
                    max_event_age_seconds: int) -> aws.cloudwatch.EventRule:
    """An EventBridge rule invoking `function` on `schedule`, with the permission it needs first."""
    child = pulumi.ResourceOptions(parent=parent)
    rule = aws.cloudwatch.EventRule(f"{name}-schedule", name=rule_name, description=description,
                                    schedule_expression=schedule, opts=child)
    permission = aws.lambda_.Permission(f"{name}-invoke", action="lambda:InvokeFunction",
                                        function=function.name, principal="events.amazonaws.com",
                                        source_arn=rule.arn, opts=child)
    aws.cloudwatch.EventTarget(
        f"{name}-target",
        rule=rule.name,
        arn=function.arn,
        retry_policy={"maximum_retry_attempts": retry_attempts,
                      "maximum_event_age_in_seconds": max_event_age_seconds},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[permission]),
    )
    return rule
