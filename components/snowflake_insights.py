"""SnowflakeInsights: AI_INSIGHTS in Snowflake, fed by Snowpipe from the usage export's bucket.

Everything is `pulumi up`: database and schema, the table and views (SQL from sql/ai_insights/,
the same text the fakesnow tests run), the CSV file format, a storage integration, the IAM role it
assumes, an external stage, an auto-ingest pipe and the bucket notification to the pipe's queue.
The integration's IAM user and external ID flow into the role's trust policy as Outputs; the role
ARN is fixed by name up front, which breaks the integration <-> role cycle without copy-paste.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_snowflake as snowflake

from components import insights_sql as sql
from components import policies
from components.naming import CostTaggedComponent, stack_prefix
from components.settings import SecretSettings, Settings
from llm_shared.catalog import default_catalog

# pulumi-snowflake 2.x ships the table and pipe resources as preview features.
PREVIEW_FEATURES = ["snowflake_table_resource", "snowflake_pipe_resource"]


@dataclass
class SnowflakeInsightsArgs:
    settings: Settings
    secrets: SecretSettings
    account_id: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    prefix: str


class SnowflakeInsights(CostTaggedComponent):
    database: str
    pipe_channel: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: SnowflakeInsightsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("SnowflakeInsights", name, opts)
        s, e = args.settings, args.settings.export
        if args.secrets.snowflake_private_key is None:
            raise ValueError("SnowflakeInsights needs snowflakePrivateKey from the stack's ESC environment")
        provider = snowflake.Provider(
            f"{name}-provider", organization_name=e.snowflake_organization, account_name=e.snowflake_account,
            user=e.snowflake_user, role=e.snowflake_role, authenticator="SNOWFLAKE_JWT",
            private_key=args.secrets.snowflake_private_key, preview_features_enabled=PREVIEW_FEATURES,
            opts=pulumi.ResourceOptions(parent=self))
        sf = pulumi.ResourceOptions(parent=self, provider=provider)
        db, schema_name = e.snowflake_database, sql.SCHEMA
        self.database = db

        database = snowflake.Database(f"{name}-database", name=db, opts=sf)
        schema = snowflake.Schema(f"{name}-schema", database=database.name, name=schema_name, opts=sf)
        in_schema = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[schema])
        table = snowflake.Table(
            f"{name}-table", database=db, schema=schema_name, name=sql.TABLE,
            comment="One row per finished gateway request (sql/ai_insights/lambda_insights.sql)",
            columns=[{"name": c.name, "type": c.type, "nullable": c.nullable} for c in sql.table_columns()],
            opts=in_schema)
        file_format = snowflake.FileFormatCsv(
            f"{name}-csv", database=db, schema=schema_name, name=sql.FILE_FORMAT, compression="GZIP",
            skip_header=1, field_optionally_enclosed_by='"', empty_field_as_null="true", opts=in_schema)

        role_name = f"{stack_prefix()}-snowflake-read"
        role_arn = pulumi.Output.concat("arn:aws:iam::", args.account_id, ":role/", role_name)
        location = pulumi.Output.concat("s3://", args.bucket_name, "/", args.prefix)
        integration = snowflake.StorageIntegrationAws(
            f"{name}-integration", name=f"LLM_COST_GOVERNANCE_{s.stack.upper().replace('-', '_')}_USAGE",
            enabled=True, storage_provider="S3", storage_aws_role_arn=role_arn,
            storage_allowed_locations=[location], comment="Reads the usage export's objects", opts=sf)
        described = integration.describe_outputs.apply(lambda outs: outs[0])
        trust = pulumi.Output.all(described.iam_user_arn, described.external_id).apply(
            lambda v: json.dumps(policies.snowflake_trust_policy(iam_user_arn=v[0], external_id=v[1])))
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-read-role", name=role_name, assume_role_policy=trust,
                            description="Assumed by Snowflake's storage integration to load the usage export",
                            opts=child)
        read = aws.iam.RolePolicy(
            f"{name}-read-policy", role=role.name,
            policy=pulumi.Output.from_input(args.bucket_arn).apply(lambda arn: json.dumps(
                policies.snowflake_read_policy(bucket_arn=arn, prefix=args.prefix))),
            opts=child)
        stage = snowflake.StageExternalS3(
            f"{name}-stage", database=db, schema=schema_name, name=sql.STAGE, url=location,
            storage_integration=integration.name,
            file_format={"format_name": f"{db}.{schema_name}.{sql.FILE_FORMAT}"},
            # Snowflake checks it can assume the role when the stage is created.
            opts=pulumi.ResourceOptions(parent=self, provider=provider,
                                        depends_on=[schema, file_format, read]))
        pipe = snowflake.Pipe(
            f"{name}-pipe", database=db, schema=schema_name, name=sql.PIPE, auto_ingest=True,
            copy_statement=sql.copy_statement(db), comment="Loads each new export object once",
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[table, stage]))
        aws.s3.BucketNotification(
            f"{name}-notification", bucket=args.bucket_name,
            queues=[{"queue_arn": pipe.notification_channel, "events": ["s3:ObjectCreated:*"],
                     "filter_prefix": args.prefix, "filter_suffix": ".csv.gz"}],
            opts=child)

        catalog = default_catalog()
        previous: list[pulumi.Resource] = [table]
        for view in sql.VIEWS:
            created = snowflake.View(
                f"{name}-{view.lower().replace('_', '-')}", database=db, schema=schema_name, name=view,
                statement=sql.view_statement(view, db, s.time_zone, catalog),
                comment=f"sql/ai_insights/{view.lower()}.sql",
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=previous))
            previous = [*previous, created]

        self.pipe_channel = pipe.notification_channel
        self.role_arn = role.arn
        self.register_outputs({"database": db, "pipe_channel": self.pipe_channel, "role_arn": self.role_arn})
