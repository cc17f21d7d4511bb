"""GitHub environments, variables, token and branch protection; Pulumi Cloud ESC environments,
deployment settings, drift schedules and access; no secret value in any input."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from bootstrap.github_setup import ENVIRONMENT_VARIABLES, REPOSITORY_VARIABLES, REQUIRED_CHECK
from bootstrap.pulumi_cloud import policy_preview_command
from tests.program.harness import is_secret, reveal, unwrapped_strings

from .harness import MINTED_TOKEN, committed_config

ROOT = Path(__file__).resolve().parents[2]
CFG = committed_config()
MAIN = "llm-cost-governance"
GITHUB_ENV = {"staging": "staging", "prod": "production"}


def _deploy_arn(stack: str) -> str:
    return f"arn:aws:iam::{CFG['stacks'][stack]['accountId']}:role/{MAIN}-{stack}-deploy"


def test_environments_only_deploy_main_and_production_waits_for_its_reviewers(bootstrap_run):
    envs = {
        r.inputs["environment"]: r.inputs
        for r in bootstrap_run.of_type("github:index/repositoryEnvironment:RepositoryEnvironment")
    }
    assert set(envs) == {"staging", "production"}
    for env in envs.values():
        assert env["deploymentBranchPolicy"] == {"protectedBranches": True, "customBranchPolicies": False}
        assert env["canAdminsBypass"] is False
    assert envs["production"]["reviewers"] == [{"teams": CFG["productionReviewerTeamIds"]}]
    assert envs["production"]["preventSelfReview"] is True
    assert not envs["staging"].get("reviewers")


def test_the_variables_are_exactly_what_the_workflows_read(bootstrap_run):
    workflows = "\n".join(p.read_text() for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    read = set(re.findall(r"vars\.(\w+)", workflows))
    assert read == set(REPOSITORY_VARIABLES) | set(ENVIRONMENT_VARIABLES)
    repo_vars = {
        r.inputs["variableName"]: r.inputs["value"]
        for r in bootstrap_run.of_type("github:index/actionsVariable:ActionsVariable")
    }
    assert set(repo_vars) == set(REPOSITORY_VARIABLES)
    assert repo_vars["PULUMI_ORG"] == CFG["pulumiOrganization"]
    for stack in ("staging", "prod"):
        account = CFG["stacks"][stack]["accountId"]
        assert (
            repo_vars[f"AWS_PREVIEW_ROLE_ARN_{stack.upper()}"]
            == f"arn:aws:iam::{account}:role/{MAIN}-{stack}-preview"
        )
    env_vars = {
        (r.inputs["environment"], r.inputs["variableName"]): r.inputs["value"]
        for r in bootstrap_run.of_type("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
    }
    assert env_vars == {(GITHUB_ENV[s], "AWS_DEPLOY_ROLE_ARN"): _deploy_arn(s) for s in GITHUB_ENV}


def test_the_ci_teams_token_reaches_github_only_as_a_secret(bootstrap_run):
    (secret,) = bootstrap_run.of_type("github:index/actionsSecret:ActionsSecret")
    assert secret.inputs["secretName"] == "PULUMI_ACCESS_TOKEN"
    assert (
        is_secret(secret.inputs["plaintextValue"]) and reveal(secret.inputs["plaintextValue"]) == MINTED_TOKEN
    )
    (token,) = bootstrap_run.of_type("pulumiservice:index:TeamAccessToken")
    assert token.inputs["teamName"] == f"{MAIN}-ci"


def test_no_secret_value_in_any_input(bootstrap_run):
    for resource in bootstrap_run.resources:
        for path, text in unwrapped_strings(dict(resource.inputs)):
            assert MINTED_TOKEN not in text, f"{resource.typ} {resource.name}{path}"
            assert "fn::secret" not in text and "PRIVATE KEY" not in text, f"{resource.name}{path}"
            assert not re.search(r"\bpul-[0-9a-f]{40}\b", text), f"{resource.name}{path}"


def test_github_resources_use_the_configured_owner(bootstrap_run):
    (provider,) = bootstrap_run.of_type("pulumi:providers:github")
    assert provider.inputs["owner"] == CFG["githubRepository"].split("/")[0]
    assert "token" not in provider.inputs  # the admin's GITHUB_TOKEN, never config
    for resource in bootstrap_run.resources:
        if resource.typ.startswith("github:"):
            assert resource.provider and "::github::" in resource.provider, resource.name


def test_main_requires_ci_and_a_review(bootstrap_run):
    (protection,) = bootstrap_run.of_type("github:index/branchProtection:BranchProtection")
    ci_job = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())["jobs"]["test"]["name"]
    assert ci_job == REQUIRED_CHECK
    assert protection.inputs["pattern"] == "main" and protection.inputs["enforceAdmins"] is True
    assert protection.inputs["requiredStatusChecks"] == [{"strict": True, "contexts": [ci_job]}]
    assert protection.inputs["requiredPullRequestReviews"][0]["requiredApprovingReviewCount"] >= 1
    assert protection.inputs["allowsForcePushes"] is False


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_deployment_settings_let_the_console_deploy_the_stack(bootstrap_run, stack):
    settings = bootstrap_run.one(
        "pulumiservice:index:DeploymentSettings", f"pulumi-cloud-{stack}-deployments"
    ).inputs
    assert (settings["organization"], settings["project"], settings["stack"]) == (
        CFG["pulumiOrganization"],
        MAIN,
        stack,
    )
    git = settings["sourceContext"]["git"]
    assert git == {
        "repoUrl": f"https://github.com/{CFG['githubRepository']}.git",
        "branch": "refs/heads/main",
        "repoDir": ".",
    }
    ops = settings["operationContext"]
    policy_line = policy_preview_command(CFG["pulumiOrganization"], MAIN, stack)
    assert ops["preRunCommands"] == ["make install", policy_line]
    assert ops["oidc"]["aws"]["roleARN"] == _deploy_arn(stack)
    # Deployments never run pull-request code with the deploy role; pushes deploy via deploy.yml.
    assert settings["github"]["previewPullRequests"] is False and settings["github"]["deployCommits"] is False


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_drift_detection_is_scheduled_per_stack(bootstrap_run, stack):
    drift = bootstrap_run.one("pulumiservice:index:DriftSchedule", f"pulumi-cloud-{stack}-drift").inputs
    assert drift["scheduleCron"] == CFG["driftSchedule"] and drift["autoRemediate"] is False
    assert drift["stack"] == stack


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_esc_environments_hold_structure_and_oidc_login_but_no_secret(bootstrap_run, stack):
    envs = {
        r.inputs["name"]: yaml.safe_load(
            reveal(r.inputs["yaml"]).text
            if hasattr(reveal(r.inputs["yaml"]), "text")
            else r.inputs["yaml"].text
        )
        for r in bootstrap_run.of_type("pulumiservice:index:Environment")
        if r.inputs["name"].startswith(stack)
    }
    assert set(envs) == {stack, f"{stack}-secrets", f"{stack}-deploy"}
    main = envs[stack]
    assert main["imports"] == [f"{MAIN}/{stack}-secrets"]
    assert "aws" not in main["values"] and "environmentVariables" not in main["values"]  # PR previews open it
    assert envs[f"{stack}-secrets"] == {"values": {"pulumiConfig": {}}}
    login = envs[f"{stack}-deploy"]["values"]["aws"]["login"]["fn::open::aws-login"]["oidc"]
    assert login["roleArn"] == _deploy_arn(stack)
    stack_file = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    assert f"{MAIN}/{stack}" in json.dumps(stack_file.get("environment"))


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_person_entered_secrets_are_never_rewritten_or_deleted(bootstrap_run, stack):
    assert bootstrap_run.options[f"pulumi-cloud-{stack}-secrets"] == {
        "protect": True,
        "ignore_changes": ["yaml"],
    }
    assert bootstrap_run.options[f"pulumi-cloud-{stack}-env"] == {"protect": False, "ignore_changes": []}


def test_ci_opens_only_the_stack_environments_people_also_the_deploy_ones(bootstrap_run):
    grants = {
        (r.inputs["team"], r.inputs["environment"], r.inputs["permission"])
        for r in bootstrap_run.of_type("pulumiservice:index:TeamEnvironmentPermission")
    }
    ci = {(env, perm) for team, env, perm in grants if team == f"{MAIN}-ci"}
    assert ci == {("staging", "open"), ("prod", "open")}
    people = {(env, perm) for team, env, perm in grants if team == f"{MAIN}-deployers"}
    assert {("prod-deploy", "open"), ("staging-deploy", "open"), ("prod-secrets", "write")} <= people
    stacks = {
        (r.inputs["team"], r.inputs["stack"])
        for r in bootstrap_run.of_type("pulumiservice:index:TeamStackPermission")
    }
    assert stacks == {(f"{MAIN}-{t}", s) for t in ("ci", "deployers") for s in ("staging", "prod")}
    (deployers,) = [
        r
        for r in bootstrap_run.of_type("pulumiservice:index:Team")
        if r.inputs["name"].endswith("-deployers")
    ]
    assert deployers.inputs["members"] == CFG["deployers"]


def _run_pre_run_line(line: str, tmp_path: Path, operation: str | None, exit_code: int = 0):
    """Run one pre-run line as Deployments does (bash, repository root), a stand-in `pulumi` on PATH
    that records its argv and exits with `exit_code` (1: the pack found a mandatory violation)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "pulumi.calls"
    stub = bin_dir / "pulumi"
    stub.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\nexit {exit_code}\n')
    stub.chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    if operation is not None:
        env["PULUMI_CI_OPERATION"] = operation
    done = subprocess.run(["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    return done.returncode, calls.read_text().splitlines() if calls.exists() else [], done.stdout


@pytest.mark.parametrize("operation", ["update", "preview", "remediate-drift", None, "something-new"])
def test_console_deploys_run_the_policy_pack_before_the_operation(bootstrap_run, tmp_path, operation):
    """What a console update or preview runs first: `pulumi preview --policy-pack policy` of the same
    stack, as deploy.yml and preview.yml run it (policyPacks: policy)."""
    settings = bootstrap_run.one("pulumiservice:index:DeploymentSettings", "pulumi-cloud-staging-deployments")
    line = settings.inputs["operationContext"]["preRunCommands"][-1]
    code, calls, _ = _run_pre_run_line(line, tmp_path, operation)
    assert code == 0
    assert calls == [f"preview --stack {CFG['pulumiOrganization']}/{MAIN}/staging --policy-pack policy "
                     "--non-interactive"]
    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file()  # the path is the repository's pack
    for workflow in ("deploy.yml", "preview.yml"):
        assert "policyPacks: policy" in (ROOT / ".github" / "workflows" / workflow).read_text()


def test_a_policy_violation_stops_the_console_deployment(bootstrap_run, tmp_path):
    settings = bootstrap_run.one("pulumiservice:index:DeploymentSettings", "pulumi-cloud-prod-deployments")
    line = settings.inputs["operationContext"]["preRunCommands"][-1]
    code, calls, _ = _run_pre_run_line(line, tmp_path, "update", exit_code=1)
    assert code == 1 and len(calls) == 1


@pytest.mark.parametrize("operation", ["refresh", "detect-drift"])
def test_reads_only_operations_skip_the_pack(bootstrap_run, tmp_path, operation):
    settings = bootstrap_run.one("pulumiservice:index:DeploymentSettings", "pulumi-cloud-prod-deployments")
    code, calls, out = _run_pre_run_line(settings.inputs["operationContext"]["preRunCommands"][-1],
                                         tmp_path, operation)
    assert (code, calls) == (0, []) and operation in out


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_bootstrap_creates_the_main_stacks_their_settings_belong_to(bootstrap_run, stack):
    """Nothing to `pulumi stack init` by hand; the bootstrap never deletes a stack's state."""
    created = bootstrap_run.one("pulumiservice:index:Stack", f"pulumi-cloud-{stack}-stack")
    names = (created.inputs["organizationName"], created.inputs["projectName"], created.inputs["stackName"])
    assert names == (CFG["pulumiOrganization"], MAIN, stack)
    assert created.inputs["forceDestroy"] is False
    assert bootstrap_run.options[f"pulumi-cloud-{stack}-stack"]["protect"] is True
    service = "pulumiservice:index:"
    for dependent in (("DeploymentSettings", f"pulumi-cloud-{stack}-deployments"),
                      ("DriftSchedule", f"pulumi-cloud-{stack}-drift"),
                      ("TeamStackPermission", f"pulumi-cloud-deployers-{stack}"),
                      ("TeamStackPermission", f"pulumi-cloud-ci-{stack}")):
        urns = bootstrap_run.dependencies[(service + dependent[0], dependent[1])]
        assert any(urn.endswith(f"::pulumi-cloud-{stack}-stack") for urn in urns), dependent
