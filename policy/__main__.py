"""Entry point the Pulumi CLI runs for `--policy-pack policy`: one mandatory policy per rule.

Constructing the PolicyPack starts the analyzer's gRPC server, so nothing imports this module;
tests call the validators in `validators.py` directly.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

# The CLI runs this file from the pack directory: make `policy` importable as the tests import it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policy import secret_markers
from policy.validators import RULES, STACK_RULES, Rule, StackRule

# Let the rules see which inputs are Pulumi secrets (the library would unwrap them).
secret_markers.install()


def _policy(rule: Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule.validate(args.resource_type, args.props):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate,
    )


def _stack_policy(rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule.validate([(r.resource_type, r.props) for r in args.resources]):
            report_violation(message, None)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate,
    )


PolicyPack(
    name="llm-cost-governance",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[*(_policy(rule) for rule in RULES), *(_stack_policy(rule) for rule in STACK_RULES)],
)
