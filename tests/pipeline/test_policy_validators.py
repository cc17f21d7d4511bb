"""Each CrossGuard rule catches its bad case and passes the good one.

The validators are called directly with hand-built resource inputs in the shape a policy sees them
(camelCase pulumi-aws / pulumi-command names); the PolicyPack itself is never built here.
"""

from __future__ import annotations

import json

import pytest
from pulumi_policy import Secret

from llm_shared import cloudwatch_contract as mc
from policy import validators as v

TOPIC = "arn:aws:sns:us-east-1:123456789012:llm-alerts"


def _cost_alarm(**overrides):
    props = {
        "name": "daily-cost-critical",
        "metricName": mc.DAILY_COST,
        "namespace": mc.DEFAULT_NAMESPACE,
        "statistic": "Maximum",
        "dimensions": {"Stack": "staging"},
        "threshold": 5.0,
        "alarmActions": [TOPIC],
        "okActions": [TOPIC],
    }
    props.update(overrides)
    return props


def _policy_doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# --- alarms have actions -----------------------------------------------------------------------


def test_alarm_with_topic_action_passes():
    assert v.alarm_has_actions(v.METRIC_ALARM, _cost_alarm()) == []


@pytest.mark.parametrize("actions", [None, [], [""]])
def test_alarm_without_actions_is_a_violation(actions):
    found = v.alarm_has_actions(v.METRIC_ALARM, _cost_alarm(alarmActions=actions))
    assert len(found) == 1
    assert "daily-cost-critical" in found[0] and "alarmActions" in found[0]


def test_alarm_with_actions_disabled_is_a_violation():
    found = v.alarm_has_actions(v.METRIC_ALARM, _cost_alarm(actionsEnabled=False))
    assert any("actionsEnabled" in m for m in found)


def test_composite_alarm_also_needs_actions():
    assert v.alarm_has_actions(v.COMPOSITE_ALARM, {"alarmName": "both", "alarmRule": "ALARM(a)"})
    assert v.alarm_has_actions(v.COMPOSITE_ALARM, {"alarmRule": "ALARM(a)", "alarmActions": [TOPIC]}) == []


def test_tracker_errors_alarm_needs_actions_too():
    errors_alarm = {"name": "tracker-errors", "namespace": "AWS/Lambda", "metricName": "Errors",
                    "statistic": "Sum", "dimensions": {"FunctionName": "cost-tracker"}}
    assert v.alarm_has_actions(v.METRIC_ALARM, errors_alarm)
    assert v.alarm_has_actions(v.METRIC_ALARM, {**errors_alarm, "alarmActions": [TOPIC]}) == []


# --- cost alarms: Maximum and exactly Stack ----------------------------------------------------


@pytest.mark.parametrize("metric", mc.ALARMED_METRICS)
def test_each_alarmed_metric_passes_with_maximum_and_stack(metric):
    assert v.cost_alarm_uses_maximum_and_stack(v.METRIC_ALARM, _cost_alarm(metricName=metric)) == []


@pytest.mark.parametrize("statistic", ["Sum", "Average", "SampleCount"])
def test_cost_alarm_with_other_statistic_is_a_violation(statistic):
    found = v.cost_alarm_uses_maximum_and_stack(v.METRIC_ALARM, _cost_alarm(statistic=statistic))
    assert len(found) == 1 and repr(statistic) in found[0] and "Maximum" in found[0]


def test_cost_alarm_with_extended_statistic_is_a_violation():
    props = _cost_alarm(statistic=None, extendedStatistic="p99")
    found = v.cost_alarm_uses_maximum_and_stack(v.METRIC_ALARM, props)
    assert len(found) == 1 and "'p99'" in found[0]


@pytest.mark.parametrize("dimensions", [
    None,
    {},
    {"Stack": "prod", "Model": "llama"},
    {"Environment": "prod"},
])
def test_cost_alarm_with_wrong_dimension_set_is_a_violation(dimensions):
    found = v.cost_alarm_uses_maximum_and_stack(v.METRIC_ALARM, _cost_alarm(dimensions=dimensions))
    assert len(found) == 1 and "exactly ['Stack']" in found[0]


def test_cost_alarm_with_empty_stack_value_is_a_violation():
    found = v.cost_alarm_uses_maximum_and_stack(v.METRIC_ALARM, _cost_alarm(dimensions={"Stack": ""}))
    assert len(found) == 1 and "empty Stack" in found[0]


def test_non_cost_metric_is_not_judged_by_the_cost_rule():
    props = {"metricName": "Errors", "statistic": "Sum", "dimensions": {"FunctionName": "f"}}
    assert v.cost_alarm_uses_maximum_and_stack(v.METRIC_ALARM, props) == []


def test_cost_metric_inside_metric_queries_is_checked():
    def query(stat, dims):
        return {"id": "m1", "returnData": True,
                "metric": {"metricName": mc.MONTHLY_COST, "namespace": mc.DEFAULT_NAMESPACE,
                           "period": 3600, "stat": stat, "dimensions": dims}}

    good = {"name": "monthly", "metricQueries": [query("Maximum", {"Stack": "prod"})],
            "alarmActions": [TOPIC]}
    bad = {"name": "monthly", "metricQueries": [query("Sum", {"Stack": "prod", "Model": "x"})]}
    assert v.cost_alarm_uses_maximum_and_stack(v.METRIC_ALARM, good) == []
    found = v.cost_alarm_uses_maximum_and_stack(v.METRIC_ALARM, bad)
    assert len(found) == 2 and all("query m1" in m for m in found)


def test_dimension_contract_is_the_shared_one():
    # The rule reads the shared contract: the tracker's push set and the rule cannot drift.
    assert v.cost_alarm_uses_maximum_and_stack(
        v.METRIC_ALARM, _cost_alarm(dimensions={name: "x" for name in mc.ALARM_DIMENSIONS})) == []


# --- IAM wildcard actions ----------------------------------------------------------------------


LEAST = {"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": "LLMCostGovernance"}}}


@pytest.mark.parametrize("resource_type", v.IAM_POLICY_TYPES)
def test_exact_actions_pass(resource_type):
    doc = _policy_doc(LEAST, {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                              "Resource": ["arn:aws:secretsmanager:us-east-1:1:secret:x"]})
    assert v.iam_no_wildcard_actions(resource_type, {"policy": doc}) == []


@pytest.mark.parametrize("action", ["*", "s3:*", ["logs:CreateLogStream", "cloudwatch:*"]])
@pytest.mark.parametrize("resource_type", v.IAM_POLICY_TYPES)
def test_wildcard_action_is_a_violation(resource_type, action):
    doc = _policy_doc(LEAST, {"Sid": "TooBroad", "Effect": "Allow", "Action": action, "Resource": "*"})
    found = v.iam_no_wildcard_actions(resource_type, {"name": "tracker", "policy": doc})
    assert len(found) == 1 and "TooBroad" in found[0] and "wildcard" in found[0]


def test_single_statement_object_and_mapping_document_are_read():
    doc = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}
    assert v.iam_no_wildcard_actions("aws:iam/rolePolicy:RolePolicy", {"policy": doc})


def test_deny_with_wildcard_is_allowed_but_allow_with_not_action_is_not():
    deny = _policy_doc({"Effect": "Deny", "Action": "*", "Resource": "*"})
    not_action = _policy_doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert v.iam_no_wildcard_actions("aws:iam/policy:Policy", {"policy": deny}) == []
    found = v.iam_no_wildcard_actions("aws:iam/policy:Policy", {"policy": not_action})
    assert len(found) == 1 and "NotAction" in found[0]


def test_partial_wildcard_inside_a_name_is_not_a_service_wildcard():
    doc = _policy_doc({"Effect": "Allow", "Action": "logs:Put*", "Resource": "*"})
    assert v.iam_no_wildcard_actions("aws:iam/policy:Policy", {"policy": doc}) == []


def test_role_inline_policies_are_checked():
    props = {"inlinePolicies": [{"name": "ok", "policy": _policy_doc(LEAST)},
                                {"name": "broad", "policy": _policy_doc({"Effect": "Allow", "Action": "*"})}]}
    found = v.iam_no_wildcard_actions(v.IAM_ROLE, props)
    assert len(found) == 1 and "inline policy broad" in found[0]


@pytest.mark.parametrize("arn", ["arn:aws:iam::aws:policy/AdministratorAccess",
                                 "arn:aws:iam::aws:policy/PowerUserAccess",
                                 "arn:aws:iam::aws:policy/AmazonSNSFullAccess",
                                 "arn:aws-us-gov:iam::aws:policy/job-function/CloudWatchFullAccess"])
def test_attaching_a_full_access_managed_policy_is_a_violation(arn):
    found = v.iam_no_wildcard_actions("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                                      {"role": "tracker", "policyArn": arn})
    assert len(found) == 1 and arn in found[0]
    assert v.iam_no_wildcard_actions(v.IAM_ROLE, {"managedPolicyArns": [arn]})


@pytest.mark.parametrize("arn", ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                                 "arn:aws:iam::aws:policy/ReadOnlyAccess",
                                 "arn:aws:iam::123456789012:policy/MyFullAccess"])
def test_scoped_or_customer_managed_attachments_pass(arn):
    assert v.iam_no_wildcard_actions("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                                     {"role": "tracker", "policyArn": arn}) == []


def test_invalid_policy_json_is_reported():
    assert v.iam_no_wildcard_actions("aws:iam/policy:Policy", {"policy": "{not json"}) == [
        "policy: policy is not valid JSON; list the exact actions instead."]


# --- Lambda environment secrets ----------------------------------------------------------------


ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gateway-token-AbCdEf"


def _function(variables):
    return {"runtime": "python3.12", "handler": "cost_tracker.handler.handler",
            "environment": {"variables": variables}}


def test_arns_and_plain_settings_pass():
    env = {"GATEWAY_TOKEN_SECRET_ARN": ARN, "LAMBDA_API_KEY_SECRET_ARN": "", "STACK_NAME": "prod",
           "DAILY_BUDGET_USD": "50", "GATEWAY_URL": "https://gw.example:8443", "MONKEY_BUSINESS": "x"}
    assert v.lambda_env_has_no_secrets(v.LAMBDA_FUNCTION, _function(env)) == []


def test_function_without_environment_passes():
    assert v.lambda_env_has_no_secrets(v.LAMBDA_FUNCTION, {"runtime": "python3.12"}) == []


@pytest.mark.parametrize("name", ["GATEWAY_ADMIN_TOKEN", "SERVERLESS_API_KEY", "SLACK_WEBHOOK_URL",
                                  "DB_PASSWORD", "clientSecret", "apiKey"])
def test_credential_named_variable_with_plain_value_is_a_violation(name):
    found = v.lambda_env_has_no_secrets(v.LAMBDA_FUNCTION, _function({name: "sk-live-1234"}))
    assert len(found) == 1 and name in found[0]
    assert "sk-live-1234" not in found[0]  # the message never repeats the value


@pytest.mark.parametrize("secret", [
    Secret("hunter2"),
    {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "hunter2"},
])
def test_any_variable_holding_a_pulumi_secret_is_a_violation(secret):
    found = v.lambda_env_has_no_secrets(v.LAMBDA_FUNCTION, _function({"HARMLESS_NAME": secret}))
    assert len(found) == 1 and "HARMLESS_NAME" in found[0] and "hunter2" not in found[0]


@pytest.mark.parametrize("wrap", ["variables", "environment"])
def test_environment_that_is_secret_as_a_whole_is_a_violation(wrap):
    variables = {"GATEWAY_TOKEN_SECRET_ARN": ARN, "STACK_NAME": "prod"}
    if wrap == "variables":
        props = {"environment": {"variables": Secret(variables)}}
    else:
        props = {"environment": Secret({"variables": variables})}
    found = v.lambda_env_has_no_secrets(v.LAMBDA_FUNCTION, props)
    assert len(found) == 1 and "secret as a whole" in found[0]


def test_name_heuristic_splits_words():
    assert v.name_looks_secret("GATEWAY_TOKEN")
    assert v.name_looks_secret("slackWebhook")
    assert not v.name_looks_secret("MONKEY")
    assert not v.name_looks_secret("TOKENIZER_PATH")  # whole words only
    assert not v.name_looks_secret("MAX_TOKENS")


# --- log group retention -----------------------------------------------------------------------


@pytest.mark.parametrize("days", [1, 14, 30, 3653])
def test_log_group_with_valid_retention_passes(days):
    assert v.log_group_has_retention(v.LOG_GROUP, {"name": "/aws/lambda/t", "retentionInDays": days}) == []


@pytest.mark.parametrize("props", [{"name": "/aws/lambda/t"}, {"retentionInDays": 0}])
def test_log_group_without_retention_is_a_violation(props):
    found = v.log_group_has_retention(v.LOG_GROUP, props)
    assert len(found) == 1 and "retentionInDays" in found[0] and "14" in found[0]


def test_log_group_with_unsupported_retention_is_a_violation():
    found = v.log_group_has_retention(v.LOG_GROUP, {"retentionInDays": 10})
    assert len(found) == 1 and "10" in found[0] and "not a CloudWatch Logs value" in found[0]


# --- remote commands pin the host key ----------------------------------------------------------


HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9zbW9zaXMtaG9zdC1rZXk="


@pytest.mark.parametrize("resource_type", v.REMOTE_COMMAND_TYPES)
def test_remote_step_with_host_key_passes(resource_type):
    props = {"connection": {"host": "203.0.113.7", "user": "ubuntu", "hostKey": HOST_KEY,
                            "privateKey": Secret("-----BEGIN OPENSSH PRIVATE KEY-----")},
             "create": "docker ps"}
    assert v.remote_command_pins_host_key(resource_type, props) == []


@pytest.mark.parametrize("connection", [{"host": "203.0.113.7"}, {"host": "203.0.113.7", "hostKey": "  "},
                                        None])
@pytest.mark.parametrize("resource_type", v.REMOTE_COMMAND_TYPES)
def test_remote_step_without_host_key_is_a_violation(resource_type, connection):
    found = v.remote_command_pins_host_key(resource_type, {"connection": connection, "create": "true"})
    assert len(found) == 1 and "connection.hostKey" in found[0]


def test_connection_that_is_secret_as_a_whole_is_read():
    # A connection built from a secret private key reaches the pack as one secret value.
    wire = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
    pinned = {**wire, "value": {"host": "h", "hostKey": HOST_KEY, "privateKey": "k"}}
    unpinned = {**wire, "value": {"host": "h", "privateKey": "k"}}
    assert v.remote_command_pins_host_key("command:remote:Command", {"connection": pinned}) == []
    assert v.remote_command_pins_host_key("command:remote:Command", {"connection": unpinned})


def test_secret_host_key_counts_as_set():
    props = {"connection": {"host": "h", "hostKey": Secret(HOST_KEY)}}
    assert v.remote_command_pins_host_key("command:remote:Command", props) == []


# --- stack: every function logs to a managed log group -----------------------------------------


def _fn(name, log_group=None):
    props = {"name": name, "runtime": "python3.12"}
    if log_group is not None:
        props["loggingConfig"] = {"logFormat": "Text", "logGroup": log_group}
    return (v.LAMBDA_FUNCTION, props)


def _lg(name, days=30):
    return (v.LOG_GROUP, {"name": name, "retentionInDays": days})


def test_functions_with_managed_log_groups_pass():
    stack = [_fn("tracker", "/aws/lambda/tracker"), _lg("/aws/lambda/tracker"),
             _fn("forwarder"), _lg("/aws/lambda/forwarder"), _fn("custom", "/llm/custom"), _lg("/llm/custom")]
    assert v.lambda_logs_are_managed(stack) == []


def test_function_without_a_managed_log_group_is_a_violation():
    found = v.lambda_logs_are_managed([_fn("tracker"), _lg("/aws/lambda/other")])
    assert len(found) == 1 and "tracker" in found[0] and "/aws/lambda/tracker" in found[0]


def test_function_pointing_at_an_unmanaged_group_is_a_violation():
    found = v.lambda_logs_are_managed([_fn("tracker", "/shared/logs"), _lg("/aws/lambda/tracker")])
    assert len(found) == 1 and "/shared/logs" in found[0]


def test_stack_without_functions_has_nothing_to_check():
    assert v.lambda_logs_are_managed([_lg("/x"), (v.METRIC_ALARM, {"name": "a"})]) == []


# --- the pack as a whole -----------------------------------------------------------------------


def test_rules_have_unique_policy_names_and_descriptions():
    rules = [*v.RULES, *v.STACK_RULES]
    names = [rule.name for rule in rules]
    assert len(names) == len(set(names)) == 7
    assert all(rule.description for rule in rules)


def test_rules_ignore_resource_types_they_do_not_govern():
    bucket = {"bucket": "x", "policy": _policy_doc({"Effect": "Allow", "Action": "*"})}
    assert v.violations("aws:s3/bucket:Bucket", bucket) == {}


def test_violations_collects_every_rule_that_fires():
    bad_alarm = _cost_alarm(statistic="Sum", alarmActions=[])
    assert set(v.violations(v.METRIC_ALARM, bad_alarm)) == {
        "alarms-have-actions", "cost-alarms-maximum-and-stack-dimension"}
