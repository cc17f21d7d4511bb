"""Every `run:` script in the workflows is shellcheck-clean, as GitHub runs it (bash -e).

`${{ ... }}` expressions are replaced by a placeholder first, as actionlint does: GitHub substitutes
them before the shell sees the script.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
SHELLCHECK = shutil.which("shellcheck")


def _scripts() -> list[tuple[str, str]]:
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job_id, job in yaml.safe_load(path.read_text())["jobs"].items():
            for index, step in enumerate(job.get("steps", [])):
                if "run" in step:
                    where = f"{path.stem}.{job_id}[{index}] {step.get('name', '')}".strip()
                    found.append((where, step["run"]))
    return found


SCRIPTS = _scripts()


def test_there_are_scripts_to_check():
    assert len(SCRIPTS) >= 10


@pytest.mark.skipif(SHELLCHECK is None, reason="shellcheck is not installed")
@pytest.mark.parametrize(("where", "script"), SCRIPTS, ids=[w for w, _ in SCRIPTS])
def test_run_script_is_shellcheck_clean(where, script, tmp_path):
    body = re.sub(r"\$\{\{.*?\}\}", "GITHUB_EXPRESSION", script)
    path = tmp_path / "step.sh"
    path.write_text("#!/bin/bash\nset -e\n" + body)
    result = subprocess.run([SHELLCHECK, "--shell=bash", "--severity=style", str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"{where}:\n{result.stdout}"


def test_a_sloppy_script_would_be_caught(tmp_path):
    if SHELLCHECK is None:
        pytest.skip("shellcheck is not installed")
    path = tmp_path / "bad.sh"
    path.write_text("#!/bin/bash\nkill $(cat $RUNNER_TEMP/moto.pid)\n")
    result = subprocess.run([SHELLCHECK, "--shell=bash", str(path)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode != 0


ACTIONLINT = shutil.which("actionlint")


@pytest.mark.skipif(ACTIONLINT is None, reason="actionlint is not installed (make install brings it)")
def test_every_workflow_passes_actionlint():
    """Expressions, contexts, job outputs, action inputs and run: scripts (shellcheck), as GitHub does."""
    result = subprocess.run([ACTIONLINT, "-no-color"], cwd=WORKFLOWS.parents[1], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
