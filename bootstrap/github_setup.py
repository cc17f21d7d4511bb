"""GitHub side: the deploy environments (reviewers on production), the variables the workflows read,
the Pulumi token they use, and branch protection on main that requires CI.

The workflows read role ARNs from these variables (`vars.*`), never from copied values: a role ARN is
not a secret, and this project is what writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_github as github

from bootstrap.config import BootstrapConfig

# What the workflows read (.github/workflows/*.yml; a test keeps the two equal).
REPOSITORY_VARIABLES = (
    "PULUMI_ORG",
    "AWS_REGION",
    "AWS_PREVIEW_ROLE_ARN_STAGING",
    "AWS_PREVIEW_ROLE_ARN_PROD",
    "AWS_MONITOR_ROLE_ARN_STAGING",
    "AWS_MONITOR_ROLE_ARN_PROD",
)
ENVIRONMENT_VARIABLES = ("AWS_DEPLOY_ROLE_ARN",)
PULUMI_TOKEN_SECRET = "PULUMI_ACCESS_TOKEN"  # noqa: S105  (the secret's name, not its value)
# ci.yml's job name: the status check a pull request needs before it can merge.
REQUIRED_CHECK = "lint and test"


@dataclass
class GitHubSetupArgs:
    config: BootstrapConfig
    deploy_role_arns: Mapping[str, pulumi.Output[str]]  # main stack -> deploy role ARN
    preview_role_arns: Mapping[str, pulumi.Output[str]]
    pulumi_token: pulumi.Output[str]  # a Pulumi Cloud team token, already a Pulumi secret
    monitor_role_arns: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)  # cost-monitor.yml


class GitHubSetup(pulumi.ComponentResource):
    environments: dict[str, str]

    def __init__(self, name: str, args: GitHubSetupArgs, opts: pulumi.ResourceOptions) -> None:
        super().__init__("llm-cost-governance-bootstrap:index:GitHubSetup", name, None, opts)
        cfg = args.config
        repo = cfg.github_repo
        child = pulumi.ResourceOptions(parent=self)
        self.environments = {}
        for account in cfg.stacks:
            env_name = account.role.github_environment
            environment = github.RepositoryEnvironment(
                f"{name}-{env_name}",
                repository=repo,
                environment=env_name,
                # only main (a protected branch) may deploy; production also waits for a reviewer
                deployment_branch_policy={"protected_branches": True, "custom_branch_policies": False},
                reviewers=[{"teams": list(cfg.reviewer_team_ids)}] if account.role.reviewers else None,
                prevent_self_review=account.role.reviewers,
                can_admins_bypass=False,
                opts=child,
            )
            github.ActionsEnvironmentVariable(
                f"{name}-{env_name}-deploy-role",
                repository=repo,
                environment=environment.environment,
                variable_name="AWS_DEPLOY_ROLE_ARN",
                value=args.deploy_role_arns[account.stack],
                opts=child,
            )
            self.environments[account.stack] = env_name
        variables: dict[str, pulumi.Input[str]] = {
            "PULUMI_ORG": cfg.pulumi_org,
            "AWS_REGION": cfg.stacks[0].region,
            **{f"AWS_PREVIEW_ROLE_ARN_{stack.upper()}": arn for stack, arn in args.preview_role_arns.items()},
            **{f"AWS_MONITOR_ROLE_ARN_{stack.upper()}": arn for stack, arn in args.monitor_role_arns.items()},
        }
        for variable, value in variables.items():
            github.ActionsVariable(
                f"{name}-{variable.lower()}", repository=repo, variable_name=variable, value=value, opts=child
            )
        github.ActionsSecret(
            f"{name}-pulumi-token",
            repository=repo,
            secret_name=PULUMI_TOKEN_SECRET,
            plaintext_value=args.pulumi_token,
            opts=child,
        )
        github.BranchProtection(
            f"{name}-main",
            repository_id=repo,
            pattern="main",
            enforce_admins=True,
            allows_force_pushes=False,
            allows_deletions=False,
            required_linear_history=True,
            required_status_checks=[{"strict": True, "contexts": [REQUIRED_CHECK]}],
            required_pull_request_reviews=[
                {"required_approving_review_count": 1, "dismiss_stale_reviews": True}
            ],
            opts=child,
        )
        self.register_outputs({"environments": self.environments})
