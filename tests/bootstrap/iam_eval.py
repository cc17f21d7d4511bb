"""A small evaluator of identity policies for the tests: IAM's answer for one request.

moto does not evaluate conditions, so the tests decide requests against the policy JSON the
bootstrap writes. Only what the bootstrap's documents use is understood (StringEquals, StringLike,
Bool; `*`/`?` in actions and resources); anything else raises rather than passing by accident.
An explicit Deny wins over every Allow; no matching Allow is an implicit deny.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

ALLOW, DENY, IMPLICIT_DENY = "allow", "deny", "implicit deny"


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    for operator, entries in condition.items():
        for key, wanted in entries.items():
            got = context.get(key)
            if got is None:  # a key missing from the request never satisfies these operators
                return False
            values = [str(v).lower() if operator == "Bool" else str(v) for v in _listed(wanted)]
            if operator in ("StringEquals", "Bool"):
                ok = (got.lower() if operator == "Bool" else got) in values
            elif operator == "StringLike":
                ok = any(fnmatch.fnmatchcase(got, v) for v in values)
            else:
                raise NotImplementedError(f"condition operator {operator}")
            if not ok:
                return False
    return True


def decide(policy: Mapping[str, Any], action: str, resource: str,
           context: Mapping[str, str] | None = None) -> str:
    """ALLOW, DENY (an explicit Deny matched) or IMPLICIT_DENY for `action` on `resource`."""
    allowed = False
    for statement in policy["Statement"]:
        if "NotAction" in statement or "NotResource" in statement:
            raise NotImplementedError("NotAction/NotResource")
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _listed(statement["Action"])):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in _listed(statement["Resource"])):
            continue
        if not _condition_holds(statement.get("Condition", {}), context or {}):
            continue
        if statement["Effect"] == "Deny":
            return DENY
        allowed = True
    return ALLOW if allowed else IMPLICIT_DENY
