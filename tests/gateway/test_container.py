"""The container files: pinned requirements that cover every third-party import, a sane compose file."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / "functions" / "gateway"
FIRST_PARTY = {"gateway", "llm_shared"}
DIST_OF_MODULE = {"prometheus_client": "prometheus-client"}


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (GATEWAY / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9][^\s;]*)", line)
            assert match, f"not an exact pin: {line!r}"
            pins[match.group(1).lower()] = match.group(2)
    return pins


def _third_party_imports() -> set[str]:
    """Top-level modules imported by the gateway and the shared modules it uses."""
    found: set[str] = set()
    for path in [*GATEWAY.glob("*.py"), *(ROOT / "functions" / "llm_shared").glob("*.py")]:
        if path.parent.name == "llm_shared" and path.stem in ("client", "http"):
            continue  # the sync requests client is the Lambda's, never imported by the gateway
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in FIRST_PARTY}


def test_requirements_are_exact_pins_covering_every_import():
    pins = _requirements()
    for module in _third_party_imports():
        assert DIST_OF_MODULE.get(module, module).replace("_", "-") in pins, module
    assert {"uvloop", "httptools"} <= set(pins)  # the fast server loop and parser
    assert "boto3" not in pins and "requests" not in pins


def test_shared_modules_used_by_the_gateway_do_not_import_requests():
    for name in ("catalog", "money", "pricing", "budget", "periods", "complexity", "routing",
                 "usage_schema", "errors"):
        tree = ast.parse((ROOT / "functions" / "llm_shared" / f"{name}.py").read_text())
        modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert "requests" not in modules, name


def test_compose_matches_the_deployed_container():
    compose = yaml.safe_load((GATEWAY / "compose.yaml").read_text())
    service = compose["services"]["gateway"]
    dockerfile = (GATEWAY / service["build"]["context"] / service["build"]["dockerfile"]).resolve()
    assert dockerfile == GATEWAY / "Dockerfile"
    assert service["network_mode"] == "host"
    assert any(v.endswith(":/data") for v in service["volumes"])
    assert service["stop_grace_period"] == "30s"  # run-container.sh and stop.sh stop with --time 30


def test_dockerfile_runs_the_entry_point_as_non_root_with_the_ledger_on_the_volume():
    text = (GATEWAY / "Dockerfile").read_text()
    assert 'CMD ["python", "-m", "gateway"]' in text
    assert re.search(r"^USER 10001", text, re.M)
    assert "LEDGER_URL=/data/ledger.db" in text
    assert "requirements.txt" in text


def test_build_context_is_limited_to_what_the_image_needs():
    ignore = (GATEWAY / "Dockerfile.dockerignore").read_text().splitlines()
    rules = [line.strip() for line in ignore if line.strip() and not line.startswith("#")]
    assert rules[0] == "*"  # everything else (.venv, build/, .git, tests) stays out of the context
    assert {"!pyproject.toml", "!functions/"} <= set(rules)
    assert "functions/gateway/gateway.env" in rules  # the secrets file never enters an image
    assert "functions/llm_ops/" in rules  # nor do the operator tools (and their mcp/langgraph imports)
    copied = re.findall(r"^COPY (?!--from)(\S+)", (GATEWAY / "Dockerfile").read_text(), re.M)
    for source in copied:
        assert source == "pyproject.toml" or source.startswith("functions/"), source
