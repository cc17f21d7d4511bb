"""Runs the bootstrap program (bootstrap/__main__.py) under Pulumi's mocks with the committed
admin stack's config; its GitHub and Pulumi Cloud plugins are never needed."""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from bootstrap.config import PROJECT

ROOT = Path(__file__).resolve().parents[2]
STACK_FILE = ROOT / "bootstrap" / "Pulumi.admin.yaml"
# A stand-in for the team token Pulumi Cloud would mint: it must reach GitHub only as a secret.
MINTED_TOKEN = "pul-0123456789abcdef0123456789abcdef01234567"


def committed_config() -> dict[str, Any]:
    """The admin stack file's config, keys without the project prefix, values as YAML parsed them."""
    data = yaml.safe_load(STACK_FILE.read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in data.items()}


def raw_config(overrides: dict[str, Any] | None = None) -> dict[str, str]:
    """Config as the CLI hands it to the program: strings, JSON for structured values."""
    values = {**committed_config(), **(overrides or {})}
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in values.items()
        if value is not None
    }


class BootstrapMocks(pulumi.runtime.Mocks):
    def __init__(self, accounts: dict[str, str]) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self._accounts = accounts  # provider resource name -> account id

    def _account(self, args: pulumi.runtime.MockResourceArgs) -> str:
        for name, account in self._accounts.items():
            if args.provider and f"::{name}::" in args.provider:
                return account
        return "000000000000"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        outputs = dict(args.inputs)
        account = self._account(args)
        if args.typ == "aws:iam/role:Role":
            outputs["arn"] = f"arn:aws:iam::{account}:role/{args.inputs['name']}"
        elif args.typ == "aws:iam/policy:Policy":
            outputs["arn"] = f"arn:aws:iam::{account}:policy/{args.inputs['name']}"
        elif args.typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            outputs["arn"] = (
                f"arn:aws:iam::{account}:oidc-provider/{args.inputs['url'].removeprefix('https://')}"
            )
        elif args.typ == "pulumiservice:index:TeamAccessToken":
            outputs["value"] = MINTED_TOKEN
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, []


class OptionsMonitor(pulumi.runtime.mocks.MockMonitor):
    """Keeps the resource options the engine would see (the mocks' args do not carry them)."""

    def __init__(self, mocks: BootstrapMocks) -> None:
        super().__init__(mocks)
        self.options: dict[str, dict[str, Any]] = {}
        self.dependencies: dict[tuple[str, str], list[str]] = {}  # (type, name) -> URNs it depends on

    def RegisterResource(self, request: Any) -> Any:
        self.options[request.name] = {
            "protect": request.protect,
            "ignore_changes": list(request.ignoreChanges),
        }
        self.dependencies[(request.type, request.name)] = list(request.dependencies)
        return super().RegisterResource(request)


@dataclass
class BootstrapRun:
    resources: list[pulumi.runtime.MockResourceArgs]
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name: str) -> pulumi.runtime.MockResourceArgs:
        found = [r for r in self.of_type(typ) if r.name == name]
        assert len(found) == 1, f"one {typ} named {name}, got {[r.name for r in self.of_type(typ)]}"
        return found[0]


def run_bootstrap(overrides: dict[str, Any] | None = None) -> BootstrapRun:
    config = raw_config(overrides)
    stacks = json.loads(config["stacks"])
    mocks = BootstrapMocks({f"aws-{stack}": entry["accountId"] for stack, entry in stacks.items()})
    monitor = OptionsMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="admin", preview=False, monitor=monitor)
    pulumi.runtime.set_all_config({f"{PROJECT}:{key}": value for key, value in config.items()}, [])
    run = BootstrapRun(mocks.resources, monitor.options, dependencies=monitor.dependencies)

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        namespace = runpy.run_path(str(ROOT / "bootstrap" / "__main__.py"), run_name="__pulumi_program__")
        exported = {"deployRoleArns": namespace["deploy_arns"], "previewRoleArns": namespace["preview_arns"],
                    "permissionsBoundaryArns": namespace["boundary_arns"]}
        return pulumi.Output.from_input(exported).apply(run.outputs.update)

    program()
    return run
