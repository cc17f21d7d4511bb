"""Pulumi mocks that create each declared AWS resource in a local AWS endpoint (the moto server).

Running the real program under these mocks means every resource input is checked by an AWS API
(moto's), not only by our own tests: a malformed alarm, policy or function fails here the way it
would fail in `pulumi up`. Resources that are not AWS (SSH commands to the GPU host) are recorded
as skipped; the demo runs the gateway as a local process instead.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pulumi
from pulumi.runtime import rpc

Handler = Callable[["MotoBackedMocks", str, dict[str, Any]], tuple[str, dict[str, Any]]]


@dataclass
class Created:
    """One resource the emulator made (or skipped), for the demo report."""

    type: str
    name: str
    physical_id: str
    emulated: bool


def _archive_bytes(archive: Any) -> bytes:
    """Zip bytes for a Pulumi archive input (FileArchive of a .zip or a folder, or AssetArchive)."""
    path = getattr(archive, "path", None)
    if path:
        source = Path(path)
        if source.is_file():
            return source.read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            for file in sorted(source.rglob("*")):
                if file.is_file():
                    zf.write(file, file.relative_to(source).as_posix())
        return buffer.getvalue()
    assets = getattr(archive, "assets", None)
    if isinstance(assets, dict):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            for name, asset in sorted(assets.items()):
                if getattr(asset, "text", None) is not None:
                    zf.writestr(name, asset.text)
                elif getattr(asset, "path", None):
                    zf.write(asset.path, name)
        return buffer.getvalue()
    raise ValueError(f"cannot read Lambda code from {archive!r}")


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _reveal(value: Any) -> Any:
    """Inputs as AWS receives them: Pulumi secrets unwrapped (they are secret in state, not in AWS)."""
    if rpc.is_rpc_secret(value):
        return _reveal(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_reveal(v) for v in value]
    return value


def _int(value: Any) -> int | None:
    """Pulumi's mock protocol carries every number as a float; AWS wants ints for counts."""
    return None if value is None else int(value)


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != [] and v != {}}


@dataclass
class MotoBackedMocks(pulumi.runtime.Mocks):
    """Create resources through boto3 against `endpoint_url` as the program declares them."""

    endpoint_url: str
    region: str = "us-east-1"
    created: list[Created] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service, endpoint_url=self.endpoint_url, region_name=self.region,
                aws_access_key_id="demo", aws_secret_access_key="demo",  # noqa: S106 - moto's dummy creds
            )
        return self._clients[service]

    # -- pulumi.runtime.Mocks -------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        handler = HANDLERS.get(args.typ)
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider", dict(args.inputs)
        if handler is None:
            self.created.append(Created(args.typ, args.name, f"{args.name}-id", emulated=False))
            return f"{args.name}-id", dict(args.inputs)
        physical_id, outputs = handler(self, args.name, _reveal(dict(args.inputs)))
        self.created.append(Created(args.typ, args.name, physical_id, emulated=True))
        return physical_id, {**args.inputs, **outputs}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        """Answer data-source calls (caller identity, region, partition) from the local endpoint.

        Returned as (outputs, check failures), the signature pulumi declares; its MockMonitor iterates
        the failures, so "none" is an empty list, not the None the annotation allows."""
        if args.token.endswith("getCallerIdentity"):
            ident = self.client("sts").get_caller_identity()
            return {"accountId": ident["Account"], "arn": ident["Arn"], "userId": ident["UserId"],
                    "id": ident["Account"]}, []
        if args.token.endswith("getRegion"):
            return {"name": self.region, "region": self.region, "id": self.region}, []
        if args.token.endswith("getPartition"):
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        return {}, []


# -- one handler per resource type -----------------------------------------------------------------

def _topic(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    topic_name = i.get("name") or name
    attrs = _drop_none({"DisplayName": i.get("displayName"), "KmsMasterKeyId": i.get("kmsMasterKeyId"),
                        "Policy": i.get("policy") and _json_text(i["policy"])})
    arn = m.client("sns").create_topic(Name=topic_name, Attributes=attrs)["TopicArn"]
    return arn, {"arn": arn, "name": topic_name}


def _topic_policy(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    m.client("sns").set_topic_attributes(TopicArn=i["arn"], AttributeName="Policy",
                                         AttributeValue=_json_text(i["policy"]))
    return i["arn"], {}


def _subscription(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    arn = m.client("sns").subscribe(TopicArn=i["topic"], Protocol=i["protocol"], Endpoint=i["endpoint"],
                                    ReturnSubscriptionArn=True)["SubscriptionArn"]
    return arn, {"arn": arn}


def _kms_key(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kwargs = _drop_none({"Description": i.get("description"), "Policy": i.get("policy") and
                         _json_text(i["policy"])})
    meta = m.client("kms").create_key(**kwargs)["KeyMetadata"]
    if i.get("enableKeyRotation"):
        m.client("kms").enable_key_rotation(KeyId=meta["KeyId"])
    return meta["KeyId"], {"arn": meta["Arn"], "keyId": meta["KeyId"]}


def _kms_alias(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    m.client("kms").create_alias(AliasName=i["name"], TargetKeyId=i["targetKeyId"])
    return i["name"], {"arn": f"arn:aws:kms:{m.region}:123456789012:{i['name']}"}


def _alarm(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    alarm_name = i.get("name") or i.get("alarmName") or name
    dims = [{"Name": k, "Value": v} for k, v in sorted((i.get("dimensions") or {}).items())]
    kwargs = _drop_none({
        "AlarmName": alarm_name, "AlarmDescription": i.get("alarmDescription"),
        "ActionsEnabled": i.get("actionsEnabled"), "AlarmActions": i.get("alarmActions"),
        "OKActions": i.get("okActions"), "InsufficientDataActions": i.get("insufficientDataActions"),
        "MetricName": i.get("metricName"), "Namespace": i.get("namespace"), "Statistic": i.get("statistic"),
        "ExtendedStatistic": i.get("extendedStatistic"), "Dimensions": dims, "Period": _int(i.get("period")),
        "Unit": i.get("unit"), "EvaluationPeriods": _int(i.get("evaluationPeriods")),
        "DatapointsToAlarm": _int(i.get("datapointsToAlarm")), "Threshold": i.get("threshold"),
        "ComparisonOperator": i.get("comparisonOperator"), "TreatMissingData": i.get("treatMissingData"),
    })
    cw = m.client("cloudwatch")
    cw.put_metric_alarm(**kwargs)
    arn = cw.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]["AlarmArn"]
    return alarm_name, {"arn": arn, "name": alarm_name}


def _dashboard(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    dash = i.get("dashboardName") or name
    body = _json_text(i["dashboardBody"])
    json.loads(body)  # CloudWatch rejects a body that is not JSON
    m.client("cloudwatch").put_dashboard(DashboardName=dash, DashboardBody=body)
    arn = f"arn:aws:cloudwatch::123456789012:dashboard/{dash}"
    return dash, {"dashboardArn": arn, "dashboardName": dash}


def _secret(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    secret_name = i.get("name") or f"{i.get('namePrefix', name)}"
    kwargs = _drop_none({"Name": secret_name, "Description": i.get("description"),
                         "KmsKeyId": i.get("kmsKeyId")})
    arn = m.client("secretsmanager").create_secret(**kwargs)["ARN"]
    return arn, {"arn": arn, "name": secret_name}


def _secret_version(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    out = m.client("secretsmanager").put_secret_value(SecretId=i["secretId"], SecretString=i["secretString"])
    return f"{i['secretId']}|{out['VersionId']}", {"versionId": out["VersionId"], "arn": out["ARN"]}


def _role(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    role_name = i.get("name") or name
    kwargs = _drop_none({"RoleName": role_name, "AssumeRolePolicyDocument": _json_text(i["assumeRolePolicy"]),
                         "Description": i.get("description"), "Path": i.get("path")})
    role = m.client("iam").create_role(**kwargs)["Role"]
    for policy in i.get("inlinePolicies") or []:
        if policy.get("policy"):
            m.client("iam").put_role_policy(RoleName=role_name, PolicyName=policy["name"],
                                            PolicyDocument=_json_text(policy["policy"]))
    return role_name, {"arn": role["Arn"], "name": role_name, "uniqueId": role["RoleId"]}


def _role_policy(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    policy_name = i.get("name") or name
    m.client("iam").put_role_policy(RoleName=i["role"], PolicyName=policy_name,
                                    PolicyDocument=_json_text(i["policy"]))
    return f"{i['role']}:{policy_name}", {"name": policy_name}


def _log_group(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    group = i.get("name") or name
    logs = m.client("logs")
    logs.create_log_group(logGroupName=group)
    if i.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=group, retentionInDays=_int(i["retentionInDays"]))
    return group, {"arn": f"arn:aws:logs:{m.region}:123456789012:log-group:{group}", "name": group}


def _function(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    fn_name = i.get("name") or name
    env = (i.get("environment") or {}).get("variables")
    logging_config = i.get("loggingConfig") or {}
    kwargs = _drop_none({
        "FunctionName": fn_name, "Runtime": i.get("runtime"), "Role": i["role"], "Handler": i.get("handler"),
        "Code": {"ZipFile": _archive_bytes(i["code"])}, "Timeout": _int(i.get("timeout")),
        "MemorySize": _int(i.get("memorySize")), "Description": i.get("description"),
        "Environment": {"Variables": env} if env else None, "Architectures": i.get("architectures"),
        "LoggingConfig": _drop_none({"LogGroup": logging_config.get("logGroup"),
                                     "LogFormat": logging_config.get("logFormat")}),
    })
    out = m.client("lambda").create_function(**kwargs)
    arn = out["FunctionArn"]
    invoke = f"arn:aws:apigateway:{m.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    return fn_name, {"arn": arn, "name": fn_name, "qualifiedArn": f"{arn}:$LATEST", "invokeArn": invoke,
                     "version": out.get("Version", "$LATEST")}


def _event_rule(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rule = i.get("name") or name
    kwargs = _drop_none({"Name": rule, "ScheduleExpression": i.get("scheduleExpression"),
                         "EventPattern": i.get("eventPattern"), "Description": i.get("description"),
                         "State": i.get("state") or ("DISABLED" if i.get("isEnabled") is False else None)})
    arn = m.client("events").put_rule(**kwargs)["RuleArn"]
    return rule, {"arn": arn, "name": rule}


def _event_target(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    target_id = i.get("targetId") or name
    retry = i.get("retryPolicy") or {}
    target = _drop_none({
        "Id": target_id, "Arn": i["arn"], "Input": i.get("input"),
        "RetryPolicy": _drop_none({"MaximumRetryAttempts": _int(retry.get("maximumRetryAttempts")),
                                   "MaximumEventAgeInSeconds": _int(retry.get("maximumEventAgeInSeconds"))}),
        "DeadLetterConfig": _drop_none({"Arn": (i.get("deadLetterConfig") or {}).get("arn")}),
    })
    out = m.client("events").put_targets(Rule=i["rule"], Targets=[target])
    if out.get("FailedEntryCount"):
        raise ValueError(f"EventBridge refused target {target_id}: {out['FailedEntries']}")
    return f"{i['rule']}-{target_id}", {"targetId": target_id}


def _permission(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    sid = i.get("statementId") or name
    kwargs = _drop_none({"FunctionName": i["function"], "StatementId": sid, "Action": i["action"],
                         "Principal": i["principal"], "SourceArn": i.get("sourceArn"),
                         "SourceAccount": i.get("sourceAccount")})
    m.client("lambda").add_permission(**kwargs)
    return sid, {"statementId": sid}


def _invoke_config(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    dest = (i.get("destinationConfig") or {}).get("onFailure") or {}
    kwargs = _drop_none({
        "FunctionName": i["functionName"], "MaximumRetryAttempts": _int(i.get("maximumRetryAttempts")),
        "MaximumEventAgeInSeconds": _int(i.get("maximumEventAgeInSeconds")),
        "DestinationConfig": {"OnFailure": {"Destination": dest["destination"]}} if dest else None,
    })
    m.client("lambda").put_function_event_invoke_config(**kwargs)
    return i["functionName"], {}


def _bucket(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    bucket = i.get("bucket") or name
    m.client("s3").create_bucket(Bucket=bucket)
    return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}


def _public_access_block(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    keys = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    config = {k: bool(i.get(k[0].lower() + k[1:])) for k in keys}
    m.client("s3").put_public_access_block(Bucket=i["bucket"], PublicAccessBlockConfiguration=config)
    return i["bucket"], {}


def _bucket_encryption(m: MotoBackedMocks, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rules = [{"ApplyServerSideEncryptionByDefault": {
        "SSEAlgorithm": r["applyServerSideEncryptionByDefault"]["sseAlgorithm"]},
        "BucketKeyEnabled": bool(r.get("bucketKeyEnabled"))} for r in i["rules"]]
    m.client("s3").put_bucket_encryption(Bucket=i["bucket"],
                                         ServerSideEncryptionConfiguration={"Rules": rules})
    return i["bucket"], {}


HANDLERS: dict[str, Handler] = {
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _public_access_block,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        _bucket_encryption,
    # No bucket policy: the exporter's bucket refuses plain http, and the local endpoint is http only.
    "aws:sns/topic:Topic": _topic,
    "aws:sns/topicPolicy:TopicPolicy": _topic_policy,
    "aws:sns/topicSubscription:TopicSubscription": _subscription,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:secretsmanager/secretVersion:SecretVersion": _secret_version,
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:lambda/function:Function": _function,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": _event_target,
    "aws:lambda/permission:Permission": _permission,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": _invoke_config,
}
