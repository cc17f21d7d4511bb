"""UsageExport and SnowflakeInsights as the program creates them (Pulumi mocks), and their config keys."""

from __future__ import annotations

import json

import pytest

from components import insights_sql as sql
from components.settings import SettingsError, parse_settings
from components.usage_export import HANDLER
from cost_tracker import env_names
from cost_tracker.usage_export import load_export_settings
from llm_shared.catalog import default_catalog
from tests.program.harness import (
    ACCOUNT,
    ESC_STAND_IN,
    REGION,
    SNOWFLAKE_EXTERNAL_ID,
    SNOWFLAKE_IAM_USER,
    SNOWPIPE_QUEUE,
    is_secret,
    project_config,
    reveal,
    run_program,
    secret_values,
    unwrapped_strings,
)

EXPORT = {"usageExportEnabled": "true"}
SNOWFLAKE = {**EXPORT, "snowflakeEnabled": "true", "snowflakeOrganization": "myorg",
             "snowflakeAccount": "analytics", "snowflakeUser": "PULUMI_DEPLOYER",
             "snowflakeRole": "LLM_INSIGHTS_ADMIN"}
PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nesc-staging-snowflake-key-3c1d\n-----END PRIVATE KEY-----\n"
BUCKET = f"llm-cost-governance-staging-usage-{ACCOUNT}"
POLICY, ALARM = "aws:iam/rolePolicy:RolePolicy", "aws:cloudwatch/metricAlarm:MetricAlarm"
PREFIX = "usage/staging/"


@pytest.fixture(scope="module")
def export_run():
    return run_program("staging", EXPORT)


@pytest.fixture(scope="module")
def insights_run():
    return run_program("staging", SNOWFLAKE, {**ESC_STAND_IN["staging"], "snowflakePrivateKey": PRIVATE_KEY})


def test_the_committed_stacks_export_nothing(program_runs):
    for run in program_runs.values():
        assert not run.of_type("aws:s3/bucket:Bucket")
        assert not [r for r in run.resources if "snowflake" in r.typ]
        assert "usageExportBucket" not in run.outputs


def test_the_bucket_is_private_encrypted_tls_only_and_never_expires_the_cursor(export_run):
    assert export_run.one("aws:s3/bucket:Bucket", "usage-export-bucket").inputs["bucket"] == BUCKET
    block = export_run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                           "usage-export-public-access").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                           "restrictPublicBuckets"))
    encryption = export_run.one("aws:s3/bucketServerSideEncryptionConfiguration:"
                                "BucketServerSideEncryptionConfiguration", "usage-export-encryption").inputs
    assert encryption["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    (rule,) = export_run.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                             "usage-export-lifecycle").inputs["rules"]
    assert "expiration" not in rule and [t["storageClass"] for t in rule["transitions"]] == [
        "STANDARD_IA", "GLACIER_IR"]
    tls = export_run.one("aws:s3/bucketPolicy:BucketPolicy", "usage-export-tls-only")
    policy = json.loads(tls.inputs["policy"])
    assert policy["Statement"][0]["Effect"] == "Deny"
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_exporter_is_its_own_function_schedule_log_group_and_alarm(export_run):
    function = export_run.one("aws:lambda/function:Function", "usage-export").inputs
    assert function["handler"] == HANDLER and function["name"] == "llm-cost-governance-staging-usage-export"
    assert function["reservedConcurrentExecutions"] == 1
    assert function["loggingConfig"]["logGroup"] == "/aws/lambda/llm-cost-governance-staging-usage-export"
    env = function["environment"]["variables"]
    settings = load_export_settings(env)  # the exporter accepts exactly what the program sets
    assert (settings.bucket, settings.prefix, settings.stack) == (BUCKET, PREFIX, "staging")
    assert env[env_names.GATEWAY_TOKEN_SECRET_ARN].startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:")
    rule = export_run.one("aws:cloudwatch/eventRule:EventRule", "usage-export-schedule").inputs
    assert rule["scheduleExpression"] == "rate(1 hour)"
    alarm = export_run.one(ALARM, "usage-export-errors").inputs
    assert alarm["metricName"] == "Errors" and alarm["dimensions"] == {"FunctionName": function["name"]}
    assert alarm["alarmActions"] == [export_run.outputs["alertTopicArn"]]
    tracker_alarm = export_run.one(ALARM, "budget-alarms-tracker-errors").inputs
    assert tracker_alarm["dimensions"] == {"FunctionName": "llm-cost-governance-staging-cost-tracker"}
    assert export_run.outputs["usageExportBucket"] == BUCKET


def test_the_exporter_may_only_list_and_put_under_its_prefix(export_run):
    document = json.loads(export_run.one(POLICY, "usage-export-policy").inputs["policy"])
    function = "llm-cost-governance-staging-usage-export"
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{function}"
    token = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:secrets-gateway-admin-token-Ab12Cd"
    assert document == {"Version": "2012-10-17", "Statement": [
        {"Sid": "ListExportPrefix", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{BUCKET}"], "Condition": {"StringLike": {"s3:prefix": [f"{PREFIX}*"]}}},
        {"Sid": "ExportObjects", "Effect": "Allow", "Action": ["s3:PutObject"],
         "Resource": [f"arn:aws:s3:::{BUCKET}/{PREFIX}*"]},
        {"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": [token]},
        {"Sid": "WriteOwnLogGroup", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": [f"{log_group}:*"]},
    ]}


def test_export_alone_creates_nothing_in_snowflake(export_run):
    assert not [r for r in export_run.resources if "snowflake" in r.typ]
    assert not export_run.of_type("aws:s3/bucketNotification:BucketNotification")


def _by_name(run, typ: str) -> dict[str, dict]:
    return {r.inputs["name"]: r.inputs for r in run.of_type(typ)}


def test_every_snowflake_object_is_declared_from_the_sql_files(insights_run):
    database = sql.DEFAULT_DATABASE
    assert [r.inputs["name"] for r in insights_run.of_type("snowflake:index/database:Database")] == [database]
    assert [r.inputs["name"] for r in insights_run.of_type("snowflake:index/schema:Schema")] == [sql.SCHEMA]
    (table,) = insights_run.of_type("snowflake:index/table:Table")
    assert [(c["name"], c["type"], c["nullable"]) for c in table.inputs["columns"]] == [
        (c.name, c.type, c.nullable) for c in sql.table_columns()]
    assert table.inputs["columns"][8] == {"name": "COST_PICO", "type": "NUMBER(38,0)", "nullable": False}
    views = _by_name(insights_run, "snowflake:index/view:View")
    assert list(views) == list(sql.VIEWS)
    for view, inputs in views.items():
        assert inputs["statement"] == sql.view_statement(view, database, "UTC", default_catalog())
    (pipe,) = insights_run.of_type("snowflake:index/pipe:Pipe")
    assert pipe.inputs["autoIngest"] is True and pipe.inputs["copyStatement"] == sql.copy_statement(database)
    (csv,) = insights_run.of_type("snowflake:index/fileFormatCsv:FileFormatCsv")
    assert (csv.inputs["compression"], csv.inputs["skipHeader"]) == ("GZIP", 1)


def test_the_integration_feeds_the_read_roles_trust_and_the_pipe_feeds_the_bucket_notification(insights_run):
    role_name = "llm-cost-governance-staging-snowflake-read"
    role = insights_run.one("aws:iam/role:Role", "insights-read-role").inputs
    assert json.loads(role["assumeRolePolicy"]) == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": SNOWFLAKE_IAM_USER}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": SNOWFLAKE_EXTERNAL_ID}}}]}
    (integration,) = insights_run.of_type("snowflake:index/storageIntegrationAws:StorageIntegrationAws")
    assert integration.inputs["storageAwsRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{role_name}" and (
        role["name"] == role_name)
    location = f"s3://{BUCKET}/{PREFIX}"
    assert integration.inputs["storageAllowedLocations"] == [location]
    (stage,) = insights_run.of_type("snowflake:index/stageExternalS3:StageExternalS3")
    assert stage.inputs["url"] == location
    assert stage.inputs["storageIntegration"] == integration.inputs["name"]
    read = json.loads(insights_run.one(POLICY, "insights-read-policy").inputs["policy"])
    assert [s["Action"] for s in read["Statement"]] == [
        ["s3:ListBucket"], ["s3:GetObject", "s3:GetObjectVersion"], ["s3:GetBucketLocation"]]
    assert read["Statement"][1]["Resource"] == [f"arn:aws:s3:::{BUCKET}/{PREFIX}*"]
    notification = insights_run.one("aws:s3/bucketNotification:BucketNotification",
                                    "insights-notification").inputs
    assert notification["bucket"] == BUCKET
    assert notification["queues"] == [{"queueArn": SNOWPIPE_QUEUE, "events": ["s3:ObjectCreated:*"],
                                       "filterPrefix": PREFIX, "filterSuffix": ".csv.gz"}]


def test_the_snowflake_key_stays_a_secret_and_no_secret_is_in_plain_text(insights_run):
    (provider,) = [r for r in insights_run.resources if r.typ == "pulumi:providers:snowflake"]
    assert is_secret(provider.inputs["privateKey"]) and reveal(provider.inputs["privateKey"]) == PRIVATE_KEY
    assert provider.inputs["authenticator"] == "SNOWFLAKE_JWT"
    leaks = [*secret_values("staging"), PRIVATE_KEY, "esc-staging-snowflake-key-3c1d"]
    for resource in insights_run.resources:
        for path, text in unwrapped_strings(resource.inputs):
            assert not any(secret in text for secret in leaks), (resource.typ, resource.name, path)


@pytest.mark.parametrize(("extra", "key", "allowed"), [
    ({"snowflakeEnabled": "true"}, "snowflakeEnabled", "usageExportEnabled"),
    ({**SNOWFLAKE, "snowflakeOrganization": ""}, "snowflakeOrganization", "required"),
    ({**SNOWFLAKE, "snowflakeAccount": "my-account"}, "snowflakeAccount", "identifier"),
    ({**SNOWFLAKE, "snowflakeDatabase": "AI INSIGHTS"}, "snowflakeDatabase", "identifier"),
    ({**EXPORT, "usageExportSchedule": "every hour"}, "usageExportSchedule", "rate("),
    ({"usageExportEnabled": "maybe"}, "usageExportEnabled", "true or false"),
])
def test_bad_export_config_fails_preview_naming_the_key(extra, key, allowed):
    with pytest.raises(SettingsError) as failure:
        parse_settings("staging", REGION, {**project_config("staging"), **extra})
    assert f"llm-cost-governance:{key}" in str(failure.value) and allowed in str(failure.value)


def test_snowflake_without_its_esc_key_fails_preview_naming_it():
    with pytest.raises(Exception, match="snowflakePrivateKey"):
        run_program("staging", SNOWFLAKE)
