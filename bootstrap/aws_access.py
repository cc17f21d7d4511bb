"""AWS side of day zero, per account: the two OIDC providers, and per stack its deploy, preview and
cost-monitor roles."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from bootstrap import trust
from bootstrap.config import BootstrapConfig, StackAccount
from bootstrap.deploy_policy import (
    Scope,
    boundary_policy,
    deploy_policy,
    ledger_deploy_policy,
    monitor_policy,
    preview_policy,
)
from bootstrap.esc_documents import environment_names


@dataclass
class OidcProvidersArgs:
    pulumi_org: str


class OidcProviders(pulumi.ComponentResource):
    """GitHub Actions' and Pulumi Cloud's OIDC issuers, once per AWS account."""

    github_arn: pulumi.Output[str]
    pulumi_arn: pulumi.Output[str]

    def __init__(self, name: str, args: OidcProvidersArgs, opts: pulumi.ResourceOptions) -> None:
        super().__init__("llm-cost-governance-bootstrap:index:OidcProviders", name, None, opts)
        github = aws.iam.OpenIdConnectProvider(
            f"{name}-github",
            url=trust.issuer_url(trust.GITHUB_ISSUER),
            client_id_lists=[trust.GITHUB_AUDIENCE],
            opts=pulumi.ResourceOptions(parent=self),
        )
        pulumi_cloud = aws.iam.OpenIdConnectProvider(
            f"{name}-pulumi",
            url=trust.issuer_url(trust.PULUMI_ISSUER),
            client_id_lists=trust.pulumi_audiences(args.pulumi_org),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.github_arn = github.arn
        self.pulumi_arn = pulumi_cloud.arn
        self.register_outputs({"github_arn": self.github_arn, "pulumi_arn": self.pulumi_arn})


@dataclass
class StackRolesArgs:
    config: BootstrapConfig
    account: StackAccount
    project: str  # the main project's name
    providers: OidcProviders


class StackRoles(pulumi.ComponentResource):
    """One main stack's deploy, preview and monitor roles (`<project>-<stack>-deploy|preview|monitor`)
    and the permissions boundary of every role the stack creates (`<project>-<stack>-boundary`)."""

    boundary_arn: pulumi.Output[str]
    deploy_role_arn: pulumi.Output[str]
    preview_role_arn: pulumi.Output[str]
    monitor_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: StackRolesArgs, opts: pulumi.ResourceOptions) -> None:
        super().__init__("llm-cost-governance-bootstrap:index:StackRoles", name, None, opts)
        cfg, account = args.config, args.account
        scope = Scope(account.account_id, account.region, args.project, account.stack)
        child = pulumi.ResourceOptions(parent=self)
        # The deploy role's grants name this ARN (iam:PermissionsBoundary); it may never change it.
        boundary = aws.iam.Policy(
            f"{name}-boundary",
            name=scope.boundary_name,
            description=f"Permissions boundary of every IAM role {args.project}/{account.stack} creates",
            policy=json.dumps(boundary_policy(scope), sort_keys=True),
            opts=child,
        )
        deploy_trust = pulumi.Output.all(args.providers.github_arn, args.providers.pulumi_arn).apply(
            lambda arns: json.dumps(
                trust.deploy_trust(
                    github_provider_arn=arns[0],
                    pulumi_provider_arn=arns[1],
                    repository=cfg.repository,
                    environment=account.role.github_environment,
                    org=cfg.pulumi_org,
                    project=args.project,
                    stack=account.stack,
                    esc_environment=environment_names(args.project, account.stack)["deploy"],
                ),
                sort_keys=True,
            )
        )
        deploy = aws.iam.Role(
            f"{name}-deploy",
            name=f"{scope.prefix}-deploy",
            assume_role_policy=deploy_trust,
            description=f"pulumi up of {args.project}/{account.stack}: GitHub environment "
            f"{account.role.github_environment}, Pulumi Deployments, ESC deploy environment",
            max_session_duration=3600,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-deploy-policy",
            role=deploy.name,
            policy=json.dumps(deploy_policy(scope, smoke_test=account.role.smoke_test), sort_keys=True),
            opts=child,
        )
        # The rest, beyond IAM's inline size limit: a managed policy only this role uses.
        ledger = aws.iam.Policy(
            f"{name}-deploy-ledger",
            name=f"{scope.prefix}-deploy-ledger",
            description=f"pulumi up of {args.project}/{account.stack}: the shared ledger's database",
            policy=json.dumps(ledger_deploy_policy(scope), sort_keys=True),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(f"{name}-deploy-ledger", role=deploy.name, policy_arn=ledger.arn,
                                     opts=child)
        def github_role(kind: str, make_trust: Callable[..., dict[str, Any]], description: str,
                        policy: dict[str, Any]) -> aws.iam.Role:
            """A role only GitHub Actions tokens of this repository (as make_trust says) can assume."""
            role = aws.iam.Role(
                f"{name}-{kind}",
                name=f"{scope.prefix}-{kind}",
                assume_role_policy=args.providers.github_arn.apply(lambda arn: json.dumps(
                    make_trust(github_provider_arn=arn, repository=cfg.repository), sort_keys=True)),
                description=description,
                max_session_duration=3600,
                opts=child,
            )
            aws.iam.RolePolicy(f"{name}-{kind}-policy", role=role.name,
                               policy=json.dumps(policy, sort_keys=True), opts=child)
            return role

        preview = github_role("preview", trust.preview_trust, f"Read-only pulumi preview of "
                              f"{args.project}/{account.stack} from pull requests", preview_policy(scope))
        monitor = github_role("monitor", trust.monitor_trust, f"Cost monitor report of "
                              f"{args.project}/{account.stack} (cost-monitor.yml on main)",
                              monitor_policy(scope))
        self.boundary_arn = boundary.arn
        self.deploy_role_arn = deploy.arn
        self.preview_role_arn = preview.arn
        self.monitor_role_arn = monitor.arn
        self.register_outputs({
            "boundary_arn": self.boundary_arn,
            "deploy_role_arn": self.deploy_role_arn,
            "preview_role_arn": self.preview_role_arn,
            "monitor_role_arn": self.monitor_role_arn,
        })


def account_provider(account: StackAccount) -> aws.Provider:
    """An explicit provider per account; allowed_account_ids stops a wrong profile from applying there."""
    return aws.Provider(
        f"aws-{account.stack}",
        region=account.region,
        profile=account.aws_profile,
        allowed_account_ids=[account.account_id],
    )
