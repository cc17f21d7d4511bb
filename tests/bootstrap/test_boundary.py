"""The permissions boundary closes the deploy role's escalation path: it may create roles and write
their inline policies only for roles carrying the stack's boundary, which it cannot change or
remove; the main program puts the boundary on every role it creates; the boundary leaves the
program's own roles everything their policies grant. IAM's answers come from the policy JSON
(iam_eval.decide): moto does not evaluate conditions."""

from __future__ import annotations

import json

import pytest
import yaml

from bootstrap.deploy_policy import boundary_policy, deploy_policy
from components.iam_boundary import KEY
from components.settings import SettingsError
from tests.program.harness import ACCOUNT, run_program

from .full_program import MAIN, run_everything, scope
from .harness import committed_config
from .iam_eval import ALLOW, DENY, decide

ROLE = f"arn:aws:iam::{ACCOUNT}:role/{MAIN}-staging-cost-tracker"
FOREIGN = f"arn:aws:iam::{ACCOUNT}:role/ops-admin"  # someone else's role in the same account
UNNAMED = f"arn:aws:iam::{ACCOUNT}:role/cost-tracker-role-1a2b3c"  # a stack role from before the names
STACKS = committed_config()["stacks"]


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _deploy(stack: str = "staging") -> dict:
    return deploy_policy(scope(stack), smoke_test=stack == "staging")


def _new_role(stack: str = "staging", boundary: str | None = None) -> dict[str, str]:
    context = {"aws:RequestTag/stack": stack}
    if boundary is not None:
        context["iam:PermissionsBoundary"] = boundary
    return context


def _existing_role(stack: str = "staging", boundary: str | None = None) -> dict[str, str]:
    context = {"aws:ResourceTag/stack": stack}
    if boundary is not None:
        context["iam:PermissionsBoundary"] = boundary
    return context


def test_roles_are_created_only_with_the_stacks_boundary():
    own = scope("staging").boundary_arn
    assert decide(_deploy(), "iam:CreateRole", ROLE, _new_role(boundary=own)) == ALLOW
    for context in (_new_role(), _new_role(boundary=scope("prod").boundary_arn),
                    _new_role(boundary="arn:aws:iam::aws:policy/AdministratorAccess"),
                    _new_role("prod", boundary=own)):
        assert decide(_deploy(), "iam:CreateRole", ROLE, context) != ALLOW, context


def test_inline_policies_only_on_roles_within_the_boundary():
    own = scope("staging").boundary_arn
    assert decide(_deploy(), "iam:PutRolePolicy", ROLE, _existing_role(boundary=own)) == ALLOW
    # a stack-tagged role without the boundary (or with another) gets no policy from the deploy role
    assert decide(_deploy(), "iam:PutRolePolicy", ROLE, _existing_role()) != ALLOW
    other = _existing_role(boundary=scope("prod").boundary_arn)
    assert decide(_deploy(), "iam:PutRolePolicy", ROLE, other) != ALLOW
    # (deleting a stack role's inline policy is always allowed: it grants nothing)
    # managed policies are never attached: AdministratorAccess cannot reach a role that way
    assert decide(_deploy(), "iam:AttachRolePolicy", ROLE, _existing_role(boundary=own)) != ALLOW


def test_the_only_boundary_it_can_set_is_the_stacks_and_it_never_removes_one():
    own = scope("staging").boundary_arn
    # a role created before the boundary existed gets it on the next `pulumi up`
    assert decide(_deploy(), "iam:PutRolePermissionsBoundary", ROLE, _existing_role(boundary=own)) == ALLOW
    assert decide(_deploy(), "iam:PutRolePermissionsBoundary", ROLE,
                  _existing_role(boundary="arn:aws:iam::aws:policy/AdministratorAccess")) != ALLOW
    assert decide(_deploy(), "iam:DeleteRolePermissionsBoundary", ROLE, _existing_role(boundary=own)) == DENY


def test_no_other_role_can_be_tagged_into_reach():
    """Tags scope the role grants, so tagging a foreign role with the stack would hand it over:
    TagRole, like every role write, is limited to roles named with the stack prefix."""
    own = scope("staging").boundary_arn
    assert decide(_deploy(), "iam:TagRole", FOREIGN, _new_role()) != ALLOW
    tagged = _existing_role(boundary=own)  # even if someone else tagged it
    for action in ("iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:PassRole", "iam:TagRole",
                   "iam:PutRolePermissionsBoundary", "iam:UpdateRole"):
        request = {**tagged, "iam:PassedToService": "lambda.amazonaws.com"}
        assert decide(_deploy(), action, FOREIGN, request) != ALLOW, action
    assert decide(_deploy(), "iam:TagRole", f"arn:aws:iam::{ACCOUNT}:role/{MAIN}-prod-cost-tracker",
                  _new_role()) != ALLOW


def test_stack_roles_from_before_the_names_can_only_be_deleted():
    context = _existing_role()
    for action in ("iam:DeleteRolePolicy", "iam:DeleteRole"):
        assert decide(_deploy(), action, UNNAMED, context) == ALLOW
        assert decide(_deploy(), action, UNNAMED, _existing_role("prod")) != ALLOW
    for action in ("iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PassRole", "iam:TagRole"):
        assert decide(_deploy(), action, UNNAMED, {**context, "aws:RequestTag/stack": "staging"}) != ALLOW


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_program_names_every_role_with_the_stack_prefix(full_programs, stack):
    for role in full_programs[stack].of_type("aws:iam/role:Role"):
        assert role.inputs["name"].startswith(f"{MAIN}-{stack}-"), role.name
        assert len(role.inputs["name"]) <= 64


@pytest.mark.parametrize("action", ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
                                    "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:CreatePolicy",
                                    "iam:TagPolicy"])
@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_no_boundary_can_be_changed(action, stack):
    for owner in ("staging", "prod"):
        assert decide(_deploy(stack), action, scope(owner).boundary_arn, _existing_role(stack)) == DENY


@pytest.mark.parametrize("kind", ["deploy", "preview", "monitor"])
def test_the_bootstraps_own_roles_are_out_of_reach_even_when_tagged(kind):
    """Tagging its own role with the stack (iam:TagRole on a new role's tags) must not open it up."""
    for stack in ("staging", "prod"):
        role = f"arn:aws:iam::{ACCOUNT}:role/{MAIN}-{stack}-{kind}"
        context = _existing_role("staging", boundary=scope("staging").boundary_arn)
        for action in ("iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:DeleteRole",
                       "iam:PutRolePermissionsBoundary", "iam:AttachRolePolicy"):
            request = {**context, "aws:RequestTag/stack": "staging"}
            assert decide(_deploy("staging"), action, role, request) == DENY, (action, role)


def test_the_deploy_role_writes_no_managed_policy_and_no_user():
    actions = {a for s in _deploy()["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}
    assert not {a for a in actions if a.startswith("iam:") and ("Policy" in a and "Role" not in a)}
    people = ("User", "Group", "AccessKey")
    assert not {a for a in actions if a.startswith("iam:") and any(w in a for w in people)}
    assert "iam:AttachRolePolicy" not in actions and "iam:DeleteRolePermissionsBoundary" not in actions


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_iam_role_of_the_program_carries_the_boundary(full_programs, stack):
    roles = full_programs[stack].of_type("aws:iam/role:Role")
    assert len(roles) >= 4  # tracker, exporter, Slack forwarder, Snowflake read role
    for role in roles:
        assert role.inputs.get("permissionsBoundary") == scope(stack).boundary_arn, role.name


def test_without_the_key_roles_have_no_boundary_and_runs_do_not_leak_it():
    run_everything("staging")  # registers the boundary transformation in its own run only
    for run in (run_program("prod"), run_everything("prod", boundary=False)):
        assert all("permissionsBoundary" not in r.inputs for r in run.of_type("aws:iam/role:Role"))


@pytest.mark.parametrize("value", ["llm-boundary", "arn:aws:iam::123:policy/x",
                                   "arn:aws:iam::123456789012:role/x"])
def test_a_bad_boundary_arn_fails_naming_the_key(value):
    with pytest.raises(SettingsError, match=rf"{KEY} = '{value}'.*managed policy"):
        run_program("staging", {KEY: value})


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_boundary_leaves_every_program_role_what_its_policy_grants(full_programs, stack):
    """Each (action, resource) of every inline policy the program writes is allowed by the boundary;
    the resources are those of the run (its tags name the stack, tests/test_permissions checks)."""
    boundary = boundary_policy(scope(stack))
    checked = 0
    for policy in full_programs[stack].of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            for action in _listed(statement["Action"]):
                for resource in _listed(statement["Resource"]):
                    allowed = decide(boundary, action, resource, {"aws:ResourceTag/stack": stack})
                    assert allowed == ALLOW, (policy.name, action, resource)
                    checked += 1
    assert checked >= 10
    # and nothing of the other stack
    other = "prod" if stack == "staging" else "staging"
    assert decide(boundary, "s3:PutObject", f"arn:aws:s3:::{MAIN}-{other}-usage-{ACCOUNT}/usage/x") != ALLOW
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:x"
    other_tag = {"aws:ResourceTag/stack": other}
    assert decide(boundary, "secretsmanager:GetSecretValue", secret, other_tag) != ALLOW


def test_the_boundary_has_no_iam_and_no_wildcard_action():
    for stack in ("staging", "prod"):
        actions = [a for s in boundary_policy(scope(stack))["Statement"] for a in s["Action"]]
        assert actions and not [a for a in actions if "*" in a or a.startswith(("iam:", "sts:"))]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_bootstrap_creates_the_boundary_and_hands_its_arn_to_the_stack(bootstrap_run, stack):
    account = STACKS[stack]["accountId"]
    arn = f"arn:aws:iam::{account}:policy/{MAIN}-{stack}-boundary"
    policy = bootstrap_run.one("aws:iam/policy:Policy", f"roles-{stack}-boundary").inputs
    assert policy["name"] == f"{MAIN}-{stack}-boundary"
    assert json.loads(policy["policy"]) == boundary_policy(
        scope(stack).__class__(account, STACKS[stack]["region"], MAIN, stack))
    env = bootstrap_run.one("pulumiservice:index:Environment", f"pulumi-cloud-{stack}-env").inputs["yaml"]
    assert yaml.safe_load(env.text)["values"]["pulumiConfig"][f"{MAIN}:{KEY}"] == arn
    deploy = json.loads(bootstrap_run.one("aws:iam/rolePolicy:RolePolicy", f"roles-{stack}-deploy-policy")
                        .inputs["policy"])
    named = {s["Condition"]["StringEquals"].get("iam:PermissionsBoundary")
             for s in deploy["Statement"] if "Condition" in s} - {None}
    assert named == {arn}
    assert bootstrap_run.outputs["permissionsBoundaryArns"][stack] == arn
