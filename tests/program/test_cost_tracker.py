"""CostTracker wiring and least privilege, as the committed stacks create them."""

from __future__ import annotations

import json

from components.cost_tracker import HANDLER
from components.packaging import build_tracker_zip
from cost_tracker import env_names
from tests.program.harness import ACCOUNT, PROJECT, REGION, ProgramRun, stack_config

FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ENV_NAME_VALUES = {value for key, value in vars(env_names).items()
                   if key.isupper() and isinstance(value, str)}


def tracker(run: ProgramRun) -> dict:
    return run.one(FUNCTION, "cost-tracker").inputs


def secret_arn(run: ProgramRun, logical: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{logical}-Ab12Cd"


def test_function_runs_the_tracker_handler_on_python_312(run):
    inputs = tracker(run)
    assert inputs["runtime"] == "python3.12"
    assert inputs["handler"] == HANDLER == "cost_tracker.handler.handler"
    assert inputs["name"] == f"llm-cost-governance-{run.stack}-cost-tracker"
    assert inputs["sourceCodeHash"] == build_tracker_zip().sha256_b64
    assert inputs["loggingConfig"]["logGroup"] == f"/aws/lambda/{inputs['name']}"


def test_both_functions_write_lambdas_json_log_format(program_runs):
    """JSON: the handlers' `extra` fields become fields of each line (was Text: a JSON string inside)."""
    functions = program_runs["prod"].of_type(FUNCTION)
    assert {f.name for f in functions} == {"cost-tracker", "alerts-slack"}
    for function in functions:
        config = function.inputs["loggingConfig"]
        assert (config["logFormat"], config["applicationLogLevel"], config["systemLogLevel"]) == (
            "JSON", "INFO", "WARN")


def test_environment_is_exactly_the_tracker_contract_with_arns_not_values(run):
    env = tracker(run)["environment"]["variables"]
    assert set(env) <= ENV_NAME_VALUES, set(env) - ENV_NAME_VALUES
    assert set(env) >= set(env_names.REQUIRED)
    config = stack_config(run.stack)
    assert env[env_names.STACK_NAME] == run.stack
    assert env[env_names.METRIC_NAMESPACE] == config[f"{PROJECT}:metricNamespace"]
    assert env[env_names.DAILY_BUDGET_USD] == config[f"{PROJECT}:dailyBudgetUsd"]
    assert env[env_names.MONTHLY_BUDGET_USD] == config[f"{PROJECT}:monthlyBudgetUsd"]
    assert env[env_names.GATEWAY_URL] == config[f"{PROJECT}:gatewayUrl"]
    assert env[env_names.GPU_HOURLY_USD] == config[f"{PROJECT}:gpuHourlyUsd"]
    for name in env_names.SECRET_ARN_VARIABLES:
        assert env[name].startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"), name


def test_the_tracker_accepts_the_environment_the_program_sets(run):
    """The tracker's own settings loader validates what the program passes (no drift in formats)."""
    from cost_tracker.config import load_tracker_config

    settings = load_tracker_config(tracker(run)["environment"]["variables"])
    assert settings.stack == run.stack


def test_role_policy_is_exactly_least_privilege(run):
    encrypted = run.stack == "prod"
    policies = {p.name: p.inputs for p in run.of_type(ROLE_POLICY)}
    document = json.loads(policies["cost-tracker-policy"]["policy"])
    function_name = f"llm-cost-governance-{run.stack}-cost-tracker"
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{function_name}"
    expected = [
        {"Sid": "PutCostMetricsInOwnNamespace", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"],
         "Resource": "*", "Condition": {"StringEquals": {"cloudwatch:namespace": "LLMCostGovernance"}}},
        {"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": sorted([secret_arn(run, "secrets-gateway-admin-token"),
                             secret_arn(run, "secrets-lambda-api-key")])},
        {"Sid": "WriteOwnLogGroup", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": [f"{log_group}:*"]},
        {"Sid": "PublishFailuresToAlertTopic", "Effect": "Allow", "Action": ["sns:Publish"],
         "Resource": [run.outputs["alertTopicArn"]]},
    ]
    if encrypted:
        expected.append({"Sid": "UseAlertTopicKey", "Effect": "Allow",
                         "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                         "Resource": [f"arn:aws:kms:{REGION}:{ACCOUNT}:key/alerts-key-0000-1111"]})
    assert document == {"Version": "2012-10-17", "Statement": expected}


def test_no_role_policy_grants_wildcard_actions_or_unconditioned_wildcard_resources(run):
    for policy in run.of_type(ROLE_POLICY):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            for action in statement["Action"]:
                assert "*" not in action, (policy.name, action)
            if statement["Resource"] == "*":
                assert statement.get("Condition"), (policy.name, statement)


def test_roles_are_assumable_by_lambda_only(run):
    for role in run.of_type("aws:iam/role:Role"):
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                       "Action": "sts:AssumeRole"}]
        assert "managedPolicyArns" not in role.inputs


def test_log_group_has_retention_from_config(run):
    group = run.one("aws:cloudwatch/logGroup:LogGroup", "cost-tracker-logs").inputs
    assert group["name"] == f"/aws/lambda/llm-cost-governance-{run.stack}-cost-tracker"
    assert group["retentionInDays"] == int(stack_config(run.stack)[f"{PROJECT}:logRetentionDays"])


def test_schedule_rule_target_and_permission(run):
    rule = run.one("aws:cloudwatch/eventRule:EventRule", "cost-tracker-schedule").inputs
    assert rule["scheduleExpression"] == stack_config(run.stack)[f"{PROJECT}:trackerSchedule"]
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule['name']}"
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{tracker(run)['name']}"

    target = run.one("aws:cloudwatch/eventTarget:EventTarget", "cost-tracker-target").inputs
    assert target["rule"] == rule["name"] and target["arn"] == function_arn
    assert target["retryPolicy"]["maximumRetryAttempts"] >= 1
    assert 60 <= target["retryPolicy"]["maximumEventAgeInSeconds"] <= 3600

    permission = run.one("aws:lambda/permission:Permission", "cost-tracker-invoke").inputs
    assert permission == {"action": "lambda:InvokeFunction", "function": tracker(run)["name"],
                          "principal": "events.amazonaws.com", "sourceArn": rule_arn}


def test_async_invoke_retries_twice_then_sends_failures_to_the_topic(run):
    config = run.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "cost-tracker-async")
    assert config.inputs["functionName"] == tracker(run)["name"]
    assert config.inputs["maximumRetryAttempts"] == 2
    assert config.inputs["maximumEventAgeInSeconds"] == 3600
    assert config.inputs["destinationConfig"] == {"onFailure": {"destination": run.outputs["alertTopicArn"]}}
    # Lambda checks the role may publish there when the config is created: the policy must exist first.
    options = run.options[(config.typ, config.name)]
    assert any(urn.endswith("::cost-tracker-policy") for urn in options.dependencies)
