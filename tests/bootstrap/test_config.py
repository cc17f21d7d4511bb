"""Bad bootstrap config fails before any resource, naming the key and what is allowed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bootstrap.config import load_config
from bootstrap.esc_documents import OPTIONAL_SECRET_KEYS, SECRET_KEYS
from components.settings import SettingsError

from .harness import committed_config, raw_config, run_bootstrap

ROOT = Path(__file__).resolve().parents[2]
STACKS = committed_config()["stacks"]


def _with_stack(stack: str, **fields: object) -> dict[str, object]:
    return {"stacks": {**STACKS, stack: {**STACKS[stack], **fields}}}


@pytest.mark.parametrize(
    ("overrides", "key", "says"),
    [
        ({"githubRepository": "no-slash"}, "githubRepository", "owner/name"),
        ({"githubRepository": None}, "githubRepository", "required"),
        ({"pulumiOrganization": ""}, "pulumiOrganization", "required"),
        ({"productionReviewerTeamIds": []}, "productionReviewerTeamIds", "at least one reviewer"),
        ({"productionReviewerTeamIds": ["ops"]}, "productionReviewerTeamIds", "team ids (numbers)"),
        ({"deployers": []}, "deployers", "user names"),
        ({"driftSchedule": "every hour"}, "driftSchedule", "five-field cron"),
        ({"stacks": {"staging": STACKS["staging"]}}, "stacks", "exactly the stacks staging, prod"),
        (_with_stack("prod", accountId="12345"), "stacks.prod.accountId", "12 digits"),
        (_with_stack("prod", accountId=222222222222), "stacks.prod.accountId", "quoted"),
        (_with_stack("staging", region="mars-1"), "stacks.staging.region", "an AWS region"),
        (_with_stack("staging", region="eu-west-1"), "stacks", "one region"),
        (_with_stack("prod", role="admin"), "stacks.prod", "unknown field(s) role"),
    ],
)
def test_bad_config_names_the_key_and_what_is_allowed(overrides, key, says):
    with pytest.raises(SettingsError) as failure:
        load_config(raw_config(overrides))
    message = str(failure.value)
    assert f"invalid config llm-cost-governance-bootstrap:{key} = " in message
    assert says in message


def test_the_committed_stack_file_is_valid():
    cfg = load_config(raw_config())
    assert [s.stack for s in cfg.stacks] == ["staging", "prod"]
    assert cfg.repository == committed_config()["githubRepository"]


def test_preview_fails_on_bad_config_before_any_resource():
    with pytest.raises(SettingsError, match=r"stacks\.prod\.accountId"):
        run_bootstrap(_with_stack("prod", accountId="nope"))


def test_the_secrets_skeleton_names_every_secret_the_program_reads():
    # components/settings.py's load_secrets: config.require_secret("x") / get_secret("x")
    tree = ast.parse((ROOT / "components" / "settings.py").read_text())
    read = {
        (node.func.attr, node.args[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("require_secret", "get_secret", "get_secret_object")
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    required = {k for kind, k in read if kind == "require_secret"}
    assert required == set(SECRET_KEYS)
    # a key required only in some configurations (gatewayClientTokens) is also read with get_secret
    assert {k for kind, k in read if kind != "require_secret"} - required == set(OPTIONAL_SECRET_KEYS)
