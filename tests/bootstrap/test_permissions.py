"""The deploy and preview roles' permissions: the main program's resources only, no wildcard action,
`Resource: "*"` only where AWS has no resource-level permission, previews read no secret."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from bootstrap.deploy_policy import GRANTS
from policy import validators
from tests.program.harness import run_program

from .harness import committed_config

STACKS = committed_config()["stacks"]
READ_VERBS = ("Get", "Describe", "List")
# The create call of every AWS resource type the main program declares: adding a new type to the
# program fails here until the deploy roles may create it.
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
}


def _policy(run, role: str) -> dict[str, Any]:
    return json.loads(run.one("aws:iam/rolePolicy:RolePolicy", f"roles-{role}-policy").inputs["policy"])


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
        grant = next((g for g in GRANTS if g.sid == statement["Sid"]), None)
        for resource in statement["Resource"]:
            if resource == "*":
                assert grant is not None and grant.why_star, f"{role} {statement['Sid']}: '*' needs a reason"
                continue
            assert f":{account}:" in resource, resource
            assert f"-{other}-" not in resource, resource
            named = f"llm-cost-governance-{stack}-" in resource or resource.endswith(
                f"/llm-cost-governance-{stack}"
            )
            tagged = "aws:ResourceTag/stack" in json.dumps(
                statement.get("Condition", {})
            ) or "aws:RequestTag/stack" in json.dumps(statement.get("Condition", {}))
            assert named or tagged or statement["Sid"] == "ListLogGroups", (
                f"{role} {statement['Sid']}: {resource}"
            )
        if statement.get("Condition"):
            assert stack in json.dumps(statement["Condition"]) or "lambda.amazonaws.com" in json.dumps(
                statement["Condition"]
            )


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


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_deploy_roles_may_create_every_resource_type_the_program_declares(bootstrap_run, stack):
    program = run_program(stack)
    types = {r.typ for r in program.resources if r.typ.startswith("aws:")}
    unknown = types - set(CREATE_ACTION)
    assert not unknown, f"the program creates {unknown}: grant the deploy roles in bootstrap/deploy_policy.py"
    actions = _actions(_policy(bootstrap_run, f"{stack}-deploy"))
    assert {CREATE_ACTION[t] for t in types} <= actions


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
def test_the_program_names_and_tags_what_the_grants_scope(bootstrap_run, stack):
    program = run_program(stack)
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
