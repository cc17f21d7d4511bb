"""Day zero as code (run once by an admin: `cd bootstrap && pulumi up --stack admin`).

Creates what docs/operations.md used to ask for by hand in three consoles: per AWS account the
GitHub and Pulumi Cloud OIDC providers, per stack a deploy role and a read-only preview role;
the GitHub environments, variables, Pulumi token secret and branch protection; the ESC
environments, deployment settings, drift detection and team access in Pulumi Cloud.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pulumi
import pulumi_github as github

# The CLI runs this file from bootstrap/: make the repository's packages importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bootstrap.aws_access import (
    OidcProviders,
    OidcProvidersArgs,
    StackRoles,
    StackRolesArgs,
    account_provider,
)
from bootstrap.config import KEYS, PROJECT, load_config
from bootstrap.github_setup import GitHubSetup, GitHubSetupArgs
from bootstrap.pulumi_cloud import PulumiCloudSetup, PulumiCloudSetupArgs
from components.naming import PROJECT as MAIN_PROJECT

config = pulumi.Config(PROJECT)
cfg = load_config({key: value for key in KEYS if (value := config.get(key)) is not None})

providers: dict[str, OidcProviders] = {}
roles: dict[str, StackRoles] = {}
for account in cfg.stacks:
    aws_opts = pulumi.ResourceOptions(providers=[account_provider(account)])
    if account.account_id not in providers:  # staging and prod may share an account
        providers[account.account_id] = OidcProviders(
            f"oidc-{account.stack}", OidcProvidersArgs(cfg.pulumi_org), aws_opts
        )
    roles[account.stack] = StackRoles(
        f"roles-{account.stack}",
        StackRolesArgs(cfg, account, MAIN_PROJECT, providers[account.account_id]),
        aws_opts,
    )

deploy_arns = {stack: r.deploy_role_arn for stack, r in roles.items()}
preview_arns = {stack: r.preview_role_arn for stack, r in roles.items()}
monitor_arns = {stack: r.monitor_role_arn for stack, r in roles.items()}
boundary_arns = {stack: r.boundary_arn for stack, r in roles.items()}
cloud = PulumiCloudSetup("pulumi-cloud", PulumiCloudSetupArgs(cfg, MAIN_PROJECT, deploy_arns, boundary_arns),
                         pulumi.ResourceOptions())
# The repository's owner from config, the admin's token from GITHUB_TOKEN (never config).
github_provider = github.Provider("github", owner=cfg.github_owner)
repo = GitHubSetup("github", GitHubSetupArgs(cfg, deploy_arns, preview_arns, cloud.ci_token, monitor_arns),
                   pulumi.ResourceOptions(providers=[github_provider]))

# Exactly what the main stacks and workflows consume (GitHub variables carry the same values).
pulumi.export("deployRoleArns", deploy_arns)
pulumi.export("previewRoleArns", preview_arns)
pulumi.export("monitorRoleArns", monitor_arns)
# Also in each stack's ESC environment as iamPermissionsBoundaryArn (components/iam_boundary.py).
pulumi.export("permissionsBoundaryArns", boundary_arns)
pulumi.export("githubEnvironments", repo.environments)
pulumi.export("escEnvironments", {s.stack: f"{MAIN_PROJECT}/{s.stack}" for s in cfg.stacks})
pulumi.export("pulumiOrg", cfg.pulumi_org)
