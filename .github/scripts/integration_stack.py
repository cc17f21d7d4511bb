"""Write the integration stack's settings: staging's committed config, pointed at a local AWS endpoint.

integration.yml runs it after `pulumi stack init` (which wrote the stack file's encryption salt, kept
here). The result is staging's `config:` without its ESC `environment:` import, the gateway disabled,
and the AWS provider aimed at the moto server with the settings that stop it from calling real AWS.
The secrets ESC would provide are set afterwards with `pulumi config set --secret` (they need the CLI's
encryption); SECRETS_WITHOUT_GATEWAY names them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

# The project name as Pulumi.yaml declares it (components.naming.PROJECT, read without importing it).
PROJECT = yaml.safe_load((Path(__file__).resolve().parents[2] / "Pulumi.yaml").read_text())["name"]
SOURCE_STACK = "staging"
# The ESC secrets the program requires when the gateway is disabled.
SECRETS_WITHOUT_GATEWAY = ("gatewayAdminToken", "lambdaApiKey")
# Every AWS service the program touches.
SERVICES = ("cloudwatch", "events", "iam", "kms", "lambda", "logs", "s3", "secretsmanager", "sns", "sts")
PROVIDER_SETTINGS = {
    "aws:skipCredentialsValidation": "true",
    "aws:skipRequestingAccountId": "true",
    "aws:skipMetadataApiCheck": "true",
    "aws:s3UsePathStyle": "true",
}


def integration_config(source: dict[str, Any], endpoint: str, region: str,
                       gateway_url: str) -> dict[str, Any]:
    """The stack config: the source stack's, with the gateway off and AWS pointed at `endpoint`."""
    config = dict(source.get("config") or {})
    config.update({
        f"{PROJECT}:gatewayEnabled": "false",
        f"{PROJECT}:gatewayUrl": gateway_url,
        "aws:region": region,
        **PROVIDER_SETTINGS,
        "aws:endpoints": [dict.fromkeys(SERVICES, endpoint)],
    })
    return config


def write_stack_file(root: Path, stack: str, endpoint: str, region: str, gateway_url: str) -> Path:
    """Merge the config into Pulumi.<stack>.yaml, keeping what `pulumi stack init` wrote there."""
    source = yaml.safe_load((root / f"Pulumi.{SOURCE_STACK}.yaml").read_text())
    path = root / f"Pulumi.{stack}.yaml"
    existing = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
    existing.pop("environment", None)  # never import ESC here
    existing["config"] = {**(existing.get("config") or {}),
                          **integration_config(source, endpoint, region, gateway_url)}
    path.write_text(yaml.safe_dump(existing, sort_keys=False))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--endpoint", required=True, help="the local AWS endpoint, e.g. http://127.0.0.1:5000")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--gateway-url", default="http://127.0.0.1:8080")
    parser.add_argument("--root", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    path = write_stack_file(args.root, args.stack, args.endpoint, args.region, args.gateway_url)
    print(f"wrote {path}; set these secrets next: {' '.join(SECRETS_WITHOUT_GATEWAY)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
