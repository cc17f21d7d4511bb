"""Who can assume each role, checked by evaluating the trust policies the program declares against
the OIDC tokens GitHub and Pulumi Cloud would present (moto cannot evaluate IAM conditions)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bootstrap import trust

from .harness import committed_config

REPO = committed_config()["githubRepository"]
ORG = committed_config()["pulumiOrganization"]
GH, PC = trust.GITHUB_ISSUER, trust.PULUMI_ISSUER
MAIN = "llm-cost-governance"


def _allows(doc: dict[str, Any], issuer: str, aud: str, sub: str) -> bool:
    """IAM's answer for AssumeRoleWithWebIdentity with this token (StringEquals; a list is any-of)."""
    for statement in doc["Statement"]:
        if statement["Effect"] != "Allow" or statement["Action"] != "sts:AssumeRoleWithWebIdentity":
            continue
        if not statement["Principal"]["Federated"].endswith(f":oidc-provider/{issuer}"):
            continue
        equals = statement["Condition"]["StringEquals"]
        wanted = {"aud": aud, "sub": sub}
        if all(wanted[k.rsplit(":", 1)[1]] in ([v] if isinstance(v, str) else v) for k, v in equals.items()):
            return True
    return False


def _trust(run, role: str) -> dict[str, Any]:
    return json.loads(run.one("aws:iam/role:Role", role).inputs["assumeRolePolicy"])


def _deploy_sub(stack: str, op: str) -> str:
    return f"pulumi:deploy:org:{ORG}:project:{MAIN}:stack:{stack}:operation:{op}:scope:write"


def test_prod_deploy_role_only_from_production_environment_deployments_and_its_esc_env(bootstrap_run):
    doc = _trust(bootstrap_run, "roles-prod-deploy")
    assert _allows(doc, GH, "sts.amazonaws.com", f"repo:{REPO}:environment:production")
    for op in ("preview", "update", "refresh"):
        assert _allows(doc, PC, ORG, _deploy_sub("prod", op))
    assert _allows(doc, PC, f"aws:{ORG}", f"pulumi:environments:org:{ORG}:env:{MAIN}/prod-deploy")


@pytest.mark.parametrize(
    ("issuer", "aud", "sub"),
    [
        (GH, "sts.amazonaws.com", f"repo:{REPO}:pull_request"),  # a pull request
        (GH, "sts.amazonaws.com", f"repo:{REPO}:ref:refs/heads/main"),  # a branch push
        (GH, "sts.amazonaws.com", f"repo:{REPO}:ref:refs/heads/feature"),
        (GH, "sts.amazonaws.com", f"repo:{REPO}:environment:staging"),  # the staging job
        (GH, "sts.amazonaws.com", "repo:someone/fork:environment:production"),  # another repository
        (GH, "other-audience", f"repo:{REPO}:environment:production"),  # wrong audience
        (PC, ORG, _deploy_sub("prod", "destroy")),  # no console destroy
        (PC, ORG, _deploy_sub("staging", "update")),  # the other stack
        (PC, "other-org", _deploy_sub("prod", "update")),
        (PC, f"aws:{ORG}", f"pulumi:environments:org:{ORG}:env:{MAIN}/prod"),  # the env PR previews open
        (PC, f"aws:{ORG}", f"pulumi:environments:org:{ORG}:env:{MAIN}/staging-deploy"),
    ],
)
def test_prod_deploy_role_refuses_every_other_token(bootstrap_run, issuer, aud, sub):
    assert not _allows(_trust(bootstrap_run, "roles-prod-deploy"), issuer, aud, sub)


def test_staging_deploy_role_is_staging_only(bootstrap_run):
    doc = _trust(bootstrap_run, "roles-staging-deploy")
    assert _allows(doc, GH, "sts.amazonaws.com", f"repo:{REPO}:environment:staging")
    assert not _allows(doc, GH, "sts.amazonaws.com", f"repo:{REPO}:environment:production")
    assert not _allows(doc, GH, "sts.amazonaws.com", f"repo:{REPO}:pull_request")
    assert not _allows(doc, PC, ORG, _deploy_sub("prod", "update"))


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_preview_roles_trust_pull_requests_of_this_repository_only(bootstrap_run, stack):
    doc = _trust(bootstrap_run, f"roles-{stack}-preview")
    assert _allows(doc, GH, "sts.amazonaws.com", f"repo:{REPO}:pull_request")
    assert not _allows(doc, GH, "sts.amazonaws.com", "repo:someone/fork:pull_request")
    assert not _allows(doc, GH, "sts.amazonaws.com", f"repo:{REPO}:environment:production")
    assert [s["Principal"]["Federated"].rsplit("/", 1)[1] for s in doc["Statement"]] == [GH]


def test_every_condition_is_exact_and_names_providers_of_the_roles_own_account(bootstrap_run):
    stacks = committed_config()["stacks"]
    for role in bootstrap_run.of_type("aws:iam/role:Role"):
        account = stacks[role.name.split("-")[1]]["accountId"]
        for statement in json.loads(role.inputs["assumeRolePolicy"])["Statement"]:
            assert set(statement["Condition"]) == {"StringEquals"}, role.name  # no StringLike, no wildcard
            assert "*" not in json.dumps(statement), role.name
            assert statement["Principal"]["Federated"].startswith(f"arn:aws:iam::{account}:oidc-provider/")


def test_oidc_providers_per_account_with_their_audiences(bootstrap_run):
    providers = bootstrap_run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    by_url: dict[str, list[list[str]]] = {}
    for provider in providers:
        by_url.setdefault(provider.inputs["url"], []).append(provider.inputs["clientIdLists"])
    assert by_url == {
        "https://token.actions.githubusercontent.com": [["sts.amazonaws.com"]] * 2,
        "https://api.pulumi.com/oidc": [[ORG, f"aws:{ORG}"]] * 2,
    }


def test_one_account_for_both_stacks_gets_one_set_of_providers():
    from .harness import run_bootstrap

    stacks = committed_config()["stacks"]
    shared = {name: {**entry, "accountId": "333333333333"} for name, entry in stacks.items()}
    run = run_bootstrap({"stacks": shared})
    assert len(run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")) == 2
    assert len(run.of_type("aws:iam/role:Role")) == 6  # deploy, preview and monitor per stack


def test_each_accounts_resources_go_through_a_provider_pinned_to_that_account(bootstrap_run):
    stacks = committed_config()["stacks"]
    providers = {p.name: p.inputs for p in bootstrap_run.of_type("pulumi:providers:aws")}
    for stack, entry in stacks.items():
        inputs = providers[f"aws-{stack}"]
        assert json.loads(inputs["allowedAccountIds"]) == [entry["accountId"]]
        assert inputs["region"] == entry["region"] and inputs["profile"] == entry["awsProfile"]
    for resource in bootstrap_run.resources:
        if resource.typ.startswith("aws:"):
            stack = resource.name.split("-")[1]
            assert f"::aws-{stack}::" in resource.provider, resource.name


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_monitor_roles_trust_runs_on_main_only(bootstrap_run, stack):
    doc = _trust(bootstrap_run, f"roles-{stack}-monitor")
    assert _allows(doc, GH, "sts.amazonaws.com", f"repo:{REPO}:ref:refs/heads/main")
    assert not _allows(doc, GH, "sts.amazonaws.com", f"repo:{REPO}:ref:refs/heads/feature")
    assert not _allows(doc, GH, "sts.amazonaws.com", f"repo:{REPO}:pull_request")
    assert not _allows(doc, GH, "sts.amazonaws.com", "repo:someone/fork:ref:refs/heads/main")
