"""The Pulumi program, as committed, passes its own CrossGuard policy pack.

The real `__main__.py` runs under Pulumi's mocks (tests/program/harness.py) with each committed
stack file's config and stand-ins for the ESC secrets; every resource's inputs, exactly as the
engine would hand them to the pack (camelCase, secrets in wire form), go through every rule. A
component change that `pulumi preview --policy-pack policy` would block fails here first, offline.
"""

from __future__ import annotations

import pytest

from policy import validators as v
from tests.program.harness import run_program

Resources = list[tuple[str, str, dict]]


@pytest.fixture(scope="module", params=["staging", "prod"])
def resources(request) -> Resources:
    return [(r.typ, r.name, dict(r.inputs)) for r in run_program(request.param).resources]


def test_every_resource_passes_every_rule(resources):
    found = {f"{typ} {name}": problems for typ, name, inputs in resources
             if (problems := v.violations(typ, inputs))}
    assert found == {}


def test_the_stack_passes_every_stack_rule(resources):
    stack = [(typ, inputs) for typ, _, inputs in resources]
    assert {rule.name: found for rule in v.STACK_RULES if (found := rule.validate(stack))} == {}


def test_the_governed_resource_kinds_are_really_checked(resources):
    # Guard against a vacuous pass: the rules must have met the resources they exist for.
    types = {typ for typ, _, _ in resources}
    assert v.METRIC_ALARM in types and v.LAMBDA_FUNCTION in types and v.LOG_GROUP in types
    assert types & set(v.IAM_POLICY_TYPES) or v.IAM_ROLE in types
    assert types & set(v.REMOTE_COMMAND_TYPES)
    cost_alarms = [i for t, _, i in resources if t == v.METRIC_ALARM and i.get("metricName") in
                   ("DailyCost", "MonthlyCost", "ForecastMonthlyCost")]
    assert len(cost_alarms) >= 6


def test_the_rules_would_catch_a_regression_in_these_very_inputs(resources):
    # The same inputs, each made non-compliant in one way, are rejected: the pass above is meaningful.
    alarm = next(i for t, _, i in resources if t == v.METRIC_ALARM and i.get("metricName") == "DailyCost")
    assert v.violations(v.METRIC_ALARM, {**alarm, "statistic": "Sum", "alarmActions": []})
    log_group = next(i for t, _, i in resources if t == v.LOG_GROUP)
    assert v.violations(v.LOG_GROUP, {k: x for k, x in log_group.items() if k != "retentionInDays"})
    stack = [(t, i) for t, _, i in resources if t != v.LOG_GROUP]
    assert v.lambda_logs_are_managed(stack)
    command_type, command = next((t, i) for t, _, i in resources if t in v.REMOTE_COMMAND_TYPES)
    # The connection arrives secret as a whole (it carries the private key): unwrap, drop the key pin.
    connection = {k: x for k, x in v.reveal(command["connection"]).items() if k != "hostKey"}
    assert v.violations(command_type, {**command, "connection": connection})
