"""Run the real Pulumi program (__main__.py) under any Pulumi mocks, with a committed stack's config.

The Pulumi CLI is not needed: config is read from Pulumi.<stack>.yaml exactly as the CLI would hand
it over (strings; JSON for structured values), secrets are passed in and marked secret, and the run
uses preview=False so every apply callback really executes.
"""

from __future__ import annotations

import asyncio
import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from components.naming import PROJECT

REPO = Path(__file__).resolve().parents[1]


def stack_config(stack: str, overrides: dict[str, str | None] | None = None) -> dict[str, str]:
    """The committed stack file's `config:` block, keyed by full names (project:key).

    `overrides` replace (or, with None, remove) keys; bare names are project keys.
    """
    data = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())
    config = {key: value if isinstance(value, str) else json.dumps(value)
              for key, value in data["config"].items()}
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = value
    return config


@dataclass
class ProgramResult:
    """The program's resolved stack outputs, and which of them Pulumi marks secret."""

    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)


def run_program(mocks: pulumi.runtime.Mocks, stack: str, *, overrides: dict[str, str | None] | None = None,
                secrets: dict[str, str] | None = None,
                monitor: Any = None, stack_name: str | None = None) -> ProgramResult:
    """Run __main__.py with `stack`'s committed config and resolve its stack outputs.

    `overrides` replace (or, with None, remove) project keys; `secrets` stand in for the stack's
    Pulumi ESC environment; `stack_name` runs it as a stack of another name (default: `stack`).
    """
    config = stack_config(stack, overrides)
    secret_map = secrets or {}
    config.update({f"{PROJECT}:{key}": value for key, value in secret_map.items()})
    # Under mocks one root stack serves every run in the process: drop the stack transformations
    # (iam_boundary) the last run registered, so they never apply to this run's resources.
    root = pulumi.runtime.settings.get_root_resource()
    if root is not None:
        root._transformations = []
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack_name or stack, preview=False,
                             monitor=monitor)
    pulumi.runtime.set_all_config(config, [f"{PROJECT}:{key}" for key in secret_map])
    result = ProgramResult()

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        namespace = runpy.run_path(str(REPO / "__main__.py"), run_name="__pulumi_program__")
        outputs = {key: pulumi.Output.from_input(value) for key, value in namespace["outputs"].items()}

        async def secret_keys() -> set[str]:
            return {key for key, value in outputs.items() if await value.is_secret()}

        return pulumi.Output.all(
            pulumi.Output.all(**outputs).apply(result.outputs.update),
            # pulumi's Input[U] union is unsolvable for mypy given an Awaitable (from_input has an
            # overload for Output[U] only).
            pulumi.Output.from_input(asyncio.ensure_future(secret_keys()))  # type: ignore[arg-type]
            .apply(result.secret_outputs.update),
        )

    program()
    return result
