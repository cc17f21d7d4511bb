"""What a stack's deploy role and its read-only preview role may do: the main program's resources only.

One table, one row per kind of resource the program creates (components/): the actions `pulumi up`
needs on it (create, read, update, tag, delete), the subset a preview or refresh reads, and where
it lives. Names are scoped to the stack prefix `<project>-<stack>-` where the program names things;
what Pulumi auto-names (secrets, KMS keys) is scoped by the `stack` cost tag every
program resource carries (components/naming.py), on create (aws:RequestTag) and after
(aws:ResourceTag). No action is a wildcard. A `Resource: "*"` appears only where AWS has no
resource-level permission for the action; each such row says so.

Privilege escalation: a role the deploy role creates could be given any inline policy and then be
passed to Lambda or trusted by the deploy role itself. So every role it creates or whose policies
it writes must carry the stack's permissions boundary (`<project>-<stack>-boundary`, a managed
policy the bootstrap creates, `boundary_policy` below): IAM evaluates `iam:PermissionsBoundary` on
CreateRole, PutRolePolicy, DeleteRolePolicy and PutRolePermissionsBoundary. The deploy role never
touches a managed policy, never removes a boundary, and never writes the bootstrap's own roles
(explicit Deny, which no Allow overrides).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STACK_TAG = "stack"
BOUNDARY_KEY = "iam:PermissionsBoundary"


@dataclass(frozen=True)
class Scope:
    account: str
    region: str
    project: str
    stack: str

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.stack}"

    @property
    def boundary_name(self) -> str:
        return f"{self.prefix}-boundary"

    @property
    def boundary_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:policy/{self.boundary_name}"


@dataclass(frozen=True)
class Grant:
    sid: str
    write: tuple[str, ...]  # only the deploy role
    read: tuple[str, ...]  # deploy and preview roles
    resources: Callable[[Scope], list[str]]
    # "request": tag on create must name the stack; "resource": the existing resource's tag must.
    tag_condition: str | None = None
    why_star: str = ""  # required when resources is ["*"] or not the stack's own (named or tagged)
    extra_condition: dict[str, Any] = field(default_factory=dict)
    boundary: bool = False  # the role must carry (or be given) the stack's permissions boundary
    scoped_condition: Callable[[Scope], dict[str, Any]] | None = None  # a condition naming the stack


def _arn(service: str, s: Scope, rest: str, *, regional: bool = True) -> str:
    return f"arn:aws:{service}:{s.region if regional else ''}:{s.account}:{rest}"


GRANTS: tuple[Grant, ...] = (
    Grant(
        "AlertTopic",
        (
            "sns:CreateTopic",
            "sns:DeleteTopic",
            "sns:SetTopicAttributes",
            "sns:TagResource",
            "sns:UntagResource",
            "sns:Subscribe",
            "sns:Unsubscribe",
            "sns:SetSubscriptionAttributes",
        ),
        (
            "sns:GetTopicAttributes",
            "sns:ListTagsForResource",
            "sns:GetSubscriptionAttributes",
            "sns:ListSubscriptionsByTopic",
        ),
        # the topic and its subscriptions (topic ARN + ':<id>')
        lambda s: [_arn("sns", s, f"{s.prefix}-*")],
    ),
    Grant(
        "AlarmsAndDashboard",
        (
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:DeleteAlarms",
            "cloudwatch:TagResource",
            "cloudwatch:UntagResource",
            "cloudwatch:PutDashboard",
            "cloudwatch:DeleteDashboards",
        ),
        ("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource", "cloudwatch:GetDashboard"),
        lambda s: [
            _arn("cloudwatch", s, f"alarm:{s.prefix}-*"),
            _arn("cloudwatch", s, f"dashboard/{s.prefix}", regional=False),
            _arn("cloudwatch", s, f"dashboard/{s.prefix}-*", regional=False),
        ],
    ),
    Grant(
        "FunctionLogGroups",
        (
            "logs:CreateLogGroup",
            "logs:DeleteLogGroup",
            "logs:PutRetentionPolicy",
            "logs:DeleteRetentionPolicy",
            "logs:TagResource",
            "logs:UntagResource",
            "logs:TagLogGroup",
            "logs:UntagLogGroup",
        ),
        ("logs:ListTagsForResource", "logs:ListTagsLogGroup"),
        lambda s: [
            _arn("logs", s, f"log-group:/aws/lambda/{s.prefix}-*"),
            _arn("logs", s, f"log-group:/aws/lambda/{s.prefix}-*:*"),
        ],
    ),
    Grant("ListLogGroups", (), ("logs:DescribeLogGroups",), lambda s: [_arn("logs", s, "log-group:*")],
          why_star="DescribeLogGroups lists by name prefix, authorised on the account's log-group space"),
    Grant(
        "Functions",
        (
            "lambda:CreateFunction",
            "lambda:DeleteFunction",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:TagResource",
            "lambda:UntagResource",
            "lambda:AddPermission",
            "lambda:RemovePermission",
            "lambda:PutFunctionEventInvokeConfig",
            "lambda:UpdateFunctionEventInvokeConfig",
            "lambda:DeleteFunctionEventInvokeConfig",
        ),
        (
            "lambda:GetFunction",
            "lambda:GetFunctionConfiguration",
            "lambda:ListVersionsByFunction",
            "lambda:GetFunctionCodeSigningConfig",
            "lambda:ListTags",
            "lambda:GetPolicy",
            "lambda:GetFunctionEventInvokeConfig",
            "lambda:GetFunctionRecursionConfig",
        ),
        lambda s: [_arn("lambda", s, f"function:{s.prefix}-*")],
    ),
    Grant(
        "Schedule",
        (
            "events:PutRule",
            "events:DeleteRule",
            "events:EnableRule",
            "events:DisableRule",
            "events:PutTargets",
            "events:RemoveTargets",
            "events:TagResource",
            "events:UntagResource",
        ),
        ("events:DescribeRule", "events:ListTargetsByRule", "events:ListTagsForResource"),
        lambda s: [_arn("events", s, f"rule/{s.prefix}-*")],
    ),
    # UsageExport's bucket (`<prefix>-usage-<account>`: bucket names are global, so every bucket of
    # the stack ends in its account id) and its configuration; Snowflake's bucket notification.
    # The reads are what the provider's refresh of a bucket asks for.
    Grant(
        "StackBuckets",
        (
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:PutBucketTagging",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutEncryptionConfiguration",
            "s3:PutLifecycleConfiguration",
            "s3:PutBucketPolicy",
            "s3:DeleteBucketPolicy",
            "s3:PutBucketNotification",
        ),
        (
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:GetBucketTagging",
            "s3:GetBucketPublicAccessBlock",
            "s3:GetEncryptionConfiguration",
            "s3:GetLifecycleConfiguration",
            "s3:GetBucketPolicy",
            "s3:GetBucketNotification",
            "s3:GetBucketAcl",
            "s3:GetBucketCORS",
            "s3:GetBucketWebsite",
            "s3:GetBucketVersioning",
            "s3:GetAccelerateConfiguration",
            "s3:GetBucketRequestPayment",
            "s3:GetBucketLogging",
            "s3:GetReplicationConfiguration",
            "s3:GetBucketObjectLockConfiguration",
            "s3:GetBucketOwnershipControls",
        ),
        lambda s: [f"arn:aws:s3:::{s.prefix}-*-{s.account}"],
    ),
    # Roles are named with the stack prefix (components/lambda_parts.py, snowflake_insights.py), so
    # a role of anyone else can never be tagged into the stack's reach. Tags on create need
    # iam:TagRole too. (The bootstrap's own `<prefix>-deploy|preview|monitor` match the pattern:
    # the explicit Deny below keeps them out.)
    Grant(
        "TagNewRoles",
        ("iam:TagRole",),
        (),
        lambda s: [f"arn:aws:iam::{s.account}:role/{s.prefix}-*"],
        tag_condition="request",
    ),
    Grant(
        "CreateRolesWithBoundary",
        ("iam:CreateRole",),
        (),
        lambda s: [f"arn:aws:iam::{s.account}:role/{s.prefix}-*"],
        tag_condition="request",
        boundary=True,
    ),
    Grant(
        "FunctionRoles",
        (
            "iam:DeleteRole",
            "iam:UpdateRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:TagRole",
            "iam:UntagRole",
        ),
        (
            "iam:GetRole",
            "iam:GetRolePolicy",
            "iam:ListRolePolicies",
            "iam:ListAttachedRolePolicies",
            "iam:ListRoleTags",
            "iam:ListInstanceProfilesForRole",
        ),
        lambda s: [f"arn:aws:iam::{s.account}:role/{s.prefix}-*"],
        tag_condition="resource",
    ),
    # What a role may do is written only within the boundary: a role without it (or with another)
    # gets no inline policy, and the only boundary it can be given is the stack's.
    Grant(
        "RolePoliciesWithinBoundary",
        ("iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"),
        (),
        lambda s: [f"arn:aws:iam::{s.account}:role/{s.prefix}-*"],
        tag_condition="resource",
        boundary=True,
    ),
    # Roles of stacks deployed before roles were named (Pulumi's auto-names, `<resource>-role-<hex>`,
    # stack-tagged, no boundary) are replaced by named ones: deleting them and their inline policy
    # is all that is allowed on them, and deleting grants nothing.
    Grant(
        "DeleteUnnamedStackRoles",
        ("iam:DeleteRolePolicy", "iam:DeleteRole"),
        ("iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
         "iam:ListInstanceProfilesForRole"),
        lambda s: [f"arn:aws:iam::{s.account}:role/*"],
        tag_condition="resource",
    ),
    Grant(
        "PassFunctionRolesToLambda",
        ("iam:PassRole",),
        (),
        lambda s: [f"arn:aws:iam::{s.account}:role/{s.prefix}-*"],
        tag_condition="resource",
        extra_condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
    ),
    Grant(
        "CreateSecrets",
        ("secretsmanager:CreateSecret", "secretsmanager:TagResource"),
        (),
        lambda s: [_arn("secretsmanager", s, "secret:*")],
        tag_condition="request",
    ),
    # GetSecretValue: Pulumi reads a SecretVersion back after writing it and on refresh. The
    # preview role never gets it.
    Grant(
        "Secrets",
        (
            "secretsmanager:DeleteSecret",
            "secretsmanager:UpdateSecret",
            "secretsmanager:PutSecretValue",
            "secretsmanager:GetSecretValue",
            "secretsmanager:TagResource",
            "secretsmanager:UntagResource",
            "secretsmanager:RestoreSecret",
        ),
        ("secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"),
        lambda s: [_arn("secretsmanager", s, "secret:*")],
        tag_condition="resource",
    ),
    Grant(
        "CreateTopicKey",
        ("kms:CreateKey", "kms:TagResource"),
        (),
        lambda s: ["*"],
        tag_condition="request",
        why_star="kms:CreateKey has no resource-level permission (the key ARN does not exist yet)",
    ),
    Grant(
        "TopicKey",
        (
            "kms:PutKeyPolicy",
            "kms:EnableKeyRotation",
            "kms:TagResource",
            "kms:UntagResource",
            "kms:ScheduleKeyDeletion",
            "kms:UpdateKeyDescription",
            "kms:CreateAlias",
            "kms:DeleteAlias",
            "kms:UpdateAlias",
        ),
        ("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"),
        lambda s: [_arn("kms", s, "key/*")],
        tag_condition="resource",
    ),
    Grant(
        "TopicKeyAlias",
        ("kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"),
        (),
        lambda s: [_arn("kms", s, f"alias/{s.prefix}-*")],
    ),
    Grant(
        "ListKeyAliases",
        (),
        ("kms:ListAliases",),
        lambda s: ["*"],
        why_star="kms:ListAliases has no resource-level permission",
    ),
)


# The shared ledger's database (issue 15), in a managed policy of its own attached to the deploy role:
# IAM caps a role's inline policies at 10,240 characters, which the rows above nearly fill.
LEDGER_GRANTS: tuple[Grant, ...] = (
    # LedgerDatabase (components/ledger_database.py): its security group in the account's default
    # VPC, stack-tagged on create and after. EC2 authorises CreateSecurityGroup on the VPC too.
    Grant(
        "CreateLedgerSecurityGroup",
        ("ec2:CreateSecurityGroup", "ec2:CreateTags"),
        (),
        lambda s: [_arn("ec2", s, "security-group/*")],
        tag_condition="request",
    ),
    Grant(
        "CreateSecurityGroupInVpc",
        ("ec2:CreateSecurityGroup",),
        (),
        lambda s: [_arn("ec2", s, "vpc/*")],
        why_star="the group goes into the account's default VPC (not the stack's); the group itself is "
        "tag-scoped above",
    ),
    Grant(
        "LedgerSecurityGroup",
        (
            "ec2:DeleteSecurityGroup",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ),
        (),
        lambda s: [_arn("ec2", s, "security-group/*")],
        tag_condition="resource",
    ),
    Grant(
        "DescribeNetwork",
        (),
        (
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:DescribeVpcs",
            "ec2:DescribeSubnets",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeAccountAttributes",
        ),
        lambda s: ["*"],
        why_star="EC2's Describe* calls have no resource-level permission",
    ),
    # The ledger's instance, parameter group and final snapshot, named `<prefix>-*`; CreateDBInstance
    # is also authorised on the default subnet and option groups it uses.
    Grant(
        "LedgerDatabase",
        (
            "rds:CreateDBInstance",
            "rds:ModifyDBInstance",
            "rds:DeleteDBInstance",
            "rds:RebootDBInstance",
            "rds:CreateDBParameterGroup",
            "rds:ModifyDBParameterGroup",
            "rds:ResetDBParameterGroup",
            "rds:DeleteDBParameterGroup",
            "rds:CreateDBSnapshot",
            "rds:AddTagsToResource",
            "rds:RemoveTagsFromResource",
        ),
        (
            "rds:DescribeDBInstances",
            "rds:DescribeDBParameterGroups",
            "rds:DescribeDBParameters",
            "rds:DescribeDBSnapshots",
            "rds:ListTagsForResource",
        ),
        lambda s: [
            _arn("rds", s, f"db:{s.prefix}-*"),
            _arn("rds", s, f"pg:{s.prefix}-*"),
            _arn("rds", s, f"snapshot:{s.prefix}-*"),
        ],
    ),
    Grant(
        "LedgerDatabaseDefaults",
        ("rds:CreateDBInstance",),
        ("rds:DescribeDBSubnetGroups", "rds:DescribeOptionGroups"),
        lambda s: [_arn("rds", s, "subgrp:default"), _arn("rds", s, "og:default:*")],
        why_star="the account's default subnet group and option groups, which the instance only uses",
    ),
    # RDS's first instance in an account creates its service-linked role (AWS-defined permissions,
    # no boundary applies to it; nothing the deploy role can write).
    Grant(
        "RdsServiceLinkedRole",
        ("iam:CreateServiceLinkedRole",),
        (),
        lambda s: [f"arn:aws:iam::{s.account}:role/aws-service-role/rds.amazonaws.com/*"],
        extra_condition={"StringEquals": {"iam:AWSServiceName": "rds.amazonaws.com"}},
        why_star="the service-linked role is RDS's, once per account",
    ),
    # manage_master_user_password: RDS creates the password's secret (`rds!db-<uuid>`) with the
    # caller's permissions; the deploy reads it once to build the gateways' DSN (a Pulumi secret).
    # (A secret of that name grants nothing by being created; every other use needs the tag RDS
    # puts on it, naming the stack's instance.)
    Grant(
        "CreateLedgerPasswordSecret",
        ("secretsmanager:CreateSecret", "secretsmanager:TagResource"),
        (),
        lambda s: [_arn("secretsmanager", s, "secret:rds!db-*")],
        why_star="RDS names the secret (rds!db-<uuid>) and tags it after creating it",
    ),
    Grant(
        "LedgerPasswordSecret",
        ("secretsmanager:GetSecretValue", "secretsmanager:RotateSecret", "secretsmanager:DeleteSecret"),
        ("secretsmanager:DescribeSecret",),
        lambda s: [_arn("secretsmanager", s, "secret:rds!db-*")],
        scoped_condition=lambda s: {"StringLike": {
            "aws:ResourceTag/aws:rds:primaryDBInstanceArn": _arn("rds", s, f"db:{s.prefix}-*")}},
    ),
)
ALL_GRANTS = GRANTS + LEDGER_GRANTS
MANAGED_POLICY_MAX_CHARS = 6_144  # IAM's limit for one managed policy document (whitespace excluded)
INLINE_POLICIES_MAX_CHARS = 10_240  # ... and for all of a role's inline policies together


# The permissions boundary of every role the program creates: the most any of them may do (the
# union of components/policies.py's documents, on the stack's resources). A role's own policy
# still decides; the boundary only caps what the deploy role could grant.
BOUNDARY: tuple[Grant, ...] = (
    Grant(
        "OwnFunctionLogs",
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        (),
        lambda s: [_arn("logs", s, f"log-group:/aws/lambda/{s.prefix}-*:*")],
    ),
    Grant(
        "OwnSecrets",
        ("secretsmanager:GetSecretValue",),
        (),
        lambda s: [_arn("secretsmanager", s, "secret:*")],
        tag_condition="resource",
    ),
    Grant(
        "CostMetrics",
        ("cloudwatch:PutMetricData",),
        (),
        lambda s: ["*"],
        why_star="cloudwatch:PutMetricData has no resource-level permission (the role's own policy "
        "keeps it to the stack's namespace)",
    ),
    Grant("PublishToOwnTopic", ("sns:Publish",), (), lambda s: [_arn("sns", s, f"{s.prefix}-*")]),
    Grant(
        "OwnTopicKey",
        ("kms:GenerateDataKey", "kms:Decrypt"),
        (),
        lambda s: [_arn("kms", s, "key/*")],
        tag_condition="resource",
    ),
    Grant(
        "OwnBuckets",
        ("s3:ListBucket", "s3:GetBucketLocation"),
        (),
        lambda s: [f"arn:aws:s3:::{s.prefix}-*-{s.account}"],
    ),
    Grant(
        "OwnBucketObjects",
        ("s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"),
        (),
        lambda s: [f"arn:aws:s3:::{s.prefix}-*-{s.account}/*"],
    ),
)
# The bootstrap's own roles and boundaries (every stack's: staging and prod may share an account).
BOOTSTRAP_ROLE_KINDS = ("deploy", "preview", "monitor")
_ROLE_WRITES = (
    "iam:AttachRolePolicy",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
)
_POLICY_WRITES = (
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy",
    "iam:UntagPolicy",
)


def _denials(s: Scope) -> list[dict[str, Any]]:
    """What no Allow above may ever reach, whatever a tag says."""
    iam = f"arn:aws:iam::{s.account}"
    return [
        {"Sid": "NeverTheBootstrapsRoles", "Effect": "Deny", "Action": list(_ROLE_WRITES),
         "Resource": [f"{iam}:role/{s.project}-*-{kind}" for kind in BOOTSTRAP_ROLE_KINDS]},
        # the boundaries and the deploy roles' own managed policies
        {"Sid": "NeverTheBootstrapsPolicies", "Effect": "Deny", "Action": list(_POLICY_WRITES),
         "Resource": [f"{iam}:policy/{s.project}-*"]},
        {"Sid": "NeverRemoveABoundary", "Effect": "Deny", "Action": ["iam:DeleteRolePermissionsBoundary"],
         "Resource": [f"{iam}:role/*"]},
    ]


def _condition(grant: Grant, s: Scope) -> dict[str, Any]:
    condition: dict[str, Any] = {key: dict(value) for key, value in grant.extra_condition.items()}
    for key, value in (grant.scoped_condition(s) if grant.scoped_condition else {}).items():
        condition.setdefault(key, {}).update(value)
    if grant.tag_condition == "request":
        condition.setdefault("StringEquals", {})[f"aws:RequestTag/{STACK_TAG}"] = s.stack
    elif grant.tag_condition == "resource":
        condition.setdefault("StringEquals", {})[f"aws:ResourceTag/{STACK_TAG}"] = s.stack
    if grant.boundary:
        condition.setdefault("StringEquals", {})[BOUNDARY_KEY] = s.boundary_arn
    return condition


def _statements(s: Scope, *, write: bool, grants: tuple[Grant, ...] = GRANTS) -> list[dict[str, Any]]:
    statements = []
    for grant in grants:
        actions = [*grant.write, *grant.read] if write else list(grant.read)
        if not actions:
            continue
        statement: dict[str, Any] = {
            "Sid": grant.sid,
            "Effect": "Allow",
            "Action": sorted(set(actions)),
            "Resource": grant.resources(s),
        }
        condition = _condition(grant, s)
        if condition:
            statement["Condition"] = condition
        statements.append(statement)
    return statements


def deploy_policy(s: Scope, *, smoke_test: bool) -> dict[str, Any]:
    """`pulumi up`/`refresh` of one stack; staging's also runs its tracker once (deploy.yml smoke)."""
    statements = _statements(s, write=True)
    statements += _denials(s)
    if smoke_test:
        statements.append(
            {
                "Sid": "SmokeRunTracker",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": [_arn("lambda", s, f"function:{s.prefix}-cost-tracker")],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def ledger_deploy_policy(s: Scope) -> dict[str, Any]:
    """The deploy role's managed policy `<prefix>-deploy-ledger`: the ledger database's rows."""
    return {"Version": "2012-10-17", "Statement": _statements(s, write=True, grants=LEDGER_GRANTS)}


def preview_policy(s: Scope) -> dict[str, Any]:
    """`pulumi preview` of one stack from a pull request: reads only, never a secret value."""
    return {"Version": "2012-10-17", "Statement": _statements(s, write=False, grants=ALL_GRANTS)}


def boundary_policy(s: Scope) -> dict[str, Any]:
    """The permissions boundary every role of the stack carries (`iamPermissionsBoundaryArn`)."""
    return {"Version": "2012-10-17", "Statement": _statements(s, write=True, grants=BOUNDARY)}


# The secrets the cost tracker reads (components/secrets.py; Pulumi appends a random suffix).
MONITOR_SECRETS = ("secrets-gateway-admin-token", "secrets-lambda-api-key")


def monitor_policy(s: Scope) -> dict[str, Any]:
    """cost-monitor.yml's report: the tracker's configuration and the two secrets the tracker reads.
    No metric write (the tracker is the only writer) and no other secret."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "TrackerConfiguration", "Effect": "Allow", "Action": ["lambda:GetFunctionConfiguration"],
         "Resource": [_arn("lambda", s, f"function:{s.prefix}-cost-tracker")]},
        {"Sid": "TrackerSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": [_arn("secretsmanager", s, f"secret:{name}-*") for name in MONITOR_SECRETS],
         "Condition": {"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": s.stack}}},
    ]}
