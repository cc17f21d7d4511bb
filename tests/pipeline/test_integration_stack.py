"""The integration job's stack settings are accepted by the real program and meet its policy pack.

The workflow cannot run here (no Pulumi CLI), so everything it feeds `pulumi up` is checked offline:
the stack file the script writes, the secrets the job sets, and what the program then declares
against what the job's inventory check expects to find in moto.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from policy import validators as v
from tests.program.harness import run_program

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT = "http://127.0.0.1:5000"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / ".github" / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stack_script = _script("integration_stack")
inventory = _script("moto_inventory")


@pytest.fixture
def written(tmp_path) -> dict:
    shutil.copy(ROOT / "Pulumi.staging.yaml", tmp_path / "Pulumi.staging.yaml")
    # What `pulumi stack init` leaves behind with the passphrase provider.
    (tmp_path / "Pulumi.integration-staging.yaml").write_text("encryptionsalt: v1:abc:def\n")
    assert stack_script.main(["--stack", "integration-staging", "--endpoint", ENDPOINT,
                              "--root", str(tmp_path)]) == 0
    return yaml.safe_load((tmp_path / "Pulumi.integration-staging.yaml").read_text())


def test_stack_file_keeps_the_salt_and_drops_esc(written):
    assert written["encryptionsalt"] == "v1:abc:def"
    assert "environment" not in written
    staging = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())
    assert "environment" in staging  # the real stack does import ESC
    untouched = {k: x for k, x in staging["config"].items()
                 if k not in ("llm-cost-governance:gatewayEnabled", "llm-cost-governance:gatewayUrl")}
    assert untouched.items() <= written["config"].items()


def test_provider_points_every_service_at_the_local_endpoint(written):
    config = written["config"]
    for setting in ("skipCredentialsValidation", "skipRequestingAccountId", "skipMetadataApiCheck",
                    "s3UsePathStyle"):
        assert config[f"aws:{setting}"] == "true"
    (endpoints,) = config["aws:endpoints"]
    assert set(endpoints.values()) == {ENDPOINT}
    assert {"cloudwatch", "events", "iam", "lambda", "logs", "secretsmanager", "sns", "sts"} <= set(endpoints)
    assert config["llm-cost-governance:gatewayEnabled"] == "false"


def test_workflow_sets_exactly_the_secrets_the_script_names():
    script = "\n".join(step.get("run", "") for step in
                       yaml.safe_load((ROOT / ".github/workflows/integration.yml").read_text())["jobs"]
                       ["up-destroy-against-moto"]["steps"])
    keys = re.search(r"for key in ([A-Za-z ]+); do\n\s*openssl rand -hex 24 \| pulumi config set --secret",
                     script)
    assert keys and tuple(keys.group(1).split()) == stack_script.SECRETS_WITHOUT_GATEWAY


@pytest.fixture(scope="module")
def program() -> list:
    staging = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())
    config = stack_script.integration_config(staging, ENDPOINT, "us-east-1", "http://127.0.0.1:8080")
    overrides = {k: x if isinstance(x, str) else json.dumps(x) for k, x in config.items()}
    secrets = {key: f"integration-{key}" for key in stack_script.SECRETS_WITHOUT_GATEWAY}
    return run_program("staging", config_overrides=overrides, secrets=secrets).resources


def test_program_accepts_the_settings_and_skips_the_gateway(program):
    types = {r.typ for r in program}
    assert not {t for t in types if t.startswith("command:")}
    assert v.METRIC_ALARM in types


def test_program_meets_the_policy_pack_with_these_settings(program):
    found = {f"{r.typ} {r.name}": problems for r in program
             if (problems := v.violations(r.typ, dict(r.inputs)))}
    stack = [(r.typ, dict(r.inputs)) for r in program]
    found.update({rule.name: problems for rule in v.STACK_RULES if (problems := rule.validate(stack))})
    assert found == {}


def test_inventory_expectations_match_what_the_program_declares(program):
    declared = {kind: sum(r.typ == typ for r in program) for kind, typ in inventory.RESOURCE_TYPES.items()}
    assert set(declared) == set(inventory.CREATED_AT_LEAST)
    assert declared == inventory.CREATED_AT_LEAST
