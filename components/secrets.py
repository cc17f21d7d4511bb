"""Secrets: the ESC-sourced values the functions need at run time, stored in Secrets Manager.

Values stay Pulumi secrets end to end (encrypted in state, never in plan output); everything
downstream gets only ARNs, so no function environment ever holds a credential.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.naming import CostTaggedComponent
from components.settings import SecretSettings

RECOVERY_WINDOW_DAYS = 7


@dataclass
class SecretsArgs:
    stack: str
    values: SecretSettings


class Secrets(CostTaggedComponent):
    gateway_admin_token_arn: pulumi.Output[str]
    lambda_api_key_arn: pulumi.Output[str]
    slack_webhook_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("Secrets", name, opts)
        values = args.values
        self.gateway_admin_token_arn = self._secret(
            f"{name}-gateway-admin-token", args.stack,
            "Bearer token the cost tracker uses for the gateway's /v1/usage endpoints",
            values.gateway_admin_token)
        self.lambda_api_key_arn = self._secret(
            f"{name}-lambda-api-key", args.stack,
            "Lambda Cloud API key (the instance-types price list for the GPU host)",
            values.lambda_api_key)
        self.slack_webhook_arn = None
        if values.slack_webhook_url is not None:
            self.slack_webhook_arn = self._secret(
                f"{name}-slack-webhook", args.stack, "Slack incoming webhook URL for alerts",
                values.slack_webhook_url)
        self.register_outputs({
            "gateway_admin_token_arn": self.gateway_admin_token_arn,
            "lambda_api_key_arn": self.lambda_api_key_arn,
            "slack_webhook_arn": self.slack_webhook_arn,
        })

    def _secret(self, name: str, stack: str, description: str,
                value: pulumi.Input[str]) -> pulumi.Output[str]:
        secret = aws.secretsmanager.Secret(
            name,
            description=f"{description} ({pulumi.get_project()} {stack})",
            recovery_window_in_days=RECOVERY_WINDOW_DAYS,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.secretsmanager.SecretVersion(
            name,
            secret_id=secret.id,
            # Output.secret is a no-op for ESC secrets and a safety net if a caller passed plain text.
            secret_string=pulumi.Output.secret(value),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return secret.arn
