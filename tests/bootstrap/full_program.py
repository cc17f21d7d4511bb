"""The main program with every optional component switched on, as the deploy roles must cover it:
the usage export and Snowflake, a launched Lambda Cloud host, the gateway with a provided
certificate, the shared ledger's RDS database, the encrypted alert topic, the Slack forwarder, and
the bootstrap's boundary."""

from __future__ import annotations

from bootstrap.deploy_policy import Scope
from components.iam_boundary import KEY as BOUNDARY_KEY
from tests.program.harness import ACCOUNT, ESC_STAND_IN, REGION, ProgramRun, run_program

MAIN = "llm-cost-governance"
# Every config switch that adds AWS resources (tests/program's own cases for each, combined).
EVERYTHING = {
    "usageExportEnabled": "true",
    "snowflakeEnabled": "true", "snowflakeOrganization": "myorg", "snowflakeAccount": "analytics",
    "snowflakeUser": "PULUMI_DEPLOYER", "snowflakeRole": "LLM_INSIGHTS_ADMIN",
    "launchInstance": "true", "lambdaRegion": "us-east-1", "lambdaSshKeyName": "ops-deploy",
    "gatewayHost": None, "gatewayHostKey": None,
    "gatewayEnabled": "true", "tlsMode": "provided",
    "encryptAlertTopic": "true",
    "ledgerKind": "rds",  # LedgerDatabase: RDS PostgreSQL, its security group and parameter group
}
EXTRA_SECRETS = {
    "slackWebhookUrl": "https://hooks.slack.com/services/T000/B000/esc-full-slack-1d2e",
    "snowflakePrivateKey":
        "-----BEGIN PRIVATE KEY-----\nesc-full-snowflake-key-5f6a\n-----END PRIVATE KEY-----\n",
    "tlsCertificate": "-----BEGIN CERTIFICATE-----\nesc-full-cert-7b8c\n-----END CERTIFICATE-----\n",
    "tlsPrivateKey": "-----BEGIN PRIVATE KEY-----\nesc-full-tls-key-9d0e\n-----END PRIVATE KEY-----\n",
    "huggingFaceToken": "hf_esc-full-token-1a2b",
}


def scope(stack: str) -> Scope:
    """The bootstrap's scope for `stack` in the account and region the program's mocks answer with."""
    return Scope(ACCOUNT, REGION, MAIN, stack)


def run_everything(stack: str, *, boundary: bool = True) -> ProgramRun:
    overrides = {**EVERYTHING, BOUNDARY_KEY: scope(stack).boundary_arn if boundary else None}
    return run_program(stack, overrides, secrets={**ESC_STAND_IN[stack], **EXTRA_SECRETS})
