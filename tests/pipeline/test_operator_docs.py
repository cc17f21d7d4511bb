"""The runbook and the ADR keep up with the code: every secret, variable and section is covered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.settings import SECRET_KEYS
from policy.validators import METRIC_ALARM, RULES, STACK_RULES
from tests.program.harness import run_program

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = (ROOT / "docs" / "operations.md").read_text()
ADR = (ROOT / "docs" / "adr" / "0001-serverless-first.md").read_text()
WORKFLOW_TEXT = "\n".join(p.read_text() for p in (ROOT / ".github" / "workflows").glob("*.yml"))


def _section(markdown: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    assert match, f"missing section: {heading}"
    return match.group(1)


@pytest.mark.parametrize("name", sorted(set(re.findall(r"secrets\.(\w+)", WORKFLOW_TEXT))))
def test_every_github_secret_is_explained(name):
    assert f"`{name}`" in _section(RUNBOOK, "Delivery pipeline")


@pytest.mark.parametrize("name", sorted(set(re.findall(r"vars\.(\w+)", WORKFLOW_TEXT))))
def test_every_github_variable_is_explained(name):
    assert f"`{name}`" in _section(RUNBOOK, "Delivery pipeline")


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_every_esc_secret_has_a_rotation_procedure(key):
    assert f"`{key}`" in _section(RUNBOOK, "Rotating secrets")


@pytest.mark.parametrize("alarm", ["daily cost warning", "daily cost critical", "monthly cost warning",
                                   "monthly cost critical", "forecast over budget",
                                   "tracker heartbeat missing", "tracker errors"])
def test_every_alarm_is_in_the_table(alarm):
    assert f"| {alarm} |" in _section(RUNBOOK, "Alarms")


def test_every_alarm_the_program_creates_has_a_runbook_entry():
    prefix = "llm-cost-governance-prod-"
    names = [r.inputs["name"] for r in run_program("prod").of_type(METRIC_ALARM)]
    assert names and all(name.startswith(prefix) for name in names)
    alarms = _section(RUNBOOK, "Alarms")
    missing = [name for name in names if f"`{name.removeprefix(prefix)}`" not in alarms]
    assert missing == []


def test_rollback_covers_ratio_force_image_and_history():
    rollback = _section(RUNBOOK, "Rolling back")
    for needle in ("forceBackend gpu", "serverlessRatio 0", "X-Force-Backend", "gatewayImage",
                   "pulumi stack history", "git revert"):
        assert needle in rollback


def test_runbook_lists_as_many_policy_rules_as_the_pack_has():
    pipeline = _section(RUNBOOK, "Delivery pipeline")
    listed = re.search(r"all rules\s+mandatory\):(.*?)\.\s+A violation", pipeline, re.DOTALL)
    assert listed and len(listed.group(1).split(";")) == len(RULES) + len(STACK_RULES)


@pytest.mark.parametrize("heading", ["Context", "Decision", "Consequences", "Mitigations"])
def test_adr_has_the_four_sections(heading):
    assert _section(ADR, heading).strip()


def test_adr_records_the_2025_shutdown_and_provider_neutrality():
    assert "2025" in ADR and "OpenAI-compatible pay-per-token provider" in ADR
