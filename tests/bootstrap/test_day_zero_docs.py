"""issue 16's "Done when", as the docs say it: the one-time setup is three steps (admin credentials,
`pulumi up` in bootstrap/, the secret values once), the README's first deploy points there, and
nothing in the runbook asks for a console click the bootstrap makes."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    rest = text[start + len(heading):]
    end = re.search(r"^#{2,3} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def test_the_one_time_setup_is_three_steps():
    setup = _section(OPERATIONS, "### One-time setup (day zero)")
    steps = re.findall(r"^(\d+)\. \*\*(.+?)\*\*", setup, re.MULTILINE)
    assert [title for _, title in steps] == ["Admin credentials", "`pulumi up` in `bootstrap/`",
                                             "Secret values, once"]
    assert "cd bootstrap && pulumi stack init admin && pulumi up --stack admin" in setup
    # what used to be hand work is named as created by the bootstrap
    for made in ("OIDC providers", "deploy role", "environments `staging` and `production`",
                 "deployment settings", "drift", "permissions boundary", "policy pack"):
        assert made in setup, made


def test_the_readme_first_deploy_points_to_the_one_time_setup():
    readme = (ROOT / "README.md").read_text()
    first = _section(readme, "## First deploy")
    assert "docs/operations.md#one-time-setup-day-zero" in first.split("\n1.")[0]
    assert "pulumi stack init" not in first  # the bootstrap creates the stacks
