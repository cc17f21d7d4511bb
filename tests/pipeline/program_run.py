"""Run the real Pulumi program under mocks with a committed stack file, recording every resource.

Shared by the policy and runbook tests: the inputs are exactly what the engine would hand the
policy pack (camelCase names, secrets in wire form).
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
import yaml

from components.settings import PROJECT, SECRET_KEYS

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


def stack_config(stack: str) -> tuple[dict[str, str], list[str]]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    config = {key: value if isinstance(value, str) else json.dumps(value)
              for key, value in (document.get("config") or {}).items()}
    # What the stack's ESC environment provides; values are throwaway.
    secrets = {f"{PROJECT}:{key}": f"test-{key}-value" for key in SECRET_KEYS}
    secrets[f"{PROJECT}:slackWebhookUrl"] = "https://hooks.example.test/services/T0/B0/x"
    secrets[f"{PROJECT}:sshPrivateKey"] = ("-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n"
                                           "-----END OPENSSH PRIVATE KEY-----")
    return {**config, **secrets}, sorted(secrets)


def run_program(stack: str) -> list[tuple[str, str, dict[str, Any]]]:
    mocks = RecordingMocks()
    config, secret_keys = stack_config(stack)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    pulumi.runtime.set_all_config(config, secret_keys)

    @pulumi.runtime.test
    def program():
        namespace = runpy.run_path(str(ROOT / "__main__.py"))
        return pulumi.Output.all(*namespace["outputs"].values())

    program()
    return mocks.resources
