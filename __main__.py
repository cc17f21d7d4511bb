"""llm-cost-governance: budgets, alarms, a cost tracker and the gateway for LLM inference on Lambda.

Only wiring lives here: every config key is read and validated by components.settings, and each
concern is one component under components/.
"""

import pulumi
import pulumi_aws as aws

from components.alert_topic import AlertTopic, AlertTopicArgs
from components.budget_alarms import BudgetAlarms, BudgetAlarmsArgs
from components.cost_tracker import CostTracker, CostTrackerArgs
from components.dashboard import CostDashboard, CostDashboardArgs
from components.gateway_host import GatewayHost, GatewayHostArgs, component_name
from components.iam_boundary import boundary_transformation
from components.lambda_instance import LambdaCloudHost, LambdaCloudHostArgs
from components.ledger_database import LedgerDatabase, LedgerDatabaseArgs
from components.secrets import Secrets, SecretsArgs
from components.settings import load_secrets, load_settings
from components.snowflake_insights import SnowflakeInsights, SnowflakeInsightsArgs
from components.stack_readme import render_readme
from components.usage_export import UsageExport, UsageExportArgs

settings = load_settings()
if settings.permissions_boundary_arn:  # before any resource: every IAM role carries it
    pulumi.runtime.register_stack_transformation(boundary_transformation(settings.permissions_boundary_arn))
secrets = load_secrets(settings)
account_id = aws.get_caller_identity_output().account_id

# Optional: the GPU host itself, launched on Lambda Cloud (else gatewayHost is an existing host).
gpu_host = (LambdaCloudHost("gpu-host", LambdaCloudHostArgs(
    launch=settings.launch, api_key=secrets.lambda_api_key, stack=settings.stack))
    if settings.launch is not None else None)
stored = Secrets("secrets", SecretsArgs(stack=settings.stack, values=secrets))
alerts = AlertTopic("alerts", AlertTopicArgs(
    stack=settings.stack,
    region=settings.region,
    account_id=account_id,
    emails=settings.alert_emails,
    encrypted=settings.encrypt_alert_topic,
    log_retention_days=settings.tracker.log_retention_days,
    slack_webhook_secret_arn=stored.slack_webhook_arn,
))
tracker = CostTracker("cost-tracker", CostTrackerArgs(
    settings=settings,
    topic_arn=alerts.topic_arn,
    topic_key_arn=alerts.key_arn,
    gateway_token_secret_arn=stored.gateway_admin_token_arn,
    lambda_api_key_secret_arn=stored.lambda_api_key_arn,
    gpu_started_at=gpu_host.launched_at if gpu_host else None,  # GPU hours from the launch
), opts=pulumi.ResourceOptions(depends_on=[stored]))
alarms = BudgetAlarms("budget-alarms", BudgetAlarmsArgs(
    settings=settings, topic_arn=alerts.topic_arn, function_name=tracker.function_name,
))
dashboard = CostDashboard("dashboard", CostDashboardArgs(
    settings=settings, function_name=tracker.function_name, alarm_arns=list(alarms.alarm_arns.values()),
))
gateway_urls: dict[str, str] = {}
database = None
if settings.gateway.enabled:
    hosts = settings.gateway.hosts
    # The shared ledger (several hosts): the DSN from ESC, or the database this stack creates.
    ledger_url = secrets.ledger_url
    if settings.ledger.kind == "rds":
        database = LedgerDatabase("ledger-db", LedgerDatabaseArgs(
            ledger=settings.ledger,
            host_addresses=[gpu_host.ip if gpu_host and not spec.host else spec.host for spec in hosts]))
        ledger_url = database.dsn
    for index, spec in enumerate(hosts):
        name = component_name(spec)
        GatewayHost(name, GatewayHostArgs(
            settings=settings, secrets=secrets, spec=spec, ledger_url=ledger_url, adopt_one_host=index == 0,
            host=gpu_host.ip if gpu_host else None, host_key=gpu_host.host_key if gpu_host else None))
        gateway_urls[spec.name or name] = spec.url
export = None
if settings.export.enabled:
    export = UsageExport("usage-export", UsageExportArgs(
        settings=settings, account_id=account_id, topic_arn=alerts.topic_arn,
        gateway_token_secret_arn=stored.gateway_admin_token_arn,
    ), opts=pulumi.ResourceOptions(depends_on=[stored]))
    if settings.export.snowflake:
        SnowflakeInsights("insights", SnowflakeInsightsArgs(
            settings=settings, secrets=secrets, account_id=account_id, bucket_name=export.bucket_name,
            bucket_arn=export.bucket_arn, prefix=export.prefix,
        ))

alarm_names = pulumi.Output.all(**alarms.alarm_names)
readme = pulumi.Output.all(
    topic=alerts.topic_arn,
    function=tracker.function_name,
    url=dashboard.url,
    names=alarm_names,
    forwarder=alerts.forwarder_name if alerts.forwarder_name is not None else "",
).apply(lambda v: render_readme(
    settings,
    topic_arn=v["topic"],
    function_name=v["function"],
    dashboard_url=v["url"],
    alarms={key: (name, alarms.descriptions[key]) for key, name in v["names"].items()},
    forwarder_name=v["forwarder"] or None,
))

outputs = {
    "alertTopicArn": alerts.topic_arn,
    "costTrackerFunctionName": tracker.function_name,
    "alarmNames": alarm_names,
    "dashboardUrl": dashboard.url,
    "gatewayUrl": settings.gateway.url,  # the one the tracker reads (every gateway answers the same)
    "gatewayUrls": gateway_urls,
    "ledgerKind": settings.ledger.kind,
    "readme": readme,
}
if gpu_host is not None:
    outputs.update({"gpuHostIp": gpu_host.ip, "gpuHostLaunchedAt": gpu_host.launched_at})
if database is not None:  # where ops reach the ledger (psql takes the login from that secret)
    outputs.update({"ledgerDbEndpoint": database.endpoint, "ledgerDbSecretArn": database.master_secret_arn})
if export is not None:
    outputs["usageExportBucket"] = export.bucket_name
    outputs["usageExportFunctionName"] = export.function_name
for key, value in outputs.items():
    pulumi.export(key, value)
