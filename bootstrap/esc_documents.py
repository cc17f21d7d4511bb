"""The ESC environments of one main stack, as YAML documents (no secret value in any of them).

- `<project>/<stack>`: what Pulumi.<stack>.yaml imports. It imports `<stack>-secrets` and holds the
  non-secret structure. It carries NO AWS credentials: every preview opens it, including a pull
  request's (preview.yml), so an aws-login here would hand the deploy role to PR code.
- `<project>/<stack>-secrets`: created once, empty; a person enters the values
  (`esc env edit`). The bootstrap never rewrites it (ignore_changes on its YAML).
- `<project>/<stack>-deploy`: AWS login by OIDC into the stack's deploy role, for an operator's
  `esc run <project>/<stack>-deploy -- pulumi up`; only the deployers team may open it.
"""

from __future__ import annotations

from typing import Any

import yaml

from components.iam_boundary import KEY as BOUNDARY_KEY

# The stack config secrets each stack's ESC environment must provide (components/settings.py reads them).
SECRET_KEYS = (
    "gatewayAdminToken",
    "lambdaApiKey",
    "serverlessApiKey",
    "gatewayClientTokens",
    "sshPrivateKey",
)
# huggingFaceToken: gated models; tlsCertificate/tlsPrivateKey: required with tlsMode provided;
# snowflakePrivateKey: required with snowflakeEnabled; gatewayClientKeyTokens (name -> token): required
# with gatewayClientKeys (gatewayClientTokens is then optional).
OPTIONAL_SECRET_KEYS = ("slackWebhookUrl", "huggingFaceToken", "tlsCertificate", "tlsPrivateKey",
                        "snowflakePrivateKey", "gatewayClientKeyTokens", "ledgerUrl")


def environment_names(project: str, stack: str) -> dict[str, str]:
    return {
        "stack": f"{project}/{stack}",
        "secrets": f"{project}/{stack}-secrets",
        "deploy": f"{project}/{stack}-deploy",
    }


def _dump(comment: str, document: dict[str, Any]) -> str:
    lines = "".join(f"# {line}\n" if line else "#\n" for line in comment.splitlines())
    return lines + yaml.safe_dump(document, sort_keys=False)


def stack_environment(project: str, stack: str, region: str, boundary_arn: str) -> str:
    """The stack's non-secret config: its region, and the permissions boundary of its IAM roles."""
    names = environment_names(project, stack)
    return _dump(
        f"Managed by the bootstrap project (bootstrap/): edit there, not here.\n"
        f"Secret values live in {names['secrets']}; AWS credentials never live here (PR previews open this).",
        {"imports": [names["secrets"]],
         "values": {"pulumiConfig": {"aws:region": region, f"{project}:{BOUNDARY_KEY}": boundary_arn}}},
    )


def secrets_skeleton(project: str, stack: str) -> str:
    required = ", ".join(f"{project}:{key}" for key in SECRET_KEYS)
    optional = ", ".join(f"{project}:{key}" for key in OPTIONAL_SECRET_KEYS)
    return _dump(
        f"Secret values of the {stack} stack, entered once by a person, never committed:\n"
        f"  esc env edit {project}/{stack}-secrets   (each value under pulumiConfig, marked secret)\n"
        f"Required: {required}. Optional: {optional}.",
        {"values": {"pulumiConfig": {}}},
    )


def deploy_environment(project: str, stack: str, role_arn: str, session_name: str) -> str:
    return _dump(
        "Managed by the bootstrap project. Opening this environment assumes the stack's deploy role.",
        {
            "values": {
                "aws": {
                    "login": {
                        "fn::open::aws-login": {
                            "oidc": {"roleArn": role_arn, "sessionName": session_name, "duration": "1h"}
                        }
                    }
                },
                "environmentVariables": {
                    "AWS_ACCESS_KEY_ID": "${aws.login.accessKeyId}",
                    "AWS_SECRET_ACCESS_KEY": "${aws.login.secretAccessKey}",
                    "AWS_SESSION_TOKEN": "${aws.login.sessionToken}",
                },
            }
        },
    )
