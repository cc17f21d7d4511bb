"""The bootstrap stack's config, read once and validated before any resource is declared.

A bad value fails `pulumi preview` naming the key (dotted into structured values, e.g.
`stacks.prod.accountId`), the value as configured and what is allowed, like the main program's
settings. The two stacks and their GitHub environments are fixed here, not configured: the main
project has exactly `staging` and `prod` (Pulumi.<stack>.yaml), and deploy.yml names the environments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.settings import SettingsError

PROJECT = "llm-cost-governance-bootstrap"
REPO = Path(__file__).resolve().parents[1]
KEYS = (
    "githubRepository",
    "pulumiOrganization",
    "productionReviewerTeamIds",
    "deployers",
    "driftSchedule",
    "stacks",
)


@dataclass(frozen=True)
class StackRole:
    """What each main stack is in the pipeline (fixed: the workflows are written for these)."""

    github_environment: str
    reviewers: bool  # deploys wait for a reviewer of the production environment
    smoke_test: bool  # deploy.yml invokes this stack's tracker once after `pulumi up`


STACK_ROLES: dict[str, StackRole] = {
    "staging": StackRole("staging", reviewers=False, smoke_test=True),
    "prod": StackRole("production", reviewers=True, smoke_test=False),
}


@dataclass(frozen=True)
class StackAccount:
    """One main stack's AWS account, and how the admin running the bootstrap reaches it."""

    stack: str
    account_id: str
    region: str
    aws_profile: str | None

    @property
    def role(self) -> StackRole:
        return STACK_ROLES[self.stack]


@dataclass(frozen=True)
class BootstrapConfig:
    github_owner: str
    github_repo: str
    pulumi_org: str
    reviewer_team_ids: tuple[int, ...]
    deployers: tuple[str, ...]
    drift_schedule: str
    stacks: tuple[StackAccount, ...]

    @property
    def repository(self) -> str:
        return f"{self.github_owner}/{self.github_repo}"


_REPO = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100})$")
_ORG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_PROFILE = re.compile(r"^[A-Za-z0-9_.@+-]{1,128}$")
# Pulumi Cloud's drift schedules are five-field cron; at most hourly keeps the deployment minutes sane.
_CRON = re.compile(r"^(\d{1,2}|\*|\*/\d{1,2}|\d{1,2}(,\d{1,2})+) (\S+) (\S+) (\S+) (\S+)$")


def _fail(key: str, value: object, allowed: str, reason: str = "") -> SettingsError:
    why = f": {reason}" if reason else ""
    return SettingsError(f"invalid config {PROJECT}:{key} = {value!r}{why}. Allowed: {allowed}")


def _required(raw: Mapping[str, str], key: str, allowed: str) -> str:
    value = (raw.get(key) or "").strip()
    if not value:
        raise _fail(key, raw.get(key), allowed, "required")
    return value


def _json(raw: Mapping[str, str], key: str, kind: type, allowed: str) -> Any:
    text = _required(raw, key, allowed)
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise _fail(key, text, allowed, "not a YAML list/object") from None
    if not isinstance(value, kind):
        raise _fail(key, text, allowed)
    return value


def _stack(name: str, entry: object) -> StackAccount:
    key = f"stacks.{name}"
    allowed = "{accountId: '<12 digits>', region: <aws region>, awsProfile: <optional profile name>}"
    if not isinstance(entry, dict):
        raise _fail(key, entry, allowed)
    unknown = set(entry) - {"accountId", "region", "awsProfile"}
    if unknown:
        raise _fail(key, entry, allowed, f"unknown field(s) {', '.join(sorted(unknown))}")
    account = entry.get("accountId")
    if not isinstance(account, str) or not _ACCOUNT.match(account):
        raise _fail(f"{key}.accountId", account, "an AWS account id: 12 digits, quoted (a YAML string)")
    region = entry.get("region")
    if not isinstance(region, str) or not _REGION.match(region):
        raise _fail(f"{key}.region", region, "an AWS region, e.g. us-east-1")
    profile = entry.get("awsProfile")
    if profile is not None and (not isinstance(profile, str) or not _PROFILE.match(profile)):
        raise _fail(
            f"{key}.awsProfile", profile, "an AWS CLI profile name, or omit it for the default credentials"
        )
    return StackAccount(name, account, region, profile)


def load_config(raw: Mapping[str, str]) -> BootstrapConfig:
    """Validate the bootstrap stack's config (values as the CLI hands them over: JSON for lists)."""
    repo_allowed = "owner/name of the GitHub repository, e.g. example-org/llm-cost-governance"
    repository = _required(raw, "githubRepository", repo_allowed)
    match = _REPO.match(repository)
    if not match:
        raise _fail("githubRepository", repository, repo_allowed)
    org = _required(raw, "pulumiOrganization", "the Pulumi Cloud organisation that owns the stacks")
    if not _ORG.match(org):
        raise _fail("pulumiOrganization", org, "a Pulumi Cloud organisation name")

    teams_allowed = "a non-empty list of GitHub team ids (numbers), who approve production deploys"
    teams = _json(raw, "productionReviewerTeamIds", list, teams_allowed)
    if not teams or not all(isinstance(t, int) and not isinstance(t, bool) and t > 0 for t in teams):
        raise _fail(
            "productionReviewerTeamIds",
            raw.get("productionReviewerTeamIds"),
            teams_allowed,
            "production must have at least one reviewer team" if not teams else "",
        )

    users_allowed = "a non-empty list of Pulumi Cloud user names who may deploy"
    deployers = _json(raw, "deployers", list, users_allowed)
    if not deployers or not all(isinstance(u, str) and _USER.match(u) for u in deployers):
        raise _fail("deployers", raw.get("deployers"), users_allowed)

    cron_allowed = "a five-field cron schedule at most hourly, e.g. '0 */6 * * *'"
    cron = (raw.get("driftSchedule") or "0 */6 * * *").strip()
    if not _CRON.match(cron):
        raise _fail("driftSchedule", cron, cron_allowed)

    entries = _json(raw, "stacks", dict, f"an object with exactly the stacks {', '.join(STACK_ROLES)}")
    if set(entries) != set(STACK_ROLES):
        raise _fail(
            "stacks",
            raw.get("stacks"),
            f"an object with exactly the stacks {', '.join(STACK_ROLES)}",
            f"got {', '.join(sorted(entries)) or 'none'}",
        )
    for name in STACK_ROLES:
        if not (REPO / f"Pulumi.{name}.yaml").is_file():
            raise _fail("stacks", raw.get("stacks"), "stacks of the main project", f"no Pulumi.{name}.yaml")
    stacks = tuple(_stack(name, entries[name]) for name in STACK_ROLES)
    if len({s.region for s in stacks}) != 1:
        raise _fail(
            "stacks",
            raw.get("stacks"),
            "one region for every stack",
            "the workflows read one AWS_REGION variable",
        )
    return BootstrapConfig(match.group(1), match.group(2), org, tuple(teams), tuple(deployers), cron, stacks)
