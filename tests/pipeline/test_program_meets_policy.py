"""The Pulumi program, as committed, passes its own CrossGuard policy pack.

The real `__main__.py` runs under Pulumi's mocks with each committed stack file's config (plus
throwaway values for the ESC secrets); every resource's inputs, exactly as the engine would hand
them to the pack (camelCase, secrets in wire form), go through every rule. A component change that
would be blocked at `pulumi preview --policy-pack policy` fails here first, offline.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components.settings import PROJECT, SECRET_KEYS
from policy import validators as v

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"


class RecordingMocks(pulumi.runtime.Mocks):
    """Record each resource's inputs; answer with plausible ids and ARNs."""

    def __init__(self) -> None:
        self.resources: list[tuple[str, str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append((args.typ, args.name, dict(args.inputs)))
        service = args.typ.split(":")[1].split("/")[0] if ":" in args.typ else "x"
        arn = f"arn:aws:{service}:us-east-1:{ACCOUNT}:{args.name}"
        return f"{args.name}-id", {**args.inputs, "arn": arn, "name": args.inputs.get("name", args.name)}

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token.endswith("getCallerIdentity"):
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "AIDA",
                    "id": ACCOUNT}
        if args.token.endswith("getRegion"):
            return {"name": "us-east-1", "region": "us-east-1", "id": "us-east-1"}
        if args.token.endswith("getPartition"):
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        return {}


def _config(stack: str) -> tuple[dict[str, str], list[str]]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    config = {key: value if isinstance(value, str) else json.dumps(value)
              for key, value in (document.get("config") or {}).items()}
    # What the stack's ESC environment provides; values are throwaway.
    secrets = {f"{PROJECT}:{key}": f"test-{key}-value" for key in SECRET_KEYS}
    secrets[f"{PROJECT}:slackWebhookUrl"] = "https://hooks.example.test/services/T0/B0/x"
    secrets[f"{PROJECT}:sshPrivateKey"] = ("-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n"
                                           "-----END OPENSSH PRIVATE KEY-----")
    return {**config, **secrets}, sorted(secrets)


def _run_program(stack: str) -> list[tuple[str, str, dict[str, Any]]]:
    mocks = RecordingMocks()
    config, secret_keys = _config(stack)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    pulumi.runtime.set_all_config(config, secret_keys)

    @pulumi.runtime.test
    def program():
        namespace = runpy.run_path(str(ROOT / "__main__.py"))
        return pulumi.Output.all(*namespace["outputs"].values())

    program()
    return mocks.resources


@pytest.fixture(scope="module", params=["staging", "prod"])
def resources(request) -> list[tuple[str, str, dict[str, Any]]]:
    if not (ROOT / "__main__.py").is_file():
        pytest.skip("the Pulumi program is not in place yet")
    return _run_program(request.param)


def test_every_resource_passes_every_rule(resources):
    found = {f"{typ} {name}": problems for typ, name, inputs in resources
             if (problems := v.violations(typ, inputs))}
    assert found == {}


def test_the_governed_resource_kinds_are_really_checked(resources):
    # Guard against a vacuous pass: the rules must have met the resources they exist for.
    types = {typ for typ, _, _ in resources}
    assert v.METRIC_ALARM in types and v.LAMBDA_FUNCTION in types and v.LOG_GROUP in types
    assert types & set(v.IAM_POLICY_TYPES) or v.IAM_ROLE in types
    assert types & set(v.REMOTE_COMMAND_TYPES)
    cost_alarms = [i for t, _, i in resources if t == v.METRIC_ALARM and i.get("metricName") in
                   ("DailyCost", "MonthlyCost", "ForecastMonthlyCost")]
    assert len(cost_alarms) >= 6


def test_the_rules_would_catch_a_regression_in_these_very_inputs(resources):
    # The same inputs, each made non-compliant in one way, are rejected: the pass above is meaningful.
    alarm = next(i for t, _, i in resources if t == v.METRIC_ALARM and i.get("metricName") == "DailyCost")
    assert v.violations(v.METRIC_ALARM, {**alarm, "statistic": "Sum", "alarmActions": []})
    log_group = next(i for t, _, i in resources if t == v.LOG_GROUP)
    assert v.violations(v.LOG_GROUP, {k: x for k, x in log_group.items() if k != "retentionInDays"})
    command_type, command = next((t, i) for t, _, i in resources if t in v.REMOTE_COMMAND_TYPES)
    # The connection arrives secret as a whole (it carries the private key): unwrap, drop the key pin.
    connection = {k: x for k, x in v.reveal(command["connection"]).items() if k != "hostKey"}
    assert v.violations(command_type, {**command, "connection": connection})
