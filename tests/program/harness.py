"""Runs the real Pulumi program (__main__.py) under Pulumi's mocks with a committed stack file.

Config comes from Pulumi.<stack>.yaml exactly as committed; secrets, which the real stacks get
from Pulumi ESC, come from ESC_STAND_IN (unique strings a test can search every input for).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc

from components import program_runner
from components.program_runner import PROJECT, stack_config

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
# What the Lambda Cloud instance provider would report for a launched host.
LAUNCHED_INSTANCE = {"ip": "198.51.100.77", "status": "active", "launched_at": "2026-12-01T08:00:00+00:00",
                     "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockLaunchedHost"}
REGION = "us-east-1"

# What each stack's ESC environment provides (the real values live only in ESC).
ESC_STAND_IN: dict[str, dict[str, str]] = {
    "staging": {
        "gatewayAdminToken": "esc-staging-admin-token-4b1f0c",
        "lambdaApiKey": "esc-staging-lambda-key-9d2e7a",
        "serverlessApiKey": "esc-staging-serverless-key-6e0b3c",
        "gatewayClientTokens": "esc-staging-client-a1,esc-staging-client-b2",
        "sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nesc-staging-ssh-key-77c3\n"
                         "-----END OPENSSH PRIVATE KEY-----\n",
    },
    "prod": {
        "gatewayAdminToken": "esc-prod-admin-token-e5a90d",
        "lambdaApiKey": "esc-prod-lambda-key-31f6b8",
        "serverlessApiKey": "esc-prod-serverless-key-8a4d21",
        "gatewayClientTokens": "esc-prod-client-c3,esc-prod-client-d4",
        "sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nesc-prod-ssh-key-0a9e\n"
                         "-----END OPENSSH PRIVATE KEY-----\n",
        "slackWebhookUrl": "https://hooks.slack.com/services/T000/B000/esc-prod-slack-5c8d",
    },
}


def project_config(stack: str) -> dict[str, str]:
    """The stack file's llm-cost-governance:* keys, without the prefix (parse_settings' input)."""
    prefix = f"{PROJECT}:"
    return {k.removeprefix(prefix): v for k, v in stack_config(stack).items() if k.startswith(prefix)}


def secret_values(stack: str) -> list[str]:
    """Every secret plaintext and every line of multi-line secrets (a leak may be partial)."""
    values: list[str] = []
    for value in ESC_STAND_IN[stack].values():
        values.append(value)
        values += [line for line in value.splitlines() if "esc-" in line]
        values += [token for token in value.split(",") if "esc-" in token]  # one client token alone
    return values


def _arn(typ: str, name: str) -> str | None:
    arns = {
        "aws:sns/topic:Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
        "aws:cloudwatch/logGroup:LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}",
        "aws:secretsmanager/secret:Secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-Ab12Cd",
        "aws:kms/key:Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}-0000-1111",
        "aws:lambda/function:Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        "aws:cloudwatch/eventRule:EventRule": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}",
        "aws:cloudwatch/metricAlarm:MetricAlarm": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
        "aws:iam/role:Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
    }
    return arns.get(typ)


# What Snowflake answers when the storage integration and the pipe are created (its own AWS account).
SNOWFLAKE_IAM_USER = "arn:aws:iam::999988887777:user/abc1-s-v2st0000"
SNOWFLAKE_EXTERNAL_ID = "MYORG_SFCRole=2_a1b2c3d4e5f6g7h8i9j0="
# What RDS answers for the ledger database, and the password it generated into Secrets Manager.
RDS_ADDRESS = "llm-cost-governance-prod-ledger.abc123xyz.us-east-1.rds.amazonaws.com"
RDS_SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-0a1b2c3d-Xy12Ab"
RDS_PASSWORD = "rds-managed-pw/8e1f+c0d:4a@b"  # characters a DSN must escape
SNOWPIPE_QUEUE = "arn:aws:sqs:us-east-1:999988887777:sf-snowpipe-AIDAEXAMPLE-abcdefgh"


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers like AWS would (ARNs, names) and records every resource's inputs."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        outputs = dict(args.inputs)
        name = args.inputs.get("name")
        name = name if isinstance(name, str) else args.name
        outputs["name"] = name
        if args.typ == "aws:cloudwatch/dashboard:Dashboard":
            dashboard = args.inputs["dashboardName"]
            outputs["dashboardArn"] = f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{dashboard}"
        arn = _arn(args.typ, name)
        if arn:
            outputs["arn"] = arn
        if args.typ == "aws:kms/key:Key":
            outputs["keyId"] = f"{name}-0000-1111"
        if args.typ == "aws:s3/bucket:Bucket":  # a bucket's id is its name
            outputs.update({"bucket": args.inputs["bucket"], "arn": f"arn:aws:s3:::{args.inputs['bucket']}"})
            return args.inputs["bucket"], outputs
        if args.typ == "snowflake:index/storageIntegrationAws:StorageIntegrationAws":
            outputs["describeOutputs"] = [{"iamUserArn": SNOWFLAKE_IAM_USER,
                                           "externalId": SNOWFLAKE_EXTERNAL_ID}]
        if args.typ == "snowflake:index/pipe:Pipe":
            outputs["notificationChannel"] = SNOWPIPE_QUEUE
        if args.typ.startswith("command:remote:"):
            outputs.update({"stdout": "", "stderr": ""})
        if args.typ == "pulumi-python:dynamic:Resource":  # the launched Lambda Cloud instance
            outputs.update(LAUNCHED_INSTANCE)
        if args.typ == "aws:rds/instance:Instance":  # RDS generates the password into Secrets Manager
            outputs.update({"address": RDS_ADDRESS, "port": args.inputs.get("port", 5432),
                            "masterUserSecrets": [{"secretArn": RDS_SECRET_ARN, "secretStatus": "active",
                                                   "kmsKeyId": ""}]})
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "AIDAEXAMPLE",
                    "id": ACCOUNT}
        if args.token == "aws:secretsmanager/getSecretVersion:getSecretVersion":
            assert args.args["secretId"] == RDS_SECRET_ARN, args.args
            return {"arn": RDS_SECRET_ARN, "id": RDS_SECRET_ARN, "secretId": RDS_SECRET_ARN,
                    "secretString": json.dumps({"username": "ledger_admin", "password": RDS_PASSWORD}),
                    "versionId": "v1", "versionStage": "AWSCURRENT", "versionStages": ["AWSCURRENT"]}
        raise NotImplementedError(f"the program made an unexpected call: {args.token}")


@dataclass(frozen=True)
class Options:
    """The resource options the engine would see (the mocks' args do not carry them)."""

    delete_before_replace: bool
    additional_secret_outputs: tuple[str, ...]
    custom_create_timeout: str
    dependencies: tuple[str, ...]
    parent: str  # the parent's URN ("" for the stack's own children)
    aliases: tuple[tuple[str, str], ...] = ()  # (name, parent URN or "") of each alias spec


class RecordingMonitor(pulumi.runtime.mocks.MockMonitor):
    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.options: dict[tuple[str, str], Options] = {}

    def RegisterResource(self, request: Any) -> Any:
        self.options[(request.type, request.name)] = Options(
            delete_before_replace=request.deleteBeforeReplace,
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            custom_create_timeout=request.customTimeouts.create,
            dependencies=tuple(request.dependencies),
            parent=request.parent,
            aliases=tuple((a.spec.name, a.spec.parentUrn) for a in request.aliases if a.HasField("spec")),
        )
        return super().RegisterResource(request)


@dataclass
class ProgramRun:
    stack: str
    resources: list[pulumi.runtime.MockResourceArgs]
    options: dict[tuple[str, str], Options]
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)  # stack outputs marked secret

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name: str) -> pulumi.runtime.MockResourceArgs:
        found = [r for r in self.of_type(typ) if r.name == name]
        assert len(found) == 1, f"expected one {typ} named {name}, got {[r.name for r in self.of_type(typ)]}"
        return found[0]


def run_program(stack: str, config_overrides: dict[str, str | None] | None = None,
                secrets: dict[str, str] | None = None, stack_name: str | None = None) -> ProgramRun:
    """Run __main__.py with `stack`'s committed config (as a stack called `stack_name`, by default
    the same) with preview=False, so every apply really runs."""
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    run = ProgramRun(stack_name or stack, mocks.resources, monitor.options)
    result = program_runner.run_program(
        mocks, stack, overrides=config_overrides, secrets=ESC_STAND_IN[stack] if secrets is None else secrets,
        monitor=monitor, stack_name=stack_name)
    run.outputs.update(result.outputs)
    run.secret_outputs.update(result.secret_outputs)
    return run


def unwrapped_strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every (path, string) in a resource's inputs that is NOT inside a Pulumi secret."""
    if rpc.is_rpc_secret(value):
        return []
    if isinstance(value, dict):
        return [item for key, inner in value.items() for item in unwrapped_strings(inner, f"{path}.{key}")]
    if isinstance(value, list | tuple):
        return [item for i, inner in enumerate(value) for item in unwrapped_strings(inner, f"{path}[{i}]")]
    if isinstance(value, pulumi.StringAsset):
        return [(path, value.text)]
    return [(path, value)] if isinstance(value, str) else []


def is_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)


def reveal(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value
