"""The toolchain is locked and the same everywhere: make install, CI, and `pulumi install`.

`pulumi install` with `toolchain: uv` runs a plain `uv sync` into `.venv`: it must install what
`make install` does (the default `dev` group), or a console deploy would run with a smaller venv.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = tomllib.loads((ROOT / "uv.lock").read_text())
MAKEFILE = (ROOT / "Makefile").read_text()
# Packages whose internals this code patches or subclasses: an upgrade is a reviewed change.
EXACT = ("pulumi", "pulumi-policy")
# Top-level folders of Python code that mypy checks (everything but tests and build output).
CODE_ROOTS = {"__main__.py", "components", "functions", "demo", "standins", "policy", "benchmarks",
              ".github/scripts", "bootstrap"}


def _requirements() -> list[str]:
    deps = list(PYPROJECT["project"]["dependencies"])
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        deps += extra
    for group in PYPROJECT["dependency-groups"].values():
        deps += group
    return deps


def _spec(name: str) -> str:
    (spec,) = [d for d in _requirements() if re.match(rf"{re.escape(name)}\s*[=<>!~\[]", d)]
    return spec


def _locked(name: str) -> str:
    (package,) = [p for p in LOCK["package"] if p["name"] == name]
    return package["version"]


def test_patched_packages_are_exact_pins_matching_the_lock_and_the_venv():
    for name in EXACT:
        match = re.fullmatch(rf"{re.escape(name)}==(\S+)", _spec(name))
        assert match, f"{name} must be an exact pin, not {_spec(name)!r}"
        assert match.group(1) == _locked(name) == metadata.version(name), name


def test_make_install_syncs_the_lock_and_reinstalls_when_either_file_changes():
    assert re.search(r"^\$\(STAMP\): pyproject\.toml uv\.lock$", MAKEFILE, re.M)
    assert "$(UV) sync --locked" in MAKEFILE
    assert "pip install -e" not in MAKEFILE and "uv pip install --python" not in MAKEFILE
    ci = (ROOT / ".ci" / "run").read_text()
    assert "rm -rf .venv" in ci and "make test" in ci


def test_the_bootstrap_uv_is_the_locked_uv():
    version = re.search(r"^UV_VERSION := (\S+)$", MAKEFILE, re.M).group(1)
    assert _spec("uv") == f"uv=={version}"
    assert _locked("uv") == version == metadata.version("uv")


def test_pulumi_install_builds_the_same_venv_as_make_install():
    for path, venv in ((ROOT / "Pulumi.yaml", ".venv"), (ROOT / "policy" / "PulumiPolicy.yaml", "../.venv")):
        options = yaml.safe_load(path.read_text())["runtime"]["options"]
        assert options == {"toolchain": "uv", "virtualenv": venv}, path.name
    # plain `uv sync` installs the dev group only: it must name every extra, or uv removes them
    assert "default-groups" not in PYPROJECT.get("tool", {}).get("uv", {})
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    (self_ref,) = [d for d in PYPROJECT["dependency-groups"]["dev"] if d.startswith("llm-cost-governance[")]
    assert set(self_ref.split("[", 1)[1].rstrip("]").split(",")) == extras


def test_mypy_checks_every_code_folder_and_make_lint_runs_it():
    config = PYPROJECT["tool"]["mypy"]
    assert set(config["files"]) == CODE_ROOTS
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    found = {path.split("/")[0] for path in tracked if "/" in path} - {"tests", ".github"}
    found |= {".github/scripts"} if any(p.startswith(".github/scripts/") for p in tracked) else set()
    assert found | {"__main__.py"} == CODE_ROOTS, "a new code folder needs a place in [tool.mypy] files"
    lint = re.search(r"^lint:.*\n((?:\t.*\n)+)", MAKEFILE, re.M).group(1)
    assert "$(BIN)/mypy" in lint
