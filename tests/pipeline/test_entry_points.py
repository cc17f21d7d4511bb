"""Every entry point answers --help: the console scripts in pyproject and the scripts run by path.

A runnable module (`__main__.py`, or `if __name__ == "__main__"`) under the installed packages must
have a console script, so nobody has to know `python -m x.y` to run it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
BIN = Path(sys.executable).parent
# Run by path (benchmarks, workflow helpers), not installed.
PATH_SCRIPTS = sorted([*ROOT.glob("benchmarks/*.py"), *ROOT.glob(".github/scripts/*.py")])
# Packages whose modules are installed (pyproject's setuptools find); each runnable one needs a script.
PACKAGE_ROOTS = [ROOT / "functions", ROOT / "demo", ROOT / "standins"]


def _runnable_modules() -> set[str]:
    found = set()
    for root in PACKAGE_ROOTS:
        base = root if root.name == "functions" else root.parent
        for path in root.rglob("*.py"):
            module = ".".join(path.relative_to(base).with_suffix("").parts)
            tree = ast.parse(path.read_text())
            guarded = any(isinstance(n, ast.If) and "__main__" in ast.unparse(n.test) for n in tree.body)
            if path.name == "__main__.py" or guarded:
                found.add(module)
    return found


def _help(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_every_runnable_module_has_a_console_script():
    targets = {target.split(":")[0] for target in SCRIPTS.values()}
    assert _runnable_modules() == targets
    assert all(name.startswith("llm-") for name in SCRIPTS)


@pytest.fixture(scope="module")
def helps() -> dict[str, subprocess.CompletedProcess[str]]:
    commands = {name: [str(BIN / name)] for name in SCRIPTS}
    commands |= {path.name: [sys.executable, str(path)] for path in PATH_SCRIPTS}
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(commands, pool.map(_help, commands.values()), strict=True))


def test_console_scripts_are_installed_and_answer_help(helps):
    for name in SCRIPTS:
        assert (BIN / name).is_file(), f"{name} is not installed: make install"
        result = helps[name]
        assert result.returncode == 0, f"{name} --help: {result.stderr}"
        assert result.stdout.startswith("usage: "), name


def test_scripts_run_by_path_answer_help(helps):
    assert PATH_SCRIPTS
    for path in PATH_SCRIPTS:
        result = helps[path.name]
        assert result.returncode == 0 and result.stdout.startswith("usage: "), f"{path}: {result.stderr}"


def test_gateway_help_lists_its_environment_and_starts_nothing(helps):
    from gateway import env_names

    out = helps["llm-gateway"].stdout
    assert env_names.CLIENT_TOKENS in out and env_names.SERVERLESS_BASE_URL in out
    assert "Uvicorn running" not in out + helps["llm-gateway"].stderr
