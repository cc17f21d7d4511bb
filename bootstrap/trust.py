"""Who may assume each role: the OIDC issuers, and one trust policy per role, exact subjects only.

- A stack's deploy role: that stack's GitHub environment (`repo:<owner>/<repo>:environment:<env>`,
  the deploy.yml job; production's needs a reviewer), Pulumi Deployments for that stack (console
  preview, update, refresh; never destroy), and that stack's ESC deploy environment (an operator's
  `esc run`). Never a pull request, a branch, or the other stack's environment.
- A stack's preview role (read-only): pull requests of this repository only (preview.yml).

Every condition is StringEquals on both `aud` and `sub`: no wildcard subject anywhere.
"""

from __future__ import annotations

from typing import Any

GITHUB_ISSUER = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"
PULUMI_ISSUER = "api.pulumi.com/oidc"
# Pulumi Deployments' tokens carry the organisation as audience; ESC's aws-login carries `aws:<org>`.
DEPLOYMENT_OPERATIONS = ("preview", "update", "refresh")


def issuer_url(issuer: str) -> str:
    return f"https://{issuer}"


def pulumi_audiences(org: str) -> list[str]:
    return [org, f"aws:{org}"]


def github_environment_subject(repository: str, environment: str) -> str:
    return f"repo:{repository}:environment:{environment}"


def github_pull_request_subject(repository: str) -> str:
    return f"repo:{repository}:pull_request"


def deployment_subjects(org: str, project: str, stack: str) -> list[str]:
    return [
        f"pulumi:deploy:org:{org}:project:{project}:stack:{stack}:operation:{op}:scope:write"
        for op in DEPLOYMENT_OPERATIONS
    ]


def esc_subject(org: str, environment: str) -> str:
    return f"pulumi:environments:org:{org}:env:{environment}"


def _web_identity(
    provider_arn: str, issuer: str, audience: str | list[str], subject: str | list[str], sid: str
) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{issuer}:aud": audience, f"{issuer}:sub": subject}},
    }


def deploy_trust(
    *,
    github_provider_arn: str,
    pulumi_provider_arn: str,
    repository: str,
    environment: str,
    org: str,
    project: str,
    stack: str,
    esc_environment: str,
) -> dict[str, Any]:
    gh, pc = github_provider_arn, pulumi_provider_arn
    tokens = (
        (gh, GITHUB_ISSUER, GITHUB_AUDIENCE, github_environment_subject(repository, environment),
         "GitHubEnvironment"),
        (pc, PULUMI_ISSUER, org, deployment_subjects(org, project, stack), "PulumiDeployments"),
        (pc, PULUMI_ISSUER, f"aws:{org}", esc_subject(org, esc_environment), "EscDeployEnvironment"),
    )
    return {"Version": "2012-10-17", "Statement": [_web_identity(*token) for token in tokens]}


def preview_trust(*, github_provider_arn: str, repository: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            _web_identity(
                github_provider_arn,
                GITHUB_ISSUER,
                GITHUB_AUDIENCE,
                github_pull_request_subject(repository),
                "GitHubPullRequests",
            ),
        ],
    }


def monitor_trust(*, github_provider_arn: str, repository: str) -> dict[str, Any]:
    """The cost monitor's role (cost-monitor.yml): workflow runs on this repository's main only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            _web_identity(github_provider_arn, GITHUB_ISSUER, GITHUB_AUDIENCE,
                          f"repo:{repository}:ref:refs/heads/main", "GitHubMainBranch"),
        ],
    }
