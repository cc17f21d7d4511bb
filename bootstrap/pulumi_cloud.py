"""Pulumi Cloud side: ESC environments, deployment settings and drift detection per stack, and who
may deploy what (a deployers team of people, a CI team whose token GitHub Actions uses).

Console deploys run with the settings below: the repository's main branch, `make install` first
(the Deployments executor image must have `uv` on PATH for `toolchain: uv`, as pulumi/pulumi
does; `pulumi install` is skipped since make install did it), AWS by OIDC
into the stack's deploy role. Then the policy pack, as the workflows run it: Deployments cannot
pass `--policy-pack` to their own operation, so a pre-run `pulumi preview --policy-pack policy` of
the same commit and config runs before every update or preview and a violation fails the
deployment before it starts (policy_preview_command; docs/operations.md says why not a Pulumi
Cloud policy group). Deployments never run pull requests (`preview_pull_requests` off): a
PR preview would run PR code with the deploy role; preview.yml does those with the read-only role.
Pushes deploy through deploy.yml (`deploy_commits` off), so a commit is never deployed twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pulumi
import pulumi_pulumiservice as ps

from bootstrap.config import BootstrapConfig
from bootstrap.esc_documents import deploy_environment, environment_names, secrets_skeleton, stack_environment

INSTALL = "make install"
POLICY_PACK = "policy"  # the repository's CrossGuard pack (the workflows' `policyPacks: policy`)
# Deployments operations (PULUMI_CI_OPERATION) that only read the cloud: no pack before them. Every
# other one (update, preview, remediate-drift, an unset or new one) runs it first.
READ_ONLY_OPERATIONS = ("refresh", "detect-drift")


def policy_preview_command(org: str, project: str, stack: str) -> str:
    """One pre-run line (each runs in its own shell): preview the stack with the pack; its exit
    status (non-zero on a mandatory violation) is the line's, which stops the deployment."""
    skip = "|".join(READ_ONLY_OPERATIONS)
    preview = f"pulumi preview --stack {org}/{project}/{stack} --policy-pack {POLICY_PACK} --non-interactive"
    return (f'case "${{PULUMI_CI_OPERATION:-}}" in {skip}) '
            f'echo "policy pack: not needed for $PULUMI_CI_OPERATION (reads only)";; *) {preview};; esac')


def pre_run_commands(org: str, project: str, stack: str) -> list[str]:
    return [INSTALL, policy_preview_command(org, project, stack)]


def _team(parent: pulumi.Resource, resource_name: str, org: str, team: str, display: str, description: str,
          members: list[str]) -> ps.Team:
    return ps.Team(resource_name, organization_name=org, team_type="pulumi", name=team, display_name=display,
                   description=description, members=members, opts=pulumi.ResourceOptions(parent=parent))


def _stack_yaml(project: str, stack: str, region: str) -> Callable[[str], pulumi.StringAsset]:
    return lambda boundary_arn: pulumi.StringAsset(stack_environment(project, stack, region, boundary_arn))


def _deploy_yaml(project: str, stack: str) -> Callable[[str], pulumi.StringAsset]:
    return lambda role_arn: pulumi.StringAsset(deploy_environment(project, stack, role_arn, f"esc-{stack}"))


@dataclass
class PulumiCloudSetupArgs:
    config: BootstrapConfig
    project: str  # the main project
    deploy_role_arns: Mapping[str, pulumi.Output[str]]
    boundary_arns: Mapping[str, pulumi.Output[str]]  # main stack -> its roles' permissions boundary


class PulumiCloudSetup(pulumi.ComponentResource):
    ci_token: pulumi.Output[str]

    def __init__(self, name: str, args: PulumiCloudSetupArgs, opts: pulumi.ResourceOptions) -> None:
        super().__init__("llm-cost-governance-bootstrap:index:PulumiCloudSetup", name, None, opts)
        cfg, project = args.config, args.project
        org = cfg.pulumi_org
        child = pulumi.ResourceOptions(parent=self)
        deployers = _team(self, f"{name}-deployers", org, f"{project}-deployers", f"{project} deployers",
                          "May deploy the stacks from the console and open their deploy environments",
                          list(cfg.deployers))
        ci = _team(self, f"{name}-ci", org, f"{project}-ci", f"{project} CI",
                   "GitHub Actions: preview and deploy.yml", [])
        token = ps.TeamAccessToken(
            f"{name}-ci-token",
            organization_name=org,
            team_name=ci.name,
            name=f"{project}-github-actions",
            description="GitHub Actions secret PULUMI_ACCESS_TOKEN (written by the bootstrap)",
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["value"]),
        )
        self.ci_token = pulumi.Output.secret(token.value)
        for account in cfg.stacks:
            stack = account.stack
            names = environment_names(project, stack)
            # The main stack itself, so its settings, schedule and permissions have something to belong
            # to on day zero (no `pulumi stack init` by hand). Protected and never force-destroyed: the
            # bootstrap must not delete a stack's state. An existing stack is imported (operations.md).
            main_stack = ps.Stack(
                f"{name}-{stack}-stack",
                organization_name=org,
                project_name=project,
                stack_name=stack,
                force_destroy=False,
                opts=pulumi.ResourceOptions(parent=self, protect=True),
            )
            on_stack = pulumi.ResourceOptions(parent=self, depends_on=[main_stack])
            # The person-edited secrets: created once with an empty skeleton, never rewritten or deleted.
            ps.Environment(
                f"{name}-{stack}-secrets",
                organization=org,
                project=project,
                name=names["secrets"].split("/", 1)[1],
                yaml=pulumi.StringAsset(secrets_skeleton(project, stack)),
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["yaml"], protect=True),
            )
            ps.Environment(
                f"{name}-{stack}-env",
                organization=org,
                project=project,
                name=stack,
                yaml=args.boundary_arns[stack].apply(_stack_yaml(project, stack, account.region)),
                opts=child,
            )
            ps.Environment(
                f"{name}-{stack}-deploy-env",
                organization=org,
                project=project,
                name=names["deploy"].split("/", 1)[1],
                yaml=args.deploy_role_arns[stack].apply(_deploy_yaml(project, stack)),
                opts=child,
            )
            # CI opens only the stack environment (no AWS credentials in it); people also the deploy one.
            for label, team, environment, permission in (
                ("ci", ci, names["stack"], "open"),
                ("deployers", deployers, names["stack"], "open"),
                ("deployers", deployers, names["deploy"], "open"),
                ("deployers", deployers, names["secrets"], "write"),
            ):
                env_short = environment.split("/", 1)[1]
                ps.TeamEnvironmentPermission(
                    f"{name}-{label}-{env_short}",
                    organization=org,
                    team=team.name,
                    project=project,
                    environment=env_short,
                    permission=ps.EnvironmentPermission(permission),
                    opts=child,
                )
            for team, label in ((deployers, "deployers"), (ci, "ci")):
                ps.TeamStackPermission(
                    f"{name}-{label}-{stack}",
                    organization=org,
                    project=project,
                    stack=stack,
                    team=team.name,
                    permission=ps.TeamStackPermissionScope.EDIT,
                    opts=on_stack,
                )
            ps.DeploymentSettings(
                f"{name}-{stack}-deployments",
                organization=org,
                project=project,
                stack=stack,
                source_context={
                    "git": {
                        "repo_url": f"https://github.com/{cfg.repository}.git",
                        "branch": "refs/heads/main",
                        "repo_dir": ".",
                    }
                },
                github={
                    "repository": cfg.repository,
                    "deploy_commits": False,
                    "preview_pull_requests": False,
                    "pull_request_template": False,
                },
                operation_context={
                    "pre_run_commands": pre_run_commands(org, project, stack),
                    "options": {"skip_install_dependencies": True},
                    "oidc": {
                        "aws": {
                            "role_arn": args.deploy_role_arns[stack],
                            "session_name": f"pulumi-deployments-{stack}",
                            "duration": "1h",
                        }
                    },
                },
                opts=on_stack,
            )
            ps.DriftSchedule(
                f"{name}-{stack}-drift",
                organization=org,
                project=project,
                stack=stack,
                schedule_cron=cfg.drift_schedule,
                auto_remediate=False,
                opts=on_stack,
            )
        self.register_outputs({})
