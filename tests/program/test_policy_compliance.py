"""The program passes the project's CrossGuard rules (policy/validators.py) on both committed stacks."""

from __future__ import annotations

from policy.validators import violations


def test_no_resource_violates_a_policy_rule(run):
    found = {(r.typ, r.name): v for r in run.resources if (v := violations(r.typ, r.inputs))}
    assert found == {}
