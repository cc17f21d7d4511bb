"""The deploy and preview roles' permissions: the main program's resources only, no wildcard action,
`Resource: "*"` only where AWS has no resource-level permission, previews read no secret."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from bootstrap.deploy_policy import (
    ALL_GRANTS,
    INLINE_POLICIES_MAX_CHARS,
    MANAGED_POLICY_MAX_CHARS,
    deploy_policy,
    ledger_deploy_policy,
)
from policy import validators
from tests.program.harness import ACCOUNT, REGION, run_program

from .full_program import scope
from .harness import committed_config
from .iam_eval import ALLOW, decide

STACKS = committed_config()["stacks"]
READ_VERBS = ("Get", "Describe", "List")
# The create call of every AWS resource type the main program can declare (with every optional
# component on: tests/bootstrap/full_program.py): adding a new type to the program fails here until
# the deploy roles may create it.
CREATE_ACTION = {
    "aws:sns/topic:Topic": "sns:CreateTopic",
    "aws:sns/topicPolicy:TopicPolicy": "sns:SetTopicAttributes",
    "aws:sns/topicSubscription:TopicSubscription": "sns:Subscribe",
    "aws:kms/key:Key": "kms:CreateKey",
    "aws:kms/alias:Alias": "kms:CreateAlias",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "cloudwatch:PutMetricAlarm",
    "aws:cloudwatch/dashboard:Dashboard": "cloudwatch:PutDashboard",
    "aws:cloudwatch/logGroup:LogGroup": "logs:CreateLogGroup",
    "aws:cloudwatch/eventRule:EventRule": "events:PutRule",
    "aws:cloudwatch/eventTarget:EventTarget": "events:PutTargets",
    "aws:iam/role:Role": "iam:CreateRole",
    "aws:iam/rolePolicy:RolePolicy": "iam:PutRolePolicy",
    "aws:lambda/function:Function": "lambda:CreateFunction",
    "aws:lambda/permission:Permission": "lambda:AddPermission",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": "lambda:PutFunctionEventInvokeConfig",
    "aws:secretsmanager/secret:Secret": "secretsmanager:CreateSecret",
    "aws:secretsmanager/secretVersion:SecretVersion": "secretsmanager:PutSecretValue",
    "aws:s3/bucket:Bucket": "s3:CreateBucket",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        "s3:PutEncryptionConfiguration",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy": "s3:PutBucketPolicy",
    "aws:s3/bucketNotification:BucketNotification": "s3:PutBucketNotification",
    # LedgerDatabase (issue 15)
    "aws:ec2/securityGroup:SecurityGroup": "ec2:CreateSecurityGroup",
    "aws:rds/parameterGroup:ParameterGroup": "rds:CreateDBParameterGroup",
    "aws:rds/instance:Instance": "rds:CreateDBInstance",
}


def _policy(run, role: str) -> dict[str, Any]:
    """The role's permissions: its inline policy, and for a deploy role its managed ledger policy."""
    doc = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", f"roles-{role}-policy").inputs["policy"])
    if role.endswith("-deploy"):
        managed = run.one("aws:iam/policy:Policy", f"roles-{role}-ledger").inputs["policy"]
        doc = {**doc, "Statement": doc["Statement"] + json.loads(managed)["Statement"]}
    return doc


def _actions(doc: dict[str, Any]) -> set[str]:
    return {a for s in doc["Statement"] for a in s["Action"]}


@pytest.mark.parametrize("role", ["staging-deploy", "prod-deploy", "staging-preview", "prod-preview"])
def test_no_wildcard_action_and_the_policy_pack_agrees(bootstrap_run, role):
    policy = bootstrap_run.one("aws:iam/rolePolicy:RolePolicy", f"roles-{role}-policy")
    assert all("*" not in action for action in _actions(_policy(bootstrap_run, role)))
    assert validators.iam_no_wildcard_actions("aws:iam/rolePolicy:RolePolicy", dict(policy.inputs)) == []


@pytest.mark.parametrize("role", ["staging-deploy", "prod-deploy", "staging-preview", "prod-preview"])
def test_resources_are_the_stacks_own(bootstrap_run, role):
    stack = role.split("-")[0]
    other = "prod" if stack == "staging" else "staging"
    account = STACKS[stack]["accountId"]
    for statement in _policy(bootstrap_run, role)["Statement"]:
        if statement["Effect"] == "Deny":  # test_boundary.py: the denials name every stack's roles
            continue
        grant = next((g for g in ALL_GRANTS if g.sid == statement["Sid"]), None)
        for resource in statement["Resource"]:
            if resource == "*":
                assert grant is not None and grant.why_star, f"{role} {statement['Sid']}: '*' needs a reason"
                continue
            # S3 ARNs carry no account: the stack's bucket names end in it
            assert f":{account}:" in resource or (
                resource.startswith("arn:aws:s3:::") and resource.endswith(f"-{account}")), resource
            assert f"-{other}-" not in resource, resource
            named = f"llm-cost-governance-{stack}-" in resource or resource.endswith(
                f"/llm-cost-governance-{stack}"
            )
            condition = json.dumps(statement.get("Condition", {}))
            # the stack tag, or a tag naming the stack's resource (RDS's on the password secret)
            tagged = any(key in condition for key in ("aws:ResourceTag/stack", "aws:RequestTag/stack")) or (
                "aws:ResourceTag/" in condition and f"llm-cost-governance-{stack}-" in condition)
            assert named or tagged or (grant is not None and grant.why_star), (
                f"{role} {statement['Sid']}: {resource}"
            )
        if statement.get("Condition"):  # a condition names the stack, or the service a role goes to
            condition = json.dumps(statement["Condition"])
            assert stack in condition or any(f'"{service}.amazonaws.com"' in condition
                                             for service in ("lambda", "rds")), condition


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_preview_roles_only_read_and_never_a_secret_value(bootstrap_run, stack):
    actions = _actions(_policy(bootstrap_run, f"{stack}-preview"))
    assert actions and all(a.split(":", 1)[1].startswith(READ_VERBS) for a in actions), actions
    assert "secretsmanager:GetSecretValue" not in actions and "lambda:InvokeFunction" not in actions


def test_only_staging_may_run_its_tracker_for_the_smoke_test(bootstrap_run):
    staging = [
        s
        for s in _policy(bootstrap_run, "staging-deploy")["Statement"]
        if "lambda:InvokeFunction" in s["Action"]
    ]
    assert [s["Resource"] for s in staging] == [
        [
            f"arn:aws:lambda:us-east-1:{STACKS['staging']['accountId']}:function:llm-cost-governance-staging-cost-tracker"
        ]
    ]
    assert "lambda:InvokeFunction" not in _actions(_policy(bootstrap_run, "prod-deploy"))


def _aws(run) -> list:
    return [r for r in run.resources if r.typ.startswith("aws:")]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_resource_type_the_program_can_declare_has_its_create_action(bootstrap_run, full_programs,
                                                                          stack):
    types = {r.typ for r in _aws(full_programs[stack])} | {r.typ for r in _aws(run_program(stack))}
    unknown = types - set(CREATE_ACTION)
    assert not unknown, f"the program creates {unknown}: grant the deploy roles in bootstrap/deploy_policy.py"
    assert {CREATE_ACTION[t] for t in types} <= _actions(_policy(bootstrap_run, f"{stack}-deploy"))


def _deploy_permissions(stack: str) -> dict[str, Any]:
    """The deploy role's inline and managed policy together (in the mocks' account and region)."""
    inline = deploy_policy(scope(stack), smoke_test=stack == "staging")
    return {**inline, "Statement": inline["Statement"] + ledger_deploy_policy(scope(stack))["Statement"]}


def _requests(run) -> list[tuple[str, str, str, dict[str, str]]]:
    """(resource, action, ARN, request context) of each create call `pulumi up` makes for `run`."""
    region, account = REGION, ACCOUNT
    arn = {  # resource name or mock id -> (ARN, tags, boundary) of what later calls act on
        key: (f"arn:aws:iam::{account}:role/{r.inputs.get('name', r.name)}", r.inputs.get("tags", {}),
              r.inputs.get("permissionsBoundary", ""))
        for r in run.of_type("aws:iam/role:Role") for key in (r.inputs.get("name", r.name),)
    }
    secrets = {f"{r.name}-id": (f"arn:aws:secretsmanager:{region}:{account}:secret:{r.name}-Ab12Cd",
                                r.inputs.get("tags", {}))
               for r in run.of_type("aws:secretsmanager/secret:Secret")}
    requests = []
    for r in _aws(run):
        i, action = r.inputs, CREATE_ACTION[r.typ]
        tags = {f"aws:RequestTag/{k}": v for k, v in (i.get("tags") or {}).items()}
        service = r.typ.split(":")[1].split("/")[0]
        if service == "s3":
            target = f"arn:aws:s3:::{i['bucket']}"
        elif r.typ == "aws:iam/role:Role":
            role_arn, _, boundary = arn[i.get("name", r.name)]
            target, tags = role_arn, {**tags, "iam:PermissionsBoundary": boundary}
        elif r.typ == "aws:iam/rolePolicy:RolePolicy":
            role_arn, role_tags, boundary = arn[i["role"]]
            target = role_arn
            tags = {"aws:ResourceTag/stack": role_tags.get("stack", ""), "iam:PermissionsBoundary": boundary}
        elif r.typ == "aws:lambda/function:Function":
            target = f"arn:aws:lambda:{region}:{account}:function:{i['name']}"
            role_name = i["role"].rsplit("/", 1)[1]
            requests.append((r.name, "iam:PassRole", i["role"], {
                "aws:ResourceTag/stack": arn[role_name][1].get("stack", ""),
                "iam:PassedToService": "lambda.amazonaws.com"}))
        elif service == "lambda":
            target = f"arn:aws:lambda:{region}:{account}:function:{i.get('function') or i['functionName']}"
        elif r.typ == "aws:secretsmanager/secret:Secret":
            target = secrets[f"{r.name}-id"][0]
        elif r.typ == "aws:secretsmanager/secretVersion:SecretVersion":
            target = secrets[i["secretId"]][0]
            tags = {"aws:ResourceTag/stack": secrets[i["secretId"]][1].get("stack", "")}
        elif r.typ == "aws:kms/key:Key":
            target = "*"
        elif r.typ == "aws:kms/alias:Alias":
            target = f"arn:aws:kms:{region}:{account}:{i['name']}"
        elif r.typ == "aws:sns/topic:Topic":
            target = f"arn:aws:sns:{region}:{account}:{i['name']}"
        elif r.typ.startswith("aws:sns/"):
            target = i.get("arn") or i["topic"]
        elif r.typ == "aws:cloudwatch/dashboard:Dashboard":
            target = f"arn:aws:cloudwatch::{account}:dashboard/{i['dashboardName']}"
        elif r.typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            target = f"arn:aws:cloudwatch:{region}:{account}:alarm:{i['name']}"
        elif r.typ == "aws:cloudwatch/logGroup:LogGroup":
            target = f"arn:aws:logs:{region}:{account}:log-group:{i['name']}"
        elif r.typ == "aws:ec2/securityGroup:SecurityGroup":  # a new group's ARN; CreateSecurityGroup
            target = f"arn:aws:ec2:{region}:{account}:security-group/sg-0new"  # is checked on the VPC too
            requests.append((r.name, action, f"arn:aws:ec2:{region}:{account}:vpc/vpc-0default", {}))
        elif r.typ == "aws:rds/parameterGroup:ParameterGroup":
            target = f"arn:aws:rds:{region}:{account}:pg:{i['name']}"
        elif r.typ == "aws:rds/instance:Instance":
            target = f"arn:aws:rds:{region}:{account}:db:{i['identifier']}"
        elif r.typ.startswith("aws:cloudwatch/event"):
            target = f"arn:aws:events:{region}:{account}:rule/{i.get('rule') or i['name']}"
        else:
            raise AssertionError(f"no ARN rule for {r.typ}: add one here")
        requests.append((r.name, action, target, tags))
    return requests


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_deploy_role_may_create_everything_the_program_can_declare_and_nothing_of_the_other_stack(
        full_programs, stack):
    """IAM's answer, from the policy JSON, for each create call of a full `pulumi up` (every optional
    component on): allowed by the stack's own deploy policy, refused by the other stack's, even in
    one shared account (names and tags scope it, not only the account)."""
    other = "prod" if stack == "staging" else "staging"
    own, theirs = _deploy_permissions(stack), _deploy_permissions(other)
    requests = _requests(full_programs[stack])
    assert {action for _, action, _, _ in requests} >= {
        "s3:CreateBucket", "s3:PutBucketNotification", "iam:CreateRole", "iam:PassRole",
        "rds:CreateDBInstance", "ec2:CreateSecurityGroup"}
    for name, action, target, context in requests:
        assert decide(own, action, target, context) == ALLOW, (name, action, target, context)
        # kms:CreateKey has no resource-level scope (its tag condition is checked below); the default
        # VPC a security group goes into is the account's (the group itself is checked)
        if target != "*" and ":vpc/" not in target:
            assert decide(theirs, action, target, context) != ALLOW, (name, action, target)
    key = next(c for _, a, _, c in requests if a == "kms:CreateKey")
    assert decide(theirs, "kms:CreateKey", "*", key) != ALLOW


def test_the_deploy_policies_fit_iams_size_limits(bootstrap_run):
    """IAM refuses a role's inline policies over 10,240 characters and a managed policy over 6,144
    (whitespace not counted); the deploy role's managed policy is attached to it."""
    for stack in ("staging", "prod"):
        inline = json.dumps(deploy_policy(scope(stack), smoke_test=True), separators=(",", ":"))
        managed = json.dumps(ledger_deploy_policy(scope(stack)), separators=(",", ":"))
        assert len(inline) <= INLINE_POLICIES_MAX_CHARS and len(managed) <= MANAGED_POLICY_MAX_CHARS
        attachment = bootstrap_run.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                                       f"roles-{stack}-deploy-ledger").inputs
        account = STACKS[stack]["accountId"]
        managed_arn = f"arn:aws:iam::{account}:policy/llm-cost-governance-{stack}-deploy-ledger"
        assert attachment == {"role": f"llm-cost-governance-{stack}-deploy", "policyArn": managed_arn}


# What the grants scope by the `stack` tag, and by the name prefix: the program must keep both.
TAG_SCOPED = ("aws:iam/role:Role", "aws:secretsmanager/secret:Secret", "aws:kms/key:Key")
NAME_SCOPED = {
    "aws:lambda/function:Function": "name",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "name",
    "aws:sns/topic:Topic": "name",
    "aws:cloudwatch/eventRule:EventRule": "name",
    "aws:cloudwatch/dashboard:Dashboard": "dashboardName",
}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_program_names_and_tags_what_the_grants_scope(bootstrap_run, full_programs, stack):
    program = full_programs[stack]
    for resource in program.resources:
        if resource.typ in TAG_SCOPED:
            assert resource.inputs.get("tags", {}).get("stack") == stack, f"{resource.typ} {resource.name}"
        if resource.typ in NAME_SCOPED:
            name = resource.inputs[NAME_SCOPED[resource.typ]]
            prefix = f"llm-cost-governance-{stack}"
            assert name == prefix or name.startswith(f"{prefix}-"), f"{resource.typ} {name}"
            arns = [r for s in _policy(bootstrap_run, f"{stack}-deploy")["Statement"] for r in s["Resource"]]
            assert any(fnmatch.fnmatchcase(name, arn.rsplit(":", 1)[-1].split("/", 1)[-1]) for arn in arns), (
                name
            )
        if resource.typ == "aws:cloudwatch/logGroup:LogGroup":
            assert resource.inputs["name"].startswith(f"/aws/lambda/llm-cost-governance-{stack}-")


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_monitor_roles_read_the_trackers_configuration_and_its_two_secrets_only(bootstrap_run, stack):
    """cost-monitor.yml runs the tracker CLI in report mode: never a metric write, no other secret."""
    doc = _policy(bootstrap_run, f"{stack}-monitor")
    assert _actions(doc) == {"lambda:GetFunctionConfiguration", "secretsmanager:GetSecretValue"}
    account, region = STACKS[stack]["accountId"], STACKS[stack]["region"]
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["TrackerConfiguration"]["Resource"] == [
        f"arn:aws:lambda:{region}:{account}:function:llm-cost-governance-{stack}-cost-tracker"]
    secrets = by_sid["TrackerSecrets"]
    assert secrets["Resource"] == [f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-*"
                                   for name in ("secrets-gateway-admin-token", "secrets-lambda-api-key")]
    assert secrets["Condition"] == {"StringEquals": {"aws:ResourceTag/stack": stack}}


def test_the_monitored_secrets_are_the_ones_the_program_creates():
    from bootstrap.deploy_policy import MONITOR_SECRETS

    names = {r.name for r in run_program("prod").of_type("aws:secretsmanager/secret:Secret")}
    assert set(MONITOR_SECRETS) <= names


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_ledger_database_grants(stack):
    """LedgerDatabase (components/ledger_database.py, issue 15): its group, parameter group,
    instance and final snapshot named `<prefix>-ledger*`, and the password secret RDS creates, which
    only the stack's instance's tag opens."""
    other = "prod" if stack == "staging" else "staging"
    own, theirs = _deploy_permissions(stack), _deploy_permissions(other)
    rds = f"arn:aws:rds:{REGION}:{ACCOUNT}"
    prefix = f"llm-cost-governance-{stack}"
    for action, target in (("rds:CreateDBInstance", f"{rds}:db:{prefix}-ledger"),
                           ("rds:CreateDBInstance", f"{rds}:pg:{prefix}-ledger-db"),
                           ("rds:CreateDBInstance", f"{rds}:subgrp:default"),
                           ("rds:CreateDBParameterGroup", f"{rds}:pg:{prefix}-ledger-db"),
                           ("rds:DeleteDBInstance", f"{rds}:db:{prefix}-ledger"),
                           ("rds:CreateDBSnapshot", f"{rds}:snapshot:{prefix}-ledger-final")):
        assert decide(own, action, target) == ALLOW, (action, target)
        if ":default" not in target:
            assert decide(theirs, action, target) != ALLOW, (action, target)
    group = f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0123"
    assert decide(own, "ec2:CreateSecurityGroup", group, {"aws:RequestTag/stack": stack}) == ALLOW
    assert decide(own, "ec2:AuthorizeSecurityGroupIngress", group, {"aws:ResourceTag/stack": stack}) == ALLOW
    assert decide(own, "ec2:AuthorizeSecurityGroupIngress", group, {"aws:ResourceTag/stack": other}) != ALLOW
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-0a1b2c3d-Xy12Ab"
    tag = "aws:ResourceTag/aws:rds:primaryDBInstanceArn"
    assert decide(own, "secretsmanager:GetSecretValue", secret, {tag: f"{rds}:db:{prefix}-ledger"}) == ALLOW
    assert decide(own, "secretsmanager:GetSecretValue", secret,
                  {tag: f"{rds}:db:llm-cost-governance-{other}-ledger"}) != ALLOW
    assert decide(own, "secretsmanager:GetSecretValue", secret) != ALLOW
