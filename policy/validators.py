"""The CrossGuard rules as plain functions, so they can be tested without the policy server.

Each validator takes the Pulumi resource type token and the resource's inputs in the shape a policy
sees them (camelCase pulumi-aws / pulumi-command property names, nested mappings and sequences) and
returns the violation messages; an empty list means compliant or not applicable. `__main__.py` wraps
each one in a mandatory `ResourceValidationPolicy`.

Values may arrive as Pulumi secrets in two shapes: the SDK's `pulumi_policy.Secret` marker, or the
engine's wire form (a mapping with the secret signature). Both are recognised and unwrapped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import Secret

from llm_shared.cloudwatch_contract import ALARM_DIMENSIONS, ALARMED_METRICS, LOG_RETENTION_DAYS

Props = Mapping[str, Any]
Validator = Callable[[str, Props], list[str]]

# The engine's wire encoding of a secret (github.com/pulumi/pulumi sdk/go/common/resource/properties.go).
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 (a type signature, not a secret)

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
ALARM_TYPES = (METRIC_ALARM, COMPOSITE_ALARM)
IAM_POLICY_TYPES = (
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
IAM_ROLE = "aws:iam/role:Role"
IAM_ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
# AWS managed policies that are wildcard grants by construction (`*` or `service:*`).
_WILDCARD_MANAGED_POLICY_RE = re.compile(
    r"^arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?(AdministratorAccess|PowerUserAccess|[A-Za-z0-9]*FullAccess)$")
LAMBDA_FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
REMOTE_COMMAND_TYPES = ("command:remote:Command", "command:remote:CopyToRemote", "command:remote:CopyFile")

COST_ALARM_STATISTIC = "Maximum"
SECRET_NAME_WORDS = frozenset({"KEY", "APIKEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PWD",
                               "WEBHOOK", "CREDENTIAL", "CREDENTIALS", "PRIVATEKEY"})
_ARN_RE = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:")
_SERVICE_WILDCARD_RE = re.compile(r"^[A-Za-z0-9-]+:\*$")
_NAME_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def is_secret(value: Any) -> bool:
    """True for a value the engine or the SDK marks as a Pulumi secret."""
    if isinstance(value, Secret):
        return True
    return isinstance(value, Mapping) and value.get(_SIG_KEY) == _SECRET_SIG


def reveal(value: Any) -> Any:
    """The plain value behind a secret marker (or the value itself)."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if is_secret(value):
        return reveal(value.get("value"))
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    value = reveal(value)
    return value if isinstance(value, Mapping) else {}


def _sequence(value: Any) -> list[Any]:
    value = reveal(value)
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        return [value]
    return list(value)


# --- alarms ------------------------------------------------------------------------------------


def alarm_has_actions(resource_type: str, props: Props) -> list[str]:
    """An alarm nobody hears is noise: it must notify somewhere and keep actions enabled."""
    if resource_type not in ALARM_TYPES:
        return []
    name = reveal(props.get("name")) or reveal(props.get("alarmName")) or "alarm"
    problems = []
    if not [a for a in _sequence(props.get("alarmActions")) if reveal(a)]:
        problems.append(f"{name}: alarmActions is empty; set it to the alert topic ARN so it notifies.")
    if reveal(props.get("actionsEnabled")) is False:
        problems.append(f"{name}: actionsEnabled is false; alarm actions must stay enabled.")
    return problems


def _check_cost_metric(where: str, metric_name: str, statistic: Any, dimensions: Any) -> list[str]:
    problems = []
    if statistic != COST_ALARM_STATISTIC:
        problems.append(
            f"{where}: cost metric {metric_name} uses statistic {statistic!r}; it must be "
            f"{COST_ALARM_STATISTIC!r} (the metric is a cost-to-date gauge, a retried push must not add up).")
    names = sorted(_mapping(dimensions))
    if names != sorted(ALARM_DIMENSIONS):
        problems.append(
            f"{where}: cost metric {metric_name} has dimensions {names}; it must have exactly "
            f"{list(ALARM_DIMENSIONS)} (CloudWatch matches dimension sets exactly; others never get data).")
    else:
        empty = [k for k, v in _mapping(dimensions).items() if not reveal(v)]
        if empty:
            problems.append(f"{where}: cost metric {metric_name} has an empty {empty[0]} dimension value.")
    return problems


def cost_alarm_uses_maximum_and_stack(resource_type: str, props: Props) -> list[str]:
    """Cost alarms read the tracker's gauges: statistic Maximum and exactly the Stack dimension."""
    if resource_type != METRIC_ALARM:
        return []
    name = reveal(props.get("name")) or "alarm"
    problems = []
    metric_name = reveal(props.get("metricName"))
    if metric_name in ALARMED_METRICS:
        statistic = reveal(props.get("statistic"))
        if statistic is None and props.get("extendedStatistic") is not None:
            statistic = reveal(props.get("extendedStatistic"))
        problems += _check_cost_metric(name, metric_name, statistic, props.get("dimensions"))
    for query in _sequence(props.get("metricQueries")):
        metric = _mapping(_mapping(query).get("metric"))
        query_metric = reveal(metric.get("metricName"))
        if query_metric in ALARMED_METRICS:
            where = f"{name} (query {reveal(_mapping(query).get('id'))})"
            problems += _check_cost_metric(where, query_metric, reveal(metric.get("stat")),
                                           metric.get("dimensions"))
    return problems


# --- IAM ---------------------------------------------------------------------------------------


def wildcard_actions(document: Any) -> list[str]:
    """The wildcard grants in one IAM policy document (JSON text or mapping)."""
    document = reveal(document)
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except ValueError:
            return ["policy is not valid JSON"]
    if not isinstance(document, Mapping):
        return []
    found = []
    for index, statement in enumerate(_sequence(document.get("Statement"))):
        statement = _mapping(statement)
        if reveal(statement.get("Effect")) != "Allow":
            continue
        label = reveal(statement.get("Sid")) or f"statement {index}"
        for action in _sequence(statement.get("Action")):
            action = reveal(action)
            if action == "*" or (isinstance(action, str) and _SERVICE_WILDCARD_RE.match(action)):
                found.append(f"{label} allows wildcard action {action!r}")
        if statement.get("NotAction") is not None:
            found.append(f"{label} uses Allow with NotAction, which grants every other action")
    return found


def _wildcard_managed_policies(arns: Iterable[Any]) -> list[str]:
    return [f"attaches AWS managed policy {arn}, a wildcard grant; write a policy with the exact actions."
            for arn in map(reveal, arns) if isinstance(arn, str) and _WILDCARD_MANAGED_POLICY_RE.match(arn)]


def iam_no_wildcard_actions(resource_type: str, props: Props) -> list[str]:
    """Least privilege: no `*` or `service:*` action in any role or managed policy.

    Also catches the same grant arriving by attachment of an AWS full-access managed policy.
    """
    documents: list[tuple[str, Any]] = []
    problems = []
    if resource_type in IAM_POLICY_TYPES:
        documents.append((reveal(props.get("name")) or "policy", props.get("policy")))
    elif resource_type == IAM_ROLE:
        for inline in _sequence(props.get("inlinePolicies")):
            inline = _mapping(inline)
            documents.append((f"inline policy {reveal(inline.get('name'))}", inline.get("policy")))
        problems += _wildcard_managed_policies(_sequence(props.get("managedPolicyArns")))
    elif resource_type in IAM_ATTACHMENT_TYPES:
        return _wildcard_managed_policies([props.get("policyArn")])
    else:
        return []
    for label, document in documents:
        problems += [f"{label}: {finding}; list the exact actions instead."
                     for finding in wildcard_actions(document)]
    return problems


# --- Lambda environment ------------------------------------------------------------------------


def name_looks_secret(name: str) -> bool:
    """True when an environment variable NAME suggests it carries a credential."""
    words = {w.upper() for w in _NAME_WORD_RE.findall(name)}
    return bool(words & SECRET_NAME_WORDS)


def lambda_env_has_no_secrets(resource_type: str, props: Props) -> list[str]:
    """Secret values belong in Secrets Manager; the function environment only carries their ARNs."""
    if resource_type != LAMBDA_FUNCTION:
        return []
    environment = props.get("environment")
    variables_raw = _mapping(environment).get("variables")
    if is_secret(environment) or is_secret(variables_raw):
        # A map is secret as a whole only when a secret value flowed into it.
        return ["the environment variables are a Pulumi secret as a whole (a secret value flowed into "
                "them); pass Secrets Manager ARNs instead of values."]
    variables = _mapping(variables_raw)
    problems = []
    for key in sorted(variables):
        raw = variables[key]
        if is_secret(raw):
            problems.append(f"environment variable {key} holds a Pulumi secret; store it in Secrets "
                            "Manager and pass its ARN instead.")
            continue
        value = reveal(raw)
        if name_looks_secret(key) and isinstance(value, str) and value and not _ARN_RE.match(value):
            problems.append(f"environment variable {key} looks like a credential and its value is not an "
                            "ARN; pass a Secrets Manager ARN instead of the value.")
    return problems


# --- logs and remote commands ------------------------------------------------------------------


def log_group_has_retention(resource_type: str, props: Props) -> list[str]:
    """Logs kept forever cost money forever: every log group sets an explicit retention."""
    if resource_type != LOG_GROUP:
        return []
    days = reveal(props.get("retentionInDays"))
    if days in (None, 0):
        return ["log group has no retentionInDays (logs would never expire); set one of "
                f"{list(LOG_RETENTION_DAYS)}."]
    if days not in LOG_RETENTION_DAYS:
        return [f"log group retentionInDays={days!r} is not a CloudWatch Logs value; use one of "
                f"{list(LOG_RETENTION_DAYS)}."]
    return []


def remote_command_pins_host_key(resource_type: str, props: Props) -> list[str]:
    """Without connection.hostKey pulumi-command trusts any host: a spoofed host would get the secrets."""
    if resource_type not in REMOTE_COMMAND_TYPES:
        return []
    connection = _mapping(props.get("connection"))
    host_key = reveal(connection.get("hostKey"))
    if not isinstance(host_key, str) or not host_key.strip():
        return [f"{resource_type} connection to {reveal(connection.get('host')) or 'its host'} does not set "
                "connection.hostKey; pin the host's public SSH key."]
    return []


def lambda_logs_are_managed(resources: Sequence[tuple[str, Props]]) -> list[str]:
    """Every function logs to a log group this stack manages (and so keeps only for its retention).

    Without one, Lambda creates `/aws/lambda/<name>` itself on first run, with no retention at all:
    the per-resource retention rule never sees it.
    """
    managed = {reveal(props.get("name")) for kind, props in resources if kind == LOG_GROUP}
    problems = []
    for kind, props in resources:
        if kind != LAMBDA_FUNCTION:
            continue
        name = reveal(props.get("name"))
        target = reveal(_mapping(props.get("loggingConfig")).get("logGroup")) or f"/aws/lambda/{name}"
        if target not in managed:
            problems.append(f"function {name} logs to {target}, which no LogGroup in this stack manages; "
                            "declare that log group (with retentionInDays) or point loggingConfig.logGroup "
                            "at one.")
    return problems


@dataclass(frozen=True)
class Rule:
    """One policy: its name in the pack, what it enforces, and the validator."""

    name: str
    description: str
    validate: Validator


RULES: tuple[Rule, ...] = (
    Rule("alarms-have-actions", "CloudWatch alarms must notify an action target.", alarm_has_actions),
    Rule("cost-alarms-maximum-and-stack-dimension",
         "Cost alarms use statistic Maximum and exactly the Stack dimension the tracker pushes.",
         cost_alarm_uses_maximum_and_stack),
    Rule("iam-no-wildcard-actions", "IAM policies list exact actions, never '*' or 'service:*'.",
         iam_no_wildcard_actions),
    Rule("lambda-env-no-secret-values",
         "Lambda environment variables carry Secrets Manager ARNs, never secret values.",
         lambda_env_has_no_secrets),
    Rule("log-groups-have-retention", "CloudWatch log groups set a retention period.",
         log_group_has_retention),
    Rule("remote-commands-pin-host-key", "Remote commands pin the SSH host key (connection.hostKey).",
         remote_command_pins_host_key),
)


@dataclass(frozen=True)
class StackRule:
    """One policy over the whole stack: (resource type, props) of every resource in, messages out."""

    name: str
    description: str
    validate: Callable[[Sequence[tuple[str, Props]]], list[str]]


STACK_RULES: tuple[StackRule, ...] = (
    StackRule("lambda-logs-in-managed-log-groups",
              "Every Lambda function logs to a log group the stack manages (so retention applies).",
              lambda_logs_are_managed),
)


def violations(resource_type: str, props: Props, rules: Iterable[Rule] = RULES) -> dict[str, list[str]]:
    """Every rule's findings for one resource, keyed by rule name (only rules that found something)."""
    found = {rule.name: rule.validate(resource_type, props) for rule in rules}
    return {name: messages for name, messages in found.items() if messages}
