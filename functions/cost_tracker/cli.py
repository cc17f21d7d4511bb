"""Run the tracker's logic from a shell: `python -m cost_tracker.cli --type standard|detailed|optimization`.

Same environment variables as the Lambda (flags override them), same reads and validation, a JSON
report on stdout. `--dry-run` skips the CloudWatch push. Exit codes: 0 ok, 1 the run failed,
2 bad settings or arguments, 3 a budget status at or above `--fail-on` (for CI gates).
The gateway token comes from Secrets Manager as in Lambda, or from `--gateway-token-file` for a
local gateway; never from a flag or variable holding the value itself.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from llm_shared.budget import EXCEEDED, OK, WARNING
from llm_shared.catalog import CATALOG_PATH_ENV, Catalog, default_catalog, load_catalog
from llm_shared.errors import ConfigError
from llm_shared.redaction import redact

from . import env_names as env
from .config import load_tracker_config
from .optimization import suggest
from .run import Deps, RunResult, default_deps, run_once

TYPES = ("standard", "detailed", "optimization")
_FLAG_TO_ENV = {
    "namespace": env.METRIC_NAMESPACE, "stack": env.STACK_NAME, "daily_budget": env.DAILY_BUDGET_USD,
    "monthly_budget": env.MONTHLY_BUDGET_USD, "time_zone": env.TIME_ZONE, "gateway_url": env.GATEWAY_URL,
    "gateway_token_secret_arn": env.GATEWAY_TOKEN_SECRET_ARN,
}
_SEVERITY = {OK: 0, WARNING: 1, EXCEEDED: 2}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m cost_tracker.cli", description=__doc__.split("\n")[0])
    parser.add_argument("--type", choices=TYPES, default="standard", help="report depth (default standard)")
    parser.add_argument("--dry-run", action="store_true", help="compute and report, push no metrics")
    parser.add_argument("--fail-on", choices=(WARNING, EXCEEDED), help="exit 3 at or above this status")
    parser.add_argument("--gateway-token-file", type=Path, help="read the gateway admin token from a file")
    parser.add_argument("--catalog", type=Path,
                        help=f"model catalog for optimization (else ${CATALOG_PATH_ENV})")
    for flag, name in _FLAG_TO_ENV.items():
        parser.add_argument(f"--{flag.replace('_', '-')}", dest=flag, metavar=name, help=f"overrides ${name}")
    return parser.parse_args(argv)


def _breakdown(result: RunResult) -> dict[str, Any]:
    """Every (model, backend) row of both periods, as the gateway reported them."""
    return {"day": [asdict(row) for row in result.day.rows],
            "month": [asdict(row) for row in result.month.rows]}


def _catalog(path: str | None) -> Catalog:
    return load_catalog(path) if path else default_catalog()


def build_cli_report(kind: str, result: RunResult, catalog: Catalog | None = None) -> dict[str, Any]:
    report = {"type": kind, **result.report}
    if kind in ("detailed", "optimization"):
        report["breakdown"] = _breakdown(result)
    if kind == "optimization":
        report["optimization"] = suggest(result.month, catalog or default_catalog())
    return report


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None,
         deps: Deps | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    values = dict(os.environ if environ is None else environ)
    values.update({name: getattr(args, flag) for flag, name in _FLAG_TO_ENV.items()
                   if getattr(args, flag) is not None})
    deps = deps or default_deps()
    try:
        if args.gateway_token_file is not None:
            secret_id = f"file:{args.gateway_token_file}"
            deps.secrets.seed(secret_id, args.gateway_token_file.read_text(encoding="utf-8"))
            values[env.GATEWAY_TOKEN_SECRET_ARN] = secret_id
        settings = load_tracker_config(values)
        catalog_path = str(args.catalog) if args.catalog else values.get(CATALOG_PATH_ENV) or None
        catalog = _catalog(catalog_path) if args.type == "optimization" else None  # fail before any call
    except (ConfigError, OSError) as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}), file=sys.stderr)
        return 2
    try:
        result = run_once(settings, deps, dry_run=args.dry_run)
    except Exception as exc:
        message = redact(str(exc), *deps.secrets.values())
        print(json.dumps({"error": type(exc).__name__, "message": message}), file=sys.stderr)
        return 1
    report = build_cli_report(args.type, result, catalog)
    print(json.dumps(report, indent=2, sort_keys=True, default=str))
    if args.fail_on and _SEVERITY[report["status"]] >= _SEVERITY[args.fail_on]:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
